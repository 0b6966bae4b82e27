"""Capabilities (config.md#configLinuxProcess `capabilities`).

Names are translated to numbers by the parent (which can log warnings);
the init applies them: the bounding set is reduced before the user switch
(PR_CAPBSET_DROP needs CAP_SETPCAP, which the switch may take away), the
effective/permitted/inheritable sets after it (with keep-caps across the
switch), then the ambient set (which needs each cap in permitted and
inheritable). python-prctl does bounding, E/P/I, keep-caps and
no_new_privs; it has no ambient support, so that one is a raw prctl(2).

Imported by the parent before it forks: the init cannot import anything once
it has switched to the container's root.
"""
from __future__ import annotations

import prctl


# capabilities(7) numbers, the kernel ABI.
NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}
SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return max(NUMBERS.values())


def own_bounding() -> int:
    """Our bounding set as a bit mask: what a child of ours can ever hold."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return (1 << (last_cap() + 1)) - 1


class CapSets:
    """Resolved capability numbers for each set."""

    __slots__ = SETS

    def __init__(self, **sets: list[int]) -> None:
        for name in SETS:
            setattr(self, name, sets.get(name, []))


def resolve(sets: dict[str, list[str]], where: str) -> tuple[CapSets, list[str]]:
    """Translate names to numbers. A name that is no capability at all, or one
    this kernel or our bounding set cannot grant, is dropped with a warning
    (config.md: "Any value which cannot be mapped to a relevant kernel
    interface, or cannot be granted otherwise MUST be logged as a warning")."""
    top = last_cap()
    bounding = own_bounding()
    warnings: list[str] = []
    out: dict[str, list[int]] = {}
    for set_name in SETS:
        nums: list[int] = []
        for i, name in enumerate(sets.get(set_name) or []):
            num = NUMBERS.get(name)
            if num is None:
                warnings.append(f"{where}.{set_name}[{i}]: unknown capability {name!r}; "
                                "ignored")
                continue
            if num > top:
                warnings.append(f"{where}.{set_name}: {name} is not supported by this "
                                "kernel; ignored")
                continue
            if not bounding & (1 << num):
                warnings.append(f"{where}.{set_name}: {name} cannot be granted (not in "
                                "pyrunc's bounding set); ignored")
                continue
            if num not in nums:
                nums.append(num)
        out[set_name] = nums
    # capset(2) refuses an inheritable cap outside the bounding set (once the
    # bounding set is dropped): it cannot be granted, so a warning.
    for num in list(out["inheritable"]):
        if num not in out["bounding"]:
            out["inheritable"].remove(num)
            warnings.append(f"{where}.inheritable: {_name(num)} is not in the bounding set, "
                            "so it cannot be inheritable; ignored")
    # Nor an effective cap that is not permitted: the same.
    for num in list(out["effective"]):
        if num not in out["permitted"]:
            out["effective"].remove(num)
            warnings.append(f"{where}.effective: {_name(num)} is not in the permitted set, "
                            "so it cannot be effective; ignored")
    # The kernel raises an ambient cap only if it is permitted and inheritable
    # (capabilities(7)); runc warns and goes on, and so do we.
    for num in list(out["ambient"]):
        if num not in out["permitted"] or num not in out["inheritable"]:
            out["ambient"].remove(num)
            # runc's words first (callers and runc's tests look for them).
            warnings.append(f"{where}.ambient: can't raise ambient capability {_name(num)}: "
                            "it is not in both the permitted and the inheritable set; ignored")
    return CapSets(**out), warnings


def _name(num: int) -> str:
    return next(n for n, v in NUMBERS.items() if v == num)


def drop_bounding(keep: list[int]) -> None:
    for cap in range(last_cap() + 1):
        if cap not in keep and prctl.capbset_read(cap):
            prctl.capbset_drop(cap)


def set_keepcaps(on: bool) -> None:
    prctl.set_keepcaps(on)


def apply_sets(caps: CapSets) -> None:
    """Set effective, permitted and inheritable to exactly the given caps."""
    every = list(range(last_cap() + 1))
    flags = ((prctl.CAP_PERMITTED, caps.permitted), (prctl.CAP_INHERITABLE, caps.inheritable),
             (prctl.CAP_EFFECTIVE, caps.effective))
    args = []
    for flag, wanted in flags:
        args.append(([c for c in every if c not in wanted], flag, False))
        if wanted:
            args.append((list(wanted), flag, True))
    prctl.set_caps(*args)


def apply_ambient(ambient: list[int]) -> None:
    # Already loaded by the init before it left the host's mounts.
    from . import syscalls as sc

    sc.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in ambient:
        sc.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_RAISE, cap)


def set_no_new_privs() -> None:
    prctl.set_no_new_privs(1)
