"""OOM notifications for `events`, one implementation per cgroup version:
v1 through an eventfd registered on memory.oom_control, v2 by the oom_kill
count of memory.events (the kernel signals a change of that file with
POLLPRI). Only CgroupManager.oom_events() makes these."""
from __future__ import annotations

import os
import select

from . import files


class OomEvents:
    """wait(seconds) -> whether an OOM kill happened meanwhile; close()."""

    def __init__(self) -> None:
        self.poller = select.poll()
        self.fds: list[int] = []

    def wait(self, seconds: float) -> bool:
        events = self.poller.poll(max(0, int(seconds * 1000)))
        return bool(events) and self._happened()

    def _happened(self) -> bool:
        return False

    def close(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []


class V1OomEvents(OomEvents):
    def __init__(self, memory_dir: str) -> None:
        super().__init__()
        self.efd = os.eventfd(0, os.EFD_CLOEXEC)
        self.fds.append(self.efd)
        ctl = os.open(os.path.join(memory_dir, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
        self.fds.append(ctl)
        files.write(os.path.join(memory_dir, "cgroup.event_control"), f"{self.efd} {ctl}")
        self.poller.register(self.efd, select.POLLIN)

    def _happened(self) -> bool:
        os.read(self.efd, 8)
        return True


class V2OomEvents(OomEvents):
    def __init__(self, cgroup_dir: str) -> None:
        super().__init__()
        self.path = os.path.join(cgroup_dir, "memory.events")
        self.count = self._count()
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        self.fds.append(fd)
        self.poller.register(fd, select.POLLPRI | select.POLLERR)

    def _count(self) -> int:
        return files.read_kv(self.path).get("oom_kill", 0)

    def _happened(self) -> bool:
        count = self._count()
        happened, self.count = count > self.count, count
        return happened
