"""Per-process kernel settings: I/O priority, scheduler, personality, NUMA
memory policy, CPU affinity (config.md#configLinuxProcess,
config-linux.md#configLinuxPersonality, #configLinuxMemoryPolicy).

Translation (names to numbers, parsing CPU/node lists) is pure and checked
by the parent; the init makes the calls through syscalls.raw.
"""
from __future__ import annotations

import struct

from ..errors import ConfigError

IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}

SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                  "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
               "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
               "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}

PERSONALITIES = {"LINUX": 0x0000, "LINUX32": 0x0008}

MPOL_MODES = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
              "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
MPOL_FLAGS = {"MPOL_F_STATIC_NODES": 1 << 15, "MPOL_F_RELATIVE_NODES": 1 << 14,
              "MPOL_F_NUMA_BALANCING": 1 << 13}
_MPOL_NO_NODES = ("MPOL_DEFAULT", "MPOL_LOCAL")


# Larger CPU and node numbers than any kernel has (NR_CPUS is at most 8192,
# MAX_NUMNODES 1024): a list naming one is refused before it is expanded.
_MAX_CPU = (1 << 16) - 1
_MAX_NODE = 1023


def parse_list(text: str, where: str, highest: int = _MAX_CPU) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7] (the cpuset list format); numbers above
    `highest` are refused ("0-99999999" would be a list of 10**8)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        if not _digits(lo) or (dash and not _digits(hi)):
            raise ConfigError(f"{where}: {text!r} is not a list like 0-3,7")
        first, last = int(lo), int(hi) if dash else int(lo)
        if last < first:
            raise ConfigError(f"{where}: range {part!r} runs backwards")
        if last > highest:
            raise ConfigError(f"{where}: {last} is above {highest}, the highest number "
                              "a kernel can have there")
        out.extend(range(first, last + 1))
    if not out:
        raise ConfigError(f"{where}: {text!r} names no CPU or node")
    return out


# sched_setaffinity(2) clamps a mask to the CPUs the kernel supports and to the
# task's cpuset: a mask of every CPU number this large "resets" the affinity
# to whatever the container's cgroup allows, now and if its cpuset grows.
_RESET_CPUS = 8192


def reset_affinity() -> None:
    """Drop the affinity inherited from the caller (`taskset -c 0 pyrunc run`):
    the container's process may run on every CPU its cpuset allows (runc 1.2+)."""
    import os

    try:
        os.sched_setaffinity(0, range(_RESET_CPUS))
    except OSError as err:
        from .. import log

        log.warning(f"resetting the CPU affinity failed ({err.strerror}): the container's "
                    "process keeps pyrunc's")


def affinity_mask(cpus: list[int]) -> int:
    mask = 0
    for cpu in cpus:
        mask |= 1 << cpu
    return mask


def _digits(text: str) -> bool:
    # ASCII only: "²".isdigit() is true and int("²") an error.
    return text.isascii() and text.isdigit()


def ioprio_value(cls: str, priority: int) -> int:
    # config.md: "from 0 (highest) to 7 (lowest)", as runc checks; a larger
    # value would spill into the class bits (8192 with BE is IDLE).
    if not 0 <= priority <= 7:
        raise ConfigError(f"process.ioPriority.priority: {priority} is not between 0 "
                          "(highest) and 7 (lowest)")
    return (IOPRIO_CLASSES[cls] << 13) | priority


def sched_attr(policy: str, nice: int, priority: int, flags: list[str], runtime: int,
               deadline: int, period: int) -> bytes:
    """struct sched_attr (size 48, SCHED_ATTR_SIZE_VER0), with runc's rules
    for which policy takes which value (sched_setattr(2))."""
    where = "process.scheduler"
    if policy == "SCHED_ISO":
        raise ConfigError(f"{where}.policy: SCHED_ISO is reserved and not implemented by "
                          "Linux")
    if policy in ("SCHED_OTHER", "SCHED_BATCH") and not -20 <= nice <= 19:
        raise ConfigError(f"{where}.nice: {nice} is not between -20 and 19")
    if policy in ("SCHED_FIFO", "SCHED_RR"):
        if not 1 <= priority <= 99:
            raise ConfigError(f"{where}.priority: {policy} needs a priority between 1 and "
                              f"99, not {priority}")
    elif priority:
        raise ConfigError(f"{where}.priority: only SCHED_FIFO and SCHED_RR take a priority "
                          f"({policy} does not)")
    if policy != "SCHED_DEADLINE":
        for name, value in (("runtime", runtime), ("deadline", deadline), ("period", period)):
            if value:
                raise ConfigError(f"{where}.{name}: only SCHED_DEADLINE takes a {name} "
                                  f"({policy} does not)")
    bits = 0
    for flag in flags:
        bits |= SCHED_FLAGS[flag]
    return struct.pack("<IIQiIQQQ", 48, SCHED_POLICIES[policy], bits, nice, priority,
                       runtime, deadline, period)


def mempolicy(mode: str, nodes: str, flags: list[str]) -> tuple[int, list[int]]:
    """(mode with flags, node list) for set_mempolicy(2)."""
    where = "linux.memoryPolicy"
    # runc's words ("invalid memory policy node", "mode requires ...") after
    # the field: callers and runc's tests match on them.
    node_list = (parse_list(nodes, f"{where}.nodes: invalid memory policy node", _MAX_NODE)
                 if nodes else [])
    if mode in _MPOL_NO_NODES and node_list:
        raise ConfigError(f"{where}.nodes: {mode} mode requires 0 nodes but got "
                          f"{len(node_list)}")
    if mode in ("MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                "MPOL_PREFERRED_MANY") and not node_list:
        raise ConfigError(f"{where}.nodes: {mode} mode requires at least one node")
    value = MPOL_MODES[mode]
    for flag in flags:
        value |= MPOL_FLAGS[flag]
    return value, node_list


def nodemask(nodes: list[int]) -> tuple[bytes, int]:
    """(bitmask as unsigned longs, maxnode) for set_mempolicy(2)."""
    if not nodes:
        return b"", 0
    words = max(nodes) // 64 + 1
    mask = [0] * words
    for n in nodes:
        mask[n // 64] |= 1 << (n % 64)
    return struct.pack(f"<{words}Q", *mask), words * 64 + 1
