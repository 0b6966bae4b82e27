"""linux.resources on cgroup v2 (unified): the v1-style values of the spec
translated the way runc and crun translate them, then `unified` entries
written as given (they win). Pure translation; the manager does the I/O."""
from __future__ import annotations

from ..errors import ConfigError
from .resources import Resources, Write
from .v1 import hugetlb_kinds, rdma_writes, unified_writes


def shares_to_weight(shares: int) -> int:
    """cpu.shares (2..262144) to cpu.weight (1..10000), runc's formula."""
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(weight: int) -> int:
    """blkio.weight (10..1000) to io.weight (1..10000), runc's formula."""
    weight = min(max(weight, 10), 1000)
    return 1 + ((weight - 10) * 9999) // 990


def _max(value: int) -> str:
    return "max" if value < 0 else str(value)


def _unsupported(field: str, why: str) -> ConfigError:
    return ConfigError(f"linux.resources.{field}: cannot be applied on cgroup v2 ({why})")


def writes(res: Resources, exists) -> list[Write]:
    out: list[Write] = []
    m = res.memory
    if m is not None:
        out += _memory(m)
    c = res.cpu
    if c is not None:
        out += _cpu(c)
    if res.pids_limit is not None:
        out.append(Write("", "pids.max", _max(res.pids_limit), "pids.limit"))
    if res.block_io is not None:
        out += _io(res.block_io, exists)
    for size, limit in res.hugepage_limits:
        for kind in hugetlb_kinds(exists, "", size, "max"):
            out.append(Write("", f"hugetlb.{size}.{kind}max", _max(limit), "hugepageLimits"))
    if res.net_class_id is not None or res.net_priorities:
        raise _unsupported("network", "cgroup v2 has no net_cls/net_prio controllers")
    out += [Write("", w.file, w.value, w.field) for w in rdma_writes(res)]
    out += unified_writes(res)
    return out


def _memory(m) -> list[Write]:
    out: list[Write] = []
    if m.limit:  # 0 is "not set", as on v1 and in runc
        out.append(Write("", "memory.max", _max(m.limit), "memory.limit"))
    if m.reservation:
        out.append(Write("", "memory.low", _max(m.reservation), "memory.reservation"))
    if m.swap:
        # v1's swap limit counts memory + swap; v2's memory.swap.max only swap.
        if m.swap < 0:
            value = "max"
        elif not m.limit or m.limit < 0:
            raise ConfigError("linux.resources.memory.swap: on cgroup v2 a swap limit "
                              "needs a memory limit (it is memory + swap)")
        elif m.swap < m.limit:
            raise ConfigError(f"linux.resources.memory.swap: {m.swap} is less than the "
                              f"memory limit {m.limit} (swap counts memory + swap)")
        else:
            value = str(m.swap - m.limit)
        out.append(Write("", "memory.swap.max", value, "memory.swap"))
    if (m.kernel or 0) > 0 or (m.kernel_tcp or 0) > 0:
        raise _unsupported("memory.kernel", "no kernel memory limit in v2")
    if m.swappiness is not None:
        raise _unsupported("memory.swappiness", "no per-cgroup swappiness in v2")
    if m.disable_oom_killer:
        raise _unsupported("memory.disableOOMKiller", "v2 cannot disable the OOM killer")
    if m.use_hierarchy is False:
        raise _unsupported("memory.useHierarchy", "v2 is always hierarchical")
    return out


def _cpu(c) -> list[Write]:
    out: list[Write] = []
    if c.shares:
        out.append(Write("", "cpu.weight", str(shares_to_weight(c.shares)), "cpu.shares"))
    if c.quota or c.period:
        quota = "max" if not c.quota or c.quota < 0 else str(c.quota)
        text = f"{quota} {c.period}" if c.period else quota
        out.append(Write("", "cpu.max", text, "cpu.quota"))
    if c.burst is not None:
        out.append(Write("", "cpu.max.burst", str(c.burst), "cpu.burst"))
    if c.realtime_runtime or c.realtime_period:
        raise _unsupported("cpu.realtimeRuntime", "no realtime group scheduling in v2")
    if c.idle is not None:
        out.append(Write("", "cpu.idle", str(c.idle), "cpu.idle"))
    if c.cpus:
        out.append(Write("", "cpuset.cpus", c.cpus, "cpu.cpus"))
    if c.mems:
        out.append(Write("", "cpuset.mems", c.mems, "cpu.mems"))
    return out


def _io(b, exists) -> list[Write]:
    out: list[Write] = []
    bfq = exists("", "io.bfq.weight")
    if b.weight:
        if bfq:  # BFQ takes the v1 range as it is
            out.append(Write("", "io.bfq.weight", str(b.weight), "blockIO.weight"))
        else:
            out.append(Write("", "io.weight", f"default {blkio_to_io_weight(b.weight)}",
                             "blockIO.weight"))
    if b.leaf_weight:
        raise _unsupported("blockIO.leafWeight", "no leaf weights in v2")
    for major, minor, weight, _leaf in b.weight_device:
        if weight is not None:
            if bfq:
                out.append(Write("", "io.bfq.weight", f"{major}:{minor} {weight}",
                                 "blockIO.weightDevice"))
            else:
                out.append(Write("", "io.weight",
                                 f"{major}:{minor} {blkio_to_io_weight(weight)}",
                                 "blockIO.weightDevice"))
    for attr, key, field in (("throttle_read_bps", "rbps", "throttleReadBpsDevice"),
                             ("throttle_write_bps", "wbps", "throttleWriteBpsDevice"),
                             ("throttle_read_iops", "riops", "throttleReadIOPSDevice"),
                             ("throttle_write_iops", "wiops", "throttleWriteIOPSDevice")):
        for major, minor, rate in getattr(b, attr):
            out.append(Write("", "io.max", f"{major}:{minor} {key}={rate}",
                             f"blockIO.{field}"))
    return out


CONTROLLERS = ("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc")


def controllers_needed(ws: list[Write]) -> set[str]:
    return {w.file.split(".", 1)[0] for w in ws if w.controller == ""} & set(CONTROLLERS)
