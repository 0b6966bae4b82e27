"""Namespaces: joining by path, creating, and their kernel names.

The parent uses this module too (to open namespace files before it forks),
so the ctypes-based syscalls module is imported only where setns is called.
"""
from __future__ import annotations

import os

from ..errors import PyruncError

# clone(2)/unshare(2)/setns(2) flags
CLONE_NEWTIME = 0x80
CLONE_NEWNS = 0x20000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# config-linux.md#configLinuxNamespaces type -> (clone flag, /proc/PID/ns name)
KINDS = {
    "user": (CLONE_NEWUSER, "user"),
    "pid": (CLONE_NEWPID, "pid"),
    "network": (CLONE_NEWNET, "net"),
    "mount": (CLONE_NEWNS, "mnt"),
    "ipc": (CLONE_NEWIPC, "ipc"),
    "uts": (CLONE_NEWUTS, "uts"),
    "cgroup": (CLONE_NEWCGROUP, "cgroup"),
    "time": (CLONE_NEWTIME, "time"),
}

# The order namespaces are joined in. The user namespace comes first: joining
# it gives the capabilities that the other setns calls need in that namespace.
# The mount namespace comes last: once in it, the other paths may not resolve.
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


def proc_name(kind: str) -> str:
    return KINDS[kind][1]


def clone_flag(kind: str) -> int:
    return KINDS[kind][0]


def open_for_join(kind: str, path: str) -> int:
    """Open a namespace file and check it is a namespace of that kind
    (config-linux.md: an error if path is not associated with a namespace of type)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise PyruncError(f"linux.namespaces: cannot open {kind} namespace {path}: "
                          f"{err.strerror}") from None
    # ioctl(NS_GET_NSTYPE) asks the namespace itself: a bind mount of an nsfs
    # file (how `ip netns` and runc's tests keep one) has no "user:[...]" name.
    import fcntl

    try:
        actual = fcntl.ioctl(fd, _NS_GET_NSTYPE)
    except OSError:
        actual = -1
    if actual != clone_flag(kind):
        os.close(fd)
        what = "not a namespace file" if actual < 0 else "a namespace of another type"
        raise PyruncError(f"linux.namespaces: {path} is not a {kind} namespace ({what})")
    return fd


_NS_GET_NSTYPE = 0xB703  # _IO(0xb7, 0x3), ioctl_ns(2)


def join(fds: list[tuple[str, int, str]]) -> None:
    """setns into each (kind, fd, path) in JOIN_ORDER, closing the fds."""
    from . import syscalls

    by_kind = {kind: (fd, path) for kind, fd, path in fds}
    for kind in _join_order(by_kind):
        if kind in by_kind:
            fd, path = by_kind[kind]
            try:
                syscalls.setns(fd, clone_flag(kind), f"{kind} namespace {path}")
            finally:
                os.close(fd)


def _join_order(by_kind: dict[str, tuple[int, str]]) -> list[str]:
    """JOIN_ORDER (the user namespace first, so that the others, owned by it,
    can be joined with its capabilities), except that a namespace owned by
    another user namespace (the host's, say) is joined before it, while
    this process still has the capabilities that one needs (runc does it
    the same way)."""
    if "user" not in by_kind:
        return list(JOIN_ORDER)
    target = os.fstat(by_kind["user"][0]).st_ino
    early = [kind for kind in JOIN_ORDER
             if kind != "user" and kind in by_kind and _owner_ino(by_kind[kind][0]) != target]
    return early + [kind for kind in JOIN_ORDER if kind not in early]


def _owner_ino(fd: int) -> int:
    """The inode of the user namespace that owns the namespace fd refers to
    (ioctl NS_GET_USERNS), or -1 if that cannot be asked."""
    import fcntl

    try:
        owner = fcntl.ioctl(fd, _NS_GET_USERNS)
    except OSError:
        return -1
    try:
        return os.fstat(owner).st_ino
    finally:
        os.close(owner)


_NS_GET_USERNS = 0xB701  # _IO(0xb7, 0x1), ioctl_ns(2)


def write_time_offsets(pid: int, offsets: dict[str, tuple[int, int]]) -> None:
    """After pid's unshare(CLONE_NEWTIME), before the first process enters it."""
    text = "".join(f"{clock} {secs} {nsecs}\n" for clock, (secs, nsecs) in offsets.items())
    try:
        with open(f"/proc/{pid}/timens_offsets", "w") as f:
            f.write(text)
    except OSError as err:
        raise PyruncError(f"linux.timeOffsets: writing /proc/{pid}/timens_offsets: "
                          f"{err.strerror}") from None


def write_id_maps(pid: int, uid_lines: str, gid_lines: str) -> None:
    """Write uid_map and gid_map of a process that created a user namespace.
    The writer is in the parent namespace with CAP_SETUID/CAP_SETGID, so
    setgroups need not be denied."""
    for name, text in (("uid_map", uid_lines), ("gid_map", gid_lines)):
        try:
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(text)
        except OSError as err:
            field = "linux.uidMappings" if name == "uid_map" else "linux.gidMappings"
            raise PyruncError(f"{field}: writing /proc/{pid}/{name}: {err.strerror}") from None
