"""Container statistics for `events`, in runc's JSON shape
(runtime-callers.md section 3.3): cpu, cpuset, memory, pids, blkio,
hugetlb. Zero values are left out where runc's omitempty leaves them out."""
from __future__ import annotations

import os

from .files import read_kv


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _int(path: str) -> int | None:
    text = _read(path)
    if text is None:
        return None
    text = text.strip()
    if text == "max":
        return 0
    try:
        return int(text)
    except ValueError:
        return None


_UNLIMITED = 2**64 - 1  # what runc reports for "max"


def _limit(path: str) -> int:
    text = (_read(path) or "").strip()
    if text == "max":
        return _UNLIMITED
    try:
        return int(text)
    except ValueError:
        return 0


def _omit(d: dict, *keys: str) -> dict:
    """Go's omitempty for the given keys."""
    return {k: v for k, v in d.items() if not (k in keys and not v)}


def _list(text: str | None) -> list[int]:
    from ..linux.sched import parse_list

    text = (text or "").strip()
    return parse_list(text, "cpuset") if text else []


def _hugetlb_sizes() -> list[str]:
    out = []
    try:
        names = os.listdir("/sys/kernel/mm/hugepages")
    except OSError:
        return out
    for name in names:  # hugepages-2048kB -> 2MB
        kb = int(name.split("-")[1][:-2])
        for unit, div in (("GB", 1 << 20), ("MB", 1 << 10), ("KB", 1)):
            if kb % div == 0:
                out.append(f"{kb // div}{unit}")
                break
    return sorted(out)


# --- v1 ----------------------------------------------------------------------------

def _cpu_v1(cpu: str | None, cpuacct: str | None) -> dict:
    usage: dict = {}
    if cpuacct:
        usage["total"] = _int(f"{cpuacct}/cpuacct.usage") or 0
        for key, name in (("percpu", "usage_percpu"), ("percpu_kernel", "usage_percpu_sys"),
                          ("percpu_user", "usage_percpu_user")):
            text = _read(f"{cpuacct}/cpuacct.{name}")
            if text:
                usage[key] = [int(x) for x in text.split()]
        ticks = os.sysconf("SC_CLK_TCK")
        stat = read_kv(f"{cpuacct}/cpuacct.stat")
        usage["kernel"] = stat.get("system", 0) * 1_000_000_000 // ticks
        usage["user"] = stat.get("user", 0) * 1_000_000_000 // ticks
    throttling = {}
    if cpu:
        s = read_kv(f"{cpu}/cpu.stat")
        throttling = _omit({"periods": s.get("nr_periods", 0),
                            "throttledPeriods": s.get("nr_throttled", 0),
                            "throttledTime": s.get("throttled_time", 0)},
                           "periods", "throttledPeriods", "throttledTime")
    return {"usage": _omit(usage, "total", "percpu", "percpu_kernel", "percpu_user"),
            "throttling": throttling}


def _cpuset_v1(d: str) -> dict:
    out = {"cpus": _list(_read(f"{d}/cpuset.cpus")), "mems": _list(_read(f"{d}/cpuset.mems"))}
    for key in ("cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate",
                "memory_spread_page", "memory_spread_slab", "memory_pressure",
                "sched_load_balance", "sched_relax_domain_level"):
        value = _int(f"{d}/cpuset.{key}")
        if value is not None:
            out[key] = value
    return _omit(out, "cpus", "mems")


def _memory_entry_v1(d: str, prefix: str) -> dict:
    return _omit({"limit": _int(f"{d}/{prefix}.limit_in_bytes") or 0,
                  "usage": _int(f"{d}/{prefix}.usage_in_bytes") or 0,
                  "max": _int(f"{d}/{prefix}.max_usage_in_bytes") or 0,
                  "failcnt": _int(f"{d}/{prefix}.failcnt") or 0}, "usage", "max")


def _memory_v1(d: str) -> dict:
    raw = read_kv(f"{d}/memory.stat")
    out: dict = {"cache": raw.get("cache", 0),
                 "usage": _memory_entry_v1(d, "memory"),
                 "swap": _memory_entry_v1(d, "memory.memsw"),
                 "kernel": _memory_entry_v1(d, "memory.kmem"),
                 "kernelTCP": _memory_entry_v1(d, "memory.kmem.tcp"),
                 "raw": raw}
    return _omit(out, "cache", "raw")


def _blkio_v1(d: str) -> dict:
    prefix = "blkio.throttle."
    if os.path.exists(f"{d}/blkio.io_service_bytes_recursive"):
        prefix = "blkio."
    elif os.path.exists(f"{d}/blkio.bfq.io_service_bytes_recursive"):
        prefix = "blkio.bfq."
    out = {}
    for key, name in (("ioServiceBytesRecursive", "io_service_bytes_recursive"),
                      ("ioServicedRecursive", "io_serviced_recursive")):
        entries = []
        for line in (_read(f"{d}/{prefix}{name}") or "").splitlines():
            parts = line.split()
            if len(parts) == 3 and ":" in parts[0]:
                major, minor = parts[0].split(":")
                entries.append(_omit({"major": int(major), "minor": int(minor),
                                      "op": parts[1], "value": int(parts[2])},
                                     "major", "minor", "op", "value"))
        if entries:
            out[key] = entries
    return out


# --- v2 ----------------------------------------------------------------------------

def _cpu_v2(d: str) -> dict:
    s = read_kv(f"{d}/cpu.stat")
    usage = {"total": s.get("usage_usec", 0) * 1000, "kernel": s.get("system_usec", 0) * 1000,
             "user": s.get("user_usec", 0) * 1000}
    throttling = _omit({"periods": s.get("nr_periods", 0),
                        "throttledPeriods": s.get("nr_throttled", 0),
                        "throttledTime": s.get("throttled_usec", 0) * 1000},
                       "periods", "throttledPeriods", "throttledTime")
    return {"usage": _omit(usage, "total"), "throttling": throttling}


def _memory_v2(d: str) -> dict:
    raw = read_kv(f"{d}/memory.stat")
    events = read_kv(f"{d}/memory.events")
    usage = _int(f"{d}/memory.current") or 0
    limit = _limit(f"{d}/memory.max")
    swap_usage = _int(f"{d}/memory.swap.current") or 0
    swap_limit = _limit(f"{d}/memory.swap.max")
    out = {"cache": raw.get("file", 0),
           "usage": _omit({"limit": limit, "usage": usage,
                           "max": _int(f"{d}/memory.peak") or 0,
                           "failcnt": events.get("max", 0)}, "usage", "max"),
           "swap": _omit({"limit": min(swap_limit + limit, _UNLIMITED),
                          "usage": swap_usage + usage, "failcnt": 0}, "usage"),
           "raw": raw}
    return _omit(out, "cache", "raw")


def _blkio_v2(d: str) -> dict:
    served, serviced = [], []
    for line in (_read(f"{d}/io.stat") or "").splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, minor = (int(x) for x in parts[0].split(":"))
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        for key, op, target in (("rbytes", "Read", served), ("wbytes", "Write", served),
                                ("rios", "Read", serviced), ("wios", "Write", serviced)):
            if key in kv:
                target.append(_omit({"major": major, "minor": minor, "op": op,
                                     "value": int(kv[key])}, "major", "minor", "op", "value"))
    out = {}
    if served:
        out["ioServiceBytesRecursive"] = served
    if serviced:
        out["ioServicedRecursive"] = serviced
    return out


def _hugetlb_v2(d: str) -> dict:
    out = {}
    for size in _hugetlb_sizes():
        current = _int(f"{d}/hugetlb.{size}.current")
        if current is None:
            continue
        out[size] = _omit({"usage": current, "max": _int(f"{d}/hugetlb.{size}.max") or 0,
                           "failcnt": read_kv(f"{d}/hugetlb.{size}.events").get("max", 0)},
                          "usage", "max")
    return out


def collect(manager) -> dict:
    """The `data` of a runc stats event."""
    def v1(controller: str) -> str | None:
        d = next((x for x in manager.dirs if x.version == 1
                  and controller in x.key.split(",")), None)
        return d.path if d is not None else None

    unified = manager.unified()
    if manager.mode == "v2":
        d = unified.path
        data = {"cpu": _cpu_v2(d), "memory": _memory_v2(d),
                "pids": _omit({"current": _int(f"{d}/pids.current") or 0,
                               "limit": _int(f"{d}/pids.max") or 0}, "current", "limit"),
                "blkio": _blkio_v2(d), "hugetlb": _hugetlb_v2(d)}
        cpuset = {"cpus": _list(_read(f"{d}/cpuset.cpus.effective")),
                  "mems": _list(_read(f"{d}/cpuset.mems.effective"))}
        data["cpuset"] = _omit(cpuset, "cpus", "mems")
    else:
        data = {"cpu": _cpu_v1(v1("cpu"), v1("cpuacct"))}
        if v1("cpuset"):
            data["cpuset"] = _cpuset_v1(v1("cpuset"))
        if v1("memory"):
            data["memory"] = _memory_v1(v1("memory"))
        pids = v1("pids")
        if pids:
            data["pids"] = _omit({"current": _int(f"{pids}/pids.current") or 0,
                                  "limit": _int(f"{pids}/pids.max") or 0}, "current", "limit")
        data["blkio"] = _blkio_v1(v1("blkio")) if v1("blkio") else {}
        data["hugetlb"] = (_hugetlb_v2(unified.path) if unified is not None and
                           not v1("hugetlb") else {})
    data["intel_rdt"] = {}
    data["network_interfaces"] = None
    return data
