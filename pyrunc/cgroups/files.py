"""Reading and writing cgroup files: the one place for how a control file is
written (one write(2), as the kernel parses each write whole) and for the
flat keyed files (`key value` lines: memory.events, cpu.stat, ...)."""
from __future__ import annotations

import os


def write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def read_kv(path: str) -> dict[str, int]:
    """A flat keyed file as a dict; {} where it cannot be read."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def signal_procs(path: str, signum: int) -> None:
    """Send signum to every process listed in the cgroup directory `path`
    (not its descendants); processes gone meanwhile are no error."""
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            pids = [int(x) for x in f.read().split()]
    except OSError:
        return
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
