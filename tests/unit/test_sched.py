"""pyrunc.linux.sched: the translations of process.scheduler, ioPriority,
execCPUAffinity and linux.memoryPolicy refuse, naming the field, what the
kernel (or runc's validation) would refuse, before anything is forked."""
from __future__ import annotations

import pytest

from pyrunc.errors import ConfigError
from pyrunc.linux import sched


def attr(policy, nice=0, priority=0, runtime=0, deadline=0, period=0):
    return sched.sched_attr(policy, nice, priority, [], runtime, deadline, period)


@pytest.mark.parametrize("args", [
    ("SCHED_OTHER",), ("SCHED_BATCH", 19), ("SCHED_OTHER", -20), ("SCHED_IDLE",),
    ("SCHED_FIFO", 0, 1), ("SCHED_RR", 0, 99),
    ("SCHED_DEADLINE", 0, 0, 10_000_000, 20_000_000, 30_000_000),
])
def test_scheduler_accepted(args):
    assert len(attr(*args)) == 48


@pytest.mark.parametrize("args,field", [
    (("SCHED_OTHER", 20), "process.scheduler.nice"),
    (("SCHED_BATCH", -21), "process.scheduler.nice"),
    (("SCHED_OTHER", 0, -1), "process.scheduler.priority"),  # was struct.error
    (("SCHED_IDLE", 0, 5), "process.scheduler.priority"),
    (("SCHED_FIFO", 0, 0), "process.scheduler.priority"),
    (("SCHED_RR", 0, 100), "process.scheduler.priority"),
    (("SCHED_FIFO", 0, -2**31), "process.scheduler.priority"),
    (("SCHED_OTHER", 0, 0, 1), "process.scheduler.runtime"),
    (("SCHED_FIFO", 0, 10, 0, 0, 5), "process.scheduler.period"),
    (("SCHED_ISO",), "process.scheduler.policy"),
])
def test_scheduler_refused(args, field):
    with pytest.raises(ConfigError) as err:
        attr(*args)
    assert str(err.value).startswith(field + ": "), err.value


@pytest.mark.parametrize("priority", [0, 4, 7])
def test_io_priority_accepted(priority):
    assert sched.ioprio_value("IOPRIO_CLASS_BE", priority) == (2 << 13) | priority


@pytest.mark.parametrize("priority", [-1, 8, 8192, 2**31 - 1])
def test_io_priority_refused(priority):
    """8192 with IOPRIO_CLASS_BE used to become IOPRIO_CLASS_IDLE."""
    with pytest.raises(ConfigError, match=r"^process\.ioPriority\.priority: "):
        sched.ioprio_value("IOPRIO_CLASS_BE", priority)


@pytest.mark.parametrize("text,expect", [("0-3,7", [0, 1, 2, 3, 7]), (" 1 ,", [1]),
                                         ("65535", [65535])])
def test_cpu_list(text, expect):
    assert sched.parse_list(text, "process.execCPUAffinity.final") == expect


@pytest.mark.parametrize("text", ["0-99999999", "9223372036854775808", "65536", "²", "٣",
                                  "1-²", "3-1", "-", ",", "0x1"])
def test_cpu_list_refused(text):
    """"0-99999999" used to expand to a list of 10**8 numbers (a hang), "²"
    to raise ValueError."""
    with pytest.raises(ConfigError, match=r"^process\.execCPUAffinity\.final: "):
        sched.parse_list(text, "process.execCPUAffinity.final")


@pytest.mark.parametrize("nodes", ["1024", "0-4096", "9223372036854775808"])
def test_memory_policy_nodes_refused(nodes):
    """A node past MAX_NUMNODES used to size the nodemask after it (2**63
    nodes: a hang before the fork)."""
    with pytest.raises(ConfigError, match=r"^linux\.memoryPolicy\.nodes: "):
        sched.mempolicy("MPOL_BIND", nodes, [])
