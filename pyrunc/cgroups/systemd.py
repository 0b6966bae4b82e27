"""The systemd cgroup driver (--systemd-cgroup), pure parts: where the
container's unit and cgroup are, and the unit properties runc sends.

What callers pass (Docker, containerd's CRI with SystemdCgroup, Podman):
cgroupsPath `slice:prefix:name`, e.g. `system.slice:docker:<id>` or
`kubepods-burstable-pod<uid>.slice:cri-containerd:<id>`; the container then
lives in the transient scope `<prefix>-<name>.scope` under that slice. The
rules are runc's (libcontainer/specconv CreateCgroupConfig, and
opencontainers/cgroups systemd/common.go and v2.go):
- no cgroupsPath: `runc-<id>.scope` in system.slice (user.slice rootless);
- otherwise exactly three `:`-separated parts; an empty slice is the default
  slice, an empty prefix or name is kept as it is (`::n` -> `-n.scope`);
- a name ending in `.slice` makes the unit that slice (prefix ignored);
- the slice name `a-b-c.slice` is the cgroup `/a.slice/a-b.slice/a-b-c.slice`;
- the unit's properties: runc's at StartTransientUnit (no resources) and, at
  every Set (create and update), the resources systemd knows. Everything is
  also written through cgroupfs afterwards, as runc does.

Values are (name, (D-Bus signature, value)) pairs, ready for an `a(sv)`.
Nothing here touches the system; the D-Bus client is linux/dbus.py.
"""
from __future__ import annotations

import os

from ..errors import ConfigError

DEFAULT_PREFIX = "runc"           # runc's ScopePrefix without cgroupsPath
DEFAULT_SLICE = "system.slice"
ROOTLESS_SLICE = "user.slice"
UNIFIED_MOUNT = "/sys/fs/cgroup"
MANAGER = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER_IFACE = "org.freedesktop.systemd1.Manager"
INFINITY = 2**64 - 1              # systemd's "infinity" for t properties
DEFAULT_CPU_PERIOD = 100000

# The systemd versions that know a property (runc's checks).
_V_DEVICE_MAJOR_GLOB = 240        # DeviceAllow=char-MAJOR
_V_CPU_QUOTA_PERIOD = 242         # CPUQuotaPeriodUSec
_V_CPUSET = 244                   # AllowedCPUs, AllowedMemoryNodes
_V_CPU_IDLE = 252                 # CPUWeight=0 means cpu.idle=1
_V_OOM_POLICY = 253               # OOMPolicy on a scope


class Unit:
    """The container's unit: `slice` is the parent slice as systemd's Slice=
    takes it (not expanded), `unit` the unit's name, `kind` "Scope" or
    "Slice" (the D-Bus interface org.freedesktop.systemd1.<kind>)."""

    __slots__ = ("slice", "prefix", "name", "unit", "kind")

    def __init__(self, slice: str, prefix: str, name: str) -> None:
        self.slice = slice
        self.prefix = prefix
        self.name = name
        if name.endswith(".slice"):
            self.unit, self.kind = name, "Slice"
        else:
            self.unit, self.kind = f"{prefix}-{name}.scope", "Scope"

    def cgroup(self, manager_cgroup: str = "") -> str:
        """The unit's cgroup relative to the cgroup2 root: the expanded slice
        (under the user manager's own cgroup, `manager_cgroup`, when rootless)
        then the unit. For a slice unit this is runc's path, which is not
        where systemd puts it; runc (and pyrunc) cannot use slice units
        anyway, since systemd refuses PIDs for them."""
        base = expand_slice(self.slice)
        if manager_cgroup:
            base = manager_cgroup.rstrip("/") + (base if base != "/" else "")
        return f"{base.rstrip('/')}/{self.unit}"

    def cgroup_dir(self, manager_cgroup: str = "", mount: str = UNIFIED_MOUNT) -> str:
        """The unit's directory on a cgroup v2 host."""
        return mount + self.cgroup(manager_cgroup)

    def __repr__(self) -> str:
        return f"Unit({self.slice!r}, {self.prefix!r}, {self.name!r})"


def parse_cgroups_path(cgroups_path: str, cid: str, rootless: bool = False) -> Unit:
    """linux.cgroupsPath as `slice:prefix:name` (taken verbatim, not cleaned)."""
    default_slice = ROOTLESS_SLICE if rootless else DEFAULT_SLICE
    if not cgroups_path:
        return Unit(default_slice, DEFAULT_PREFIX, cid)
    parts = cgroups_path.split(":")
    if len(parts) != 3:
        raise ConfigError('linux.cgroupsPath: expected cgroupsPath to be of format '
                          f'"slice:prefix:name" for systemd cgroups, got {_go_quote(cgroups_path)}'
                          ' instead')
    unit = Unit(parts[0] or default_slice, parts[1], parts[2])
    try:
        expand_slice(unit.slice)
    except ValueError as err:
        raise ConfigError(f"linux.cgroupsPath: {err}") from None
    # runc leaves unit names to systemd, which refuses bad ones; but the
    # cgroup directory is derived from the name before systemd sees it.
    if "/" in unit.unit or "\0" in unit.unit:
        raise ConfigError(f"linux.cgroupsPath: invalid unit name {_go_quote(unit.unit)}: a "
                          "systemd unit name has no '/'")
    return unit


def _go_quote(text: str) -> str:
    """Go's %q for the printable text runc's messages quote."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def expand_slice(slice: str) -> str:
    """`a-b-c.slice` -> `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` -> `/`.
    ValueError("invalid slice name: ...") as runc words it."""
    suffix = ".slice"
    if not slice.endswith(suffix) or "/" in slice:
        raise ValueError(f"invalid slice name: {slice}")
    stem = slice[:-len(suffix)]
    if stem == "-":
        return "/"
    path, prefix = "", ""
    for component in stem.split("-"):
        if not component:  # a leading, trailing or double dash
            raise ValueError(f"invalid slice name: {slice}")
        path += f"/{prefix}{component}{suffix}"
        prefix += component + "-"
    return path


def parse_version(text: str) -> int:
    """The manager's Version property ("252.38-1~deb12u1", "v245.4-1.fc32") as
    a number; -1 if there is none (then no version-dependent property is
    sent, as runc does)."""
    text = text.lstrip('"v')
    digits = ""
    for ch in text:
        if not "0" <= ch <= "9":
            break
        digits += ch
    return int(digits) if digits else -1


# --- StartTransientUnit -------------------------------------------------------------

DESCRIPTION = "libcontainer container "   # runc's Description, followed by the name part


def start_properties(unit: Unit, pid: int, unified: dict[str, str], version: int) -> list:
    """The properties of StartTransientUnit, in runc's order. No resources:
    those come with the first Set (resource_properties). `pid` -1 creates the
    unit empty (a slice)."""
    props: list = [("Description", ("s", DESCRIPTION + unit.name))]
    if unit.kind == "Slice":
        props.append(("Wants", ("as", [unit.slice])))
    else:
        props.append(("Slice", ("s", unit.slice)))
        props.append(("Delegate", ("b", True)))
    if pid != -1:
        props.append(("PIDs", ("au", [pid])))
    for name in ("MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"):
        props.append((name, ("b", True)))
    props.append(("DefaultDependencies", ("b", False)))
    # systemd refuses OOMPolicy on a running scope: it can only be set here.
    group = unified.get("memory.oom.group")
    if group is not None and version >= _V_OOM_POLICY:
        value = _uint(group.strip(), "unified.memory.oom.group")
        if value in (0, 1):
            props.append(("OOMPolicy", ("s", "kill" if value else "continue")))
    return props


# --- resources (every Set: create and update) -----------------------------------------------

def resource_properties(res, version: int, device_rules: list) -> tuple[list, int | None]:
    """linux.resources as the unit properties runc's v2 driver sets
    (genV2ResourcesProperties), in its order, and the CPU quota to write to
    cgroupfs afterwards: runc rounds CPUQuotaPerSecUSec up to whole percents
    of a CPU and writes the quota that matches (None: no quota set).

    `device_rules` are the rules to enforce (create's effective rules,
    update's given ones); none means no device properties. Not translated,
    as in runc: blockIO (IOWeight, IO*Bandwidth), hugepages, rdma, network;
    they only go through cgroupfs."""
    from .v2 import shares_to_weight

    props = device_properties(device_rules, version) if device_rules else []
    m = res.memory
    if m is not None:
        limit, swap = m.limit or 0, m.swap or 0
        if limit:
            props.append(("MemoryMax", ("t", _u64(limit))))
        if m.reservation:
            props.append(("MemoryLow", ("t", _u64(m.reservation))))
        swap_v2 = swap_to_v2(swap, limit)
        if swap_v2:
            props.append(("MemorySwapMax", ("t", _u64(swap_v2))))
    c = res.cpu
    quota = None
    if c is not None:
        idle = c.idle == 1 and version >= _V_CPU_IDLE
        if idle:
            props.append(("CPUWeight", ("t", 0)))  # systemd's way to say cpu.idle=1
        elif c.shares:
            # pyrunc's cgroupfs formula (runc 1.1's), so that unit and file agree.
            props.append(("CPUWeight", ("t", shares_to_weight(c.shares))))
        quota = c.quota
        if c.quota or c.period:
            quota_props, quota = cpu_quota_properties(c.quota or 0, c.period or 0, version)
            props += quota_props
    if res.pids_limit is not None:
        limit = res.pids_limit
        # systemd refuses TasksMax=0
        props.append(("TasksMax", ("t", INFINITY if limit < 0 else max(limit, 1))))
    if c is not None and (c.cpus or c.mems) and version >= _V_CPUSET:
        if c.cpus:
            props.append(("AllowedCPUs", ("ay", _bits(c.cpus, "cpu.cpus"))))
        if c.mems:
            props.append(("AllowedMemoryNodes", ("ay", _bits(c.mems, "cpu.mems"))))
    props += unified_properties(res.unified, version)
    return props, quota


def swap_to_v2(swap: int, memory: int) -> int:
    """The spec's memory+swap limit as cgroup v2's swap-only value (runc's
    ConvertMemorySwapToCgroupV2Value): 0 unset, -1 unlimited."""
    if memory == -1 and swap == 0:
        return -1  # unlimited memory: unlimited swap too, as on v1
    if swap in (-1, 0) or memory == -1:
        return swap
    if memory == 0:
        raise ConfigError("linux.resources.memory.swap: unable to set swap limit without "
                          "memory limit")
    if memory < 0:
        raise ConfigError(f"linux.resources.memory.limit: invalid memory value: {memory}")
    if swap < memory:
        raise ConfigError(f"linux.resources.memory.swap: memory+swap limit ({swap}) should be "
                          f">= memory limit ({memory})")
    return swap - memory


def cpu_quota_properties(quota: int, period: int, version: int) -> tuple[list, int]:
    """CPUQuotaPeriodUSec and CPUQuotaPerSecUSec (runc's addCPUQuota), and
    the quota cgroupfs must then get: systemd keeps whole percents of a CPU
    (10 ms per second), so a quota that is not one is rounded up, and the
    same rounded quota goes to cpu.max for the two to agree."""
    props: list = []
    if period and version >= _V_CPU_QUOTA_PERIOD:
        props.append(("CPUQuotaPeriodUSec", ("t", period)))
    if quota or period:
        per_sec = INFINITY
        if quota > 0:
            period = period or DEFAULT_CPU_PERIOD
            per_sec = quota * 1000000 // period
            if per_sec % 10000:
                per_sec = (per_sec // 10000 + 1) * 10000
                quota = per_sec * period // 1000000
        props.append(("CPUQuotaPerSecUSec", ("t", per_sec)))
    return props, quota


def range_to_bits(text: str) -> bytes:
    """A cpuset list ("1,3-5") as systemd's AllowedCPUs bytes: byte 0 holds
    CPUs 0-7, bit i%8 is CPU i (runc's RangeToBits). Blanks and empty elements
    are allowed; ValueError for anything else, or no CPU at all."""
    bits = 0
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        start, dash, end = item.partition("-")
        first = _cpu_number(start, item)
        last = _cpu_number(end, item) if dash else first
        if first > last:
            raise ValueError(f"invalid range: {item}")
        bits |= ((1 << (last - first + 1)) - 1) << first
    if not bits:
        raise ValueError("empty value")
    return bits.to_bytes((bits.bit_length() + 7) // 8, "little")


_MAX_CPU = 1 << 16  # the kernel's NR_CPUS is at most 8192; this keeps the mask small


def _cpu_number(text: str, item: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"invalid number {text!r} in {item!r}")
    if int(text) >= _MAX_CPU:
        raise ValueError(f"{text} is past the largest CPU or node number ({_MAX_CPU - 1})")
    return int(text)


def _bits(text: str, field: str) -> bytes:
    try:
        return range_to_bits(text)
    except ValueError as err:
        raise ConfigError(f"linux.resources.{field}: {text!r} as a systemd CPU set: "
                          f"{err}") from None


def _u64(value: int) -> int:
    """The spec's -1 (unlimited) is systemd's infinity."""
    return INFINITY if value < 0 else value


def _uint(text: str, field: str) -> int:
    if not text.isdigit() or not text.isascii() or int(text) > INFINITY:
        raise ConfigError(f"linux.resources.{field}: {text!r} is not an unsigned number")
    return int(text)


_UNIFIED_MEMORY = {"memory.high": "MemoryHigh", "memory.low": "MemoryLow",
                   "memory.min": "MemoryMin", "memory.max": "MemoryMax",
                   "memory.swap.max": "MemorySwapMax"}


def unified_properties(unified: dict[str, str], version: int) -> list:
    """linux.resources.unified entries systemd has a property for (runc's
    unifiedResToSystemdProps); the others only go to cgroupfs."""
    props: list = []
    idle = (unified.get("cpu.idle") or "").strip() == "1" and version >= _V_CPU_IDLE
    for key, raw in unified.items():
        field = f"unified.{key}"
        if "/" in key:
            raise ConfigError(f"linux.resources.{field}: must be a file name (no slashes)")
        if key.find(".") <= 0:
            raise ConfigError(f"linux.resources.{field}: must be in the form "
                              "CONTROLLER.PARAMETER")
        value = raw.strip()
        if key == "cpu.idle":
            if idle:
                props.append(("CPUWeight", ("t", 0)))
        elif key == "cpu.max":
            fields = value.split()
            if not 1 <= len(fields) <= 2:
                raise ConfigError(f"linux.resources.{field}: {raw!r} is not "
                                  "\"QUOTA [PERIOD]\"")
            quota = 0 if fields[0] == "max" else _int(fields[0], field)
            period = _uint(fields[1], field) if len(fields) == 2 else DEFAULT_CPU_PERIOD
            props += cpu_quota_properties(quota, period, version)[0]
        elif key == "cpu.weight":
            if not idle:  # cpu.idle=1 already set CPUWeight=0; runc ignores this one
                props.append(("CPUWeight", ("t", _uint(value, field))))
        elif key in ("cpuset.cpus", "cpuset.mems"):
            bits = _bits(value, field)
            if version >= _V_CPUSET:
                name = "AllowedCPUs" if key == "cpuset.cpus" else "AllowedMemoryNodes"
                props.append((name, ("ay", bits)))
        elif key in _UNIFIED_MEMORY:
            num = INFINITY if value == "max" else _uint(value, field)
            props.append((_UNIFIED_MEMORY[key], ("t", num)))
        elif key == "pids.max":
            num = INFINITY if value == "max" else _uint(value, field)
            props.append(("TasksMax", ("t", num or 1)))  # systemd refuses 0
    return props


def _int(text: str, field: str) -> int:
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii():
        raise ConfigError(f"linux.resources.{field}: {text!r} is not a number")
    return int(text)


# --- devices --------------------------------------------------------------------------------

_PERM_BITS = {"r": 1, "w": 2, "m": 4}


def _perms(bits: int) -> str:
    return "".join(c for c, b in _PERM_BITS.items() if bits & b)


def device_properties(rules: list, version: int, proc_devices: str = "",
                      exists=os.path.exists) -> list:
    """DevicePolicy and DeviceAllow for the device rules (runc's
    devices/systemd.go). The rules are replayed as cgroup v1 would hold them;
    systemd only has allow lists, so:
    - allow-all: DevicePolicy=auto and an empty DeviceAllow;
    - another deny list: deny everything here (the eBPF program installed
      afterwards enforces the real rules);
    - an allow list: DevicePolicy=strict, DeviceAllow cleared, then one
      entry per rule: `char-*`, `char-MAJOR` (older systemd: the group name
      from /proc/devices, `proc_devices` is its text), `/dev/char/M:m` (older
      systemd: only if `exists`). `*:m` rules cannot be expressed and are left
      to the eBPF program."""
    default_allow, exceptions = _emulate(rules)
    if default_allow:
        if not exceptions:
            return [("DeviceAllow", ("a(ss)", [])), ("DevicePolicy", ("s", "auto"))]
        return [("DeviceAllow", ("a(ss)", [])), ("DevicePolicy", ("s", "strict"))]
    allow = []
    for (major, minor, kind), bits in sorted(exceptions.items()):
        group = "block-" if kind == "b" else "char-"
        if major == -1:
            if minor != -1:
                continue  # systemd has no "*:n"
            path = group + "*"
        elif minor == -1:
            if version >= _V_DEVICE_MAJOR_GLOB:
                path = f"{group}{major}"
            else:
                name = _device_group(proc_devices, kind, major)
                if not name:
                    continue
                path = group + name
        else:
            path = f"/dev/{'block' if kind == 'b' else 'char'}/{major}:{minor}"
            if version < _V_DEVICE_MAJOR_GLOB and not exists(path):
                continue  # older systemd stat()s the path and refuses a missing one
        allow.append((path, _perms(bits)))
    return [("DeviceAllow", ("a(ss)", [])), ("DevicePolicy", ("s", "strict")),
            ("DeviceAllow", ("a(ss)", allow))]


def _emulate(rules: list) -> tuple[bool, dict]:
    """runc's devices emulator: (default allow?, {(major, minor, type): access
    bits} for the exceptions); -1 is a wildcard, sorting first as in runc."""
    default_allow = True
    exceptions: dict[tuple[int, int, str], int] = {}
    for i, rule in enumerate(rules):
        if rule.type == "a":  # any device: resets the list, whatever the numbers
            default_allow, exceptions = rule.allow, {}
            continue
        major = -1 if rule.major is None or rule.major < 0 else rule.major
        minor = -1 if rule.minor is None or rule.minor < 0 else rule.minor
        key = (major, minor, rule.type)
        bits = sum(_PERM_BITS[c] for c in set(rule.access) if c in _PERM_BITS)
        if rule.allow != default_allow:
            exceptions[key] = exceptions.get(key, 0) | bits
            continue
        # Removing access: v1 cannot punch a hole in a wider wildcard exception.
        for wider in ((-1, minor, rule.type), (major, -1, rule.type), (-1, -1, rule.type)):
            if wider != key and exceptions.get(wider, 0) & bits:
                raise ConfigError(
                    f"linux.resources.devices[{i}]: cannot remove access from "
                    f"{_describe(key)} inside the wider rule {_describe(wider)} "
                    "(cgroup v1 semantics, which systemd's rules follow)")
        left = exceptions.get(key, 0) & ~bits
        if left:
            exceptions[key] = left
        else:
            exceptions.pop(key, None)
    return default_allow, exceptions


def _describe(key: tuple[int, int, str]) -> str:
    major, minor, kind = key
    return f"{kind} {'*' if major == -1 else major}:{'*' if minor == -1 else minor}"


def _device_group(proc_devices: str, kind: str, major: int) -> str:
    """The /proc/devices name of a major number of that type."""
    section = ""
    for line in proc_devices.splitlines():
        line = line.strip()
        if line == "Character devices:":
            section = "c"
        elif line == "Block devices:":
            section = "b"
        elif section == kind:
            number, _, name = line.partition(" ")
            if number == str(major) and name:
                return name
    return ""
