"""linux.resources as plain values (config-linux.md#configLinuxControlGroups).

bundle.py fills these from config.json (and `update` from a LinuxResources
document); the v1 and v2 backends translate them to cgroup files. None means
"not set": leave the kernel's value alone.
"""
from __future__ import annotations


class Memory:
    __slots__ = ("limit", "reservation", "swap", "kernel", "kernel_tcp", "swappiness",
                 "disable_oom_killer", "use_hierarchy", "check_before_update")

    def __init__(self, **kw: object) -> None:
        for name in self.__slots__:
            setattr(self, name, kw.get(name))


class CPU:
    __slots__ = ("shares", "quota", "burst", "period", "realtime_runtime", "realtime_period",
                 "cpus", "mems", "idle")

    def __init__(self, **kw: object) -> None:
        for name in self.__slots__:
            setattr(self, name, kw.get(name))


class BlockIO:
    __slots__ = ("weight", "leaf_weight", "weight_device", "throttle_read_bps",
                 "throttle_write_bps", "throttle_read_iops", "throttle_write_iops")

    def __init__(self, weight: int | None = None, leaf_weight: int | None = None,
                 weight_device: list | None = None, throttle_read_bps: list | None = None,
                 throttle_write_bps: list | None = None, throttle_read_iops: list | None = None,
                 throttle_write_iops: list | None = None) -> None:
        self.weight = weight
        self.leaf_weight = leaf_weight
        # (major, minor, weight or None, leafWeight or None)
        self.weight_device = weight_device or []
        # (major, minor, rate)
        self.throttle_read_bps = throttle_read_bps or []
        self.throttle_write_bps = throttle_write_bps or []
        self.throttle_read_iops = throttle_read_iops or []
        self.throttle_write_iops = throttle_write_iops or []


class Resources:
    __slots__ = ("memory", "cpu", "pids_limit", "block_io", "hugepage_limits", "net_class_id",
                 "net_priorities", "rdma", "unified", "devices")

    def __init__(self) -> None:
        self.memory: Memory | None = None
        self.cpu: CPU | None = None
        self.pids_limit: int | None = None
        self.block_io: BlockIO | None = None
        self.hugepage_limits: list[tuple[str, int]] = []  # (pageSize like "2MB", limit)
        self.net_class_id: int | None = None
        self.net_priorities: list[tuple[str, int]] = []   # (interface, priority)
        self.rdma: dict[str, tuple[int | None, int | None]] = {}  # device: (handles, objects)
        self.unified: dict[str, str] = {}
        self.devices: list = []                           # cgroups.devices.Rule


class Write:
    """One cgroup file write: which hierarchy, which file, what value, and the
    config field it comes from (for the error message)."""

    __slots__ = ("controller", "file", "value", "field")

    def __init__(self, controller: str, file: str, value: str, field: str) -> None:
        self.controller = controller  # "" for the cgroup2 hierarchy
        self.file = file
        self.value = value
        self.field = field

    def __repr__(self) -> str:
        return f"Write({self.controller!r}, {self.file!r}, {self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Write) and (self.controller, self.file, self.value) == (
            other.controller, other.file, other.value)
