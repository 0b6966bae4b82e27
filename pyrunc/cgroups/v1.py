"""linux.resources on cgroup v1: one file per setting, in the controller's
own hierarchy. Pure translation (writes()); the manager does the I/O.
Zero means "not set" where runc treats it so (memory limits, shares, quota,
period)."""
from __future__ import annotations

from ..errors import ConfigError
from .resources import Resources, Write


def _num(value: int) -> str:
    return str(value)


def writes(res: Resources, exists) -> list[Write]:
    """exists(controller, file) tells which of the kernel's alternative files
    (BFQ's blkio.bfq.weight or CFQ's blkio.weight) this host has."""
    out: list[Write] = []
    m = res.memory
    if m is not None:
        # 0 means "not set" for these, as in runc (a memory limit of 0 is
        # what Docker's `update` sends for "leave the memory limit alone"; a
        # swap limit of 0 would be below the memory limit).
        if m.limit:
            out.append(Write("memory", "memory.limit_in_bytes", _num(m.limit), "memory.limit"))
        swap = m.swap
        if m.limit == -1 and not swap and exists("memory", "memory.memsw.limit_in_bytes"):
            # An unlimited memory limit with no swap limit given lifts the swap
            # limit too (runc): a lower memsw limit would refuse it (EINVAL).
            swap = -1
        if swap:
            out.append(Write("memory", "memory.memsw.limit_in_bytes", _num(swap),
                             "memory.swap"))
        if m.reservation:
            out.append(Write("memory", "memory.soft_limit_in_bytes", _num(m.reservation),
                             "memory.reservation"))
        if m.kernel:
            out.append(Write("memory", "memory.kmem.limit_in_bytes", _num(m.kernel),
                             "memory.kernel"))
        if m.kernel_tcp:
            out.append(Write("memory", "memory.kmem.tcp.limit_in_bytes", _num(m.kernel_tcp),
                             "memory.kernelTCP"))
        if m.swappiness is not None:
            if not 0 <= m.swappiness <= 100:
                raise ConfigError(f"linux.resources.memory.swappiness: {m.swappiness} is not "
                                  "between 0 and 100")
            out.append(Write("memory", "memory.swappiness", _num(m.swappiness),
                             "memory.swappiness"))
        if m.disable_oom_killer:
            out.append(Write("memory", "memory.oom_control", "1", "memory.disableOOMKiller"))
        if m.use_hierarchy is not None:
            out.append(Write("memory", "memory.use_hierarchy", "1" if m.use_hierarchy else "0",
                             "memory.useHierarchy"))
    c = res.cpu
    if c is not None:
        # The period before the quota, the realtime period before the runtime:
        # each pair is checked by the kernel against the other's current value.
        if c.period:
            out.append(Write("cpu", "cpu.cfs_period_us", _num(c.period), "cpu.period"))
        if c.quota:
            out.append(Write("cpu", "cpu.cfs_quota_us", _num(c.quota), "cpu.quota"))
        if c.burst is not None:
            out.append(Write("cpu", "cpu.cfs_burst_us", _num(c.burst), "cpu.burst"))
        if c.realtime_period:
            out.append(Write("cpu", "cpu.rt_period_us", _num(c.realtime_period),
                             "cpu.realtimePeriod"))
        if c.realtime_runtime:
            out.append(Write("cpu", "cpu.rt_runtime_us", _num(c.realtime_runtime),
                             "cpu.realtimeRuntime"))
        if c.shares:
            out.append(Write("cpu", "cpu.shares", _num(c.shares), "cpu.shares"))
        if c.idle is not None:
            out.append(Write("cpu", "cpu.idle", _num(c.idle), "cpu.idle"))
        if c.cpus:
            out.append(Write("cpuset", "cpuset.cpus", c.cpus, "cpu.cpus"))
        if c.mems:
            out.append(Write("cpuset", "cpuset.mems", c.mems, "cpu.mems"))
    if res.pids_limit is not None:
        # config-linux.md#configLinuxPIDS: 0 is a limit (no new tasks), -1 none.
        out.append(Write("pids", "pids.max", "max" if res.pids_limit < 0 else
                         _num(res.pids_limit), "pids.limit"))
    b = res.block_io
    if b is not None:
        out += _blkio(b, exists)
    for size, limit in res.hugepage_limits:
        # config-linux.md#configLinuxHugePageLimits: the reservation limit
        # where the kernel has it, and the page-fault limit always (as runc).
        for kind in hugetlb_kinds(exists, "hugetlb", size, "limit_in_bytes"):
            out.append(Write("hugetlb", f"hugetlb.{size}.{kind}limit_in_bytes", _num(limit),
                             "hugepageLimits"))
    if res.net_class_id is not None:
        out.append(Write("net_cls", "net_cls.classid", _num(res.net_class_id),
                         "network.classID"))
    for name, prio in res.net_priorities:
        out.append(Write("net_prio", "net_prio.ifpriomap", f"{name} {prio}",
                         "network.priorities"))
    out += rdma_writes(res)
    out += unified_writes(res)
    return out


def hugetlb_kinds(exists, controller: str, size: str, suffix: str) -> list[str]:
    """The hugetlb files to write for one page size: "" (page-fault
    accounting) and "rsvd." (reservation accounting) if this kernel has it."""
    return ["", "rsvd."] if exists(controller, f"hugetlb.{size}.rsvd.{suffix}") else [""]


def unified_writes(res: Resources) -> list[Write]:
    """config-linux.md#configLinuxUnified: controller files of the
    container's own cgroup2 directory, nothing else."""
    out = []
    for key, value in res.unified.items():
        if "/" in key or key.startswith("cgroup.") or key in (".", ".."):
            raise ConfigError(f"linux.resources.unified.{key}: not a controller file of the "
                              "container's cgroup")
        out.append(Write("", key, value, f"unified.{key}"))
    return out


def _blkio(b, exists) -> list[Write]:
    out: list[Write] = []
    bfq = not exists("blkio", "blkio.weight") and exists("blkio", "blkio.bfq.weight")
    weight_file = "blkio.bfq.weight" if bfq else "blkio.weight"
    if b.weight:
        out.append(Write("blkio", weight_file, _num(b.weight), "blockIO.weight"))
    if b.leaf_weight:
        out.append(Write("blkio", "blkio.leaf_weight", _num(b.leaf_weight),
                         "blockIO.leafWeight"))
    for major, minor, weight, leaf in b.weight_device:
        if weight is not None:
            out.append(Write("blkio", weight_file + "_device", f"{major}:{minor} {weight}",
                             "blockIO.weightDevice"))
        if leaf is not None:
            out.append(Write("blkio", "blkio.leaf_weight_device", f"{major}:{minor} {leaf}",
                             "blockIO.weightDevice"))
    for attr, name, field in (("throttle_read_bps", "read_bps", "throttleReadBpsDevice"),
                              ("throttle_write_bps", "write_bps", "throttleWriteBpsDevice"),
                              ("throttle_read_iops", "read_iops", "throttleReadIOPSDevice"),
                              ("throttle_write_iops", "write_iops", "throttleWriteIOPSDevice")):
        for major, minor, rate in getattr(b, attr):
            out.append(Write("blkio", f"blkio.throttle.{name}_device",
                             f"{major}:{minor} {rate}", f"blockIO.{field}"))
    return out


def rdma_writes(res: Resources) -> list[Write]:
    out = []
    for dev, (handles, objects) in res.rdma.items():
        parts = [dev]
        if handles is not None:
            parts.append(f"hca_handle={handles}")
        if objects is not None:
            parts.append(f"hca_object={objects}")
        out.append(Write("rdma", "rdma.max", " ".join(parts), f"rdma.{dev}"))
    return out
