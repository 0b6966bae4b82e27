"""Get the kernel's cgroup migration lock ready while Python is still busy.

Every write to a `cgroup.procs` file takes the kernel's global threadgroup
lock for writing (cgroup_threadgroup_rwsem). When nobody has written for a
while the lock is in its reader-fast mode, and the first writer waits for an
RCU grace period to switch it over: 10-20 ms on a small VM, the single
longest wait in `create` and `exec`. Writers that come within about a grace
period of the last one pay nothing.

So `create` and `exec`, which will move a process into a cgroup, call
`start()` early: a thread moves this process into the cgroup it is already in
(which changes nothing), and pays that wait while the main thread validates
and forks. When the real move comes, the lock is ready. Nothing here can fail
a command: when the write is refused the real move simply pays the wait.

The thread opens files, so it must start only after the caller's fds 3..
(--preserve-fds, LISTEN_FDS) have been checked: otherwise a missing preserved
fd could be "found" as one of the thread's and passed to the container.

The thread imports nothing and uses only `os` calls and string work: it takes
no Python-level lock that a fork() on the main thread could copy into the
child in a held state.
"""
from __future__ import annotations

import os

from .hierarchy import parse_mountinfo


def own_procs_file(mountinfo: str, self_cgroup: str) -> str:
    """The cgroup.procs file of the cgroup this process is in, in the first
    mounted hierarchy where that cgroup is visible ('' if none is)."""
    paths = {}
    for line in self_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            paths[parts[1]] = parts[2]
    for h in parse_mountinfo(mountinfo):
        mine = paths.get(h.key)
        root = h.root.rstrip("/")
        if mine is None or not (mine == h.root or mine.startswith(root + "/")):
            continue  # not our hierarchy, or our cgroup is outside this mount
        rel = mine[len(root):].lstrip("/")
        return os.path.join(h.mountpoint, rel, "cgroup.procs")
    return ""


def _read(path: str) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(fd)


def _move_into_own_cgroup() -> None:
    try:
        target = own_procs_file(_read("/proc/self/mountinfo"), _read("/proc/self/cgroup"))
        if not target:
            return
        fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)
    except Exception:  # noqa: BLE001 - a hint only: the real move pays the wait instead
        pass


def start() -> None:
    """Begin switching the kernel's cgroup migration lock, on a thread."""
    import _thread

    _thread.start_new_thread(_move_into_own_cgroup, ())
