"""The freezer of the container's cgroup, one implementation per cgroup
version: v1's freezer.state (FROZEN/FREEZING/THAWED) and v2's cgroup.freeze,
whose reached state cgroup.events reports. Only CgroupManager uses these."""
from __future__ import annotations

import os
import time

from ..errors import PyruncError
from . import files

FROZEN = "frozen"
THAWED = "thawed"


class Freezer:
    """The freezer behind one control file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def state(self) -> str:
        """FROZEN (freezing counts: the container is paused), THAWED, or ""
        where the file cannot be read (the cgroup is gone)."""
        try:
            return FROZEN if self._frozen(files.read(self.path)) else THAWED
        except OSError:
            return ""

    def set(self, frozen: bool, timeout: float) -> None:
        """Ask for the state and wait until the kernel reports it reached; a
        freeze that does not complete in time is undone."""
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            files.write(self.path, self._value(frozen))
            if self._reached(frozen):
                return
            if time.monotonic() > deadline:
                if frozen:
                    files.write(self.path, self._value(False))
                raise PyruncError(f"the container did not {'freeze' if frozen else 'thaw'} "
                                  f"within {timeout:.0f}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _value(self, frozen: bool) -> str:
        raise NotImplementedError

    def _frozen(self, text: str) -> bool:
        raise NotImplementedError

    def _reached(self, frozen: bool) -> bool:
        raise NotImplementedError


class V1Freezer(Freezer):
    """freezer.state: FREEZING until every task is frozen."""

    def _value(self, frozen: bool) -> str:
        return "FROZEN" if frozen else "THAWED"

    def _frozen(self, text: str) -> bool:
        return text in ("FROZEN", "FREEZING")

    def _reached(self, frozen: bool) -> bool:
        return files.read(self.path) == self._value(frozen)


class V2Freezer(Freezer):
    """cgroup.freeze holds the state asked for; cgroup.events' `frozen` the
    state reached."""

    def _value(self, frozen: bool) -> str:
        return "1" if frozen else "0"

    def _frozen(self, text: str) -> bool:
        return text == "1"

    def _reached(self, frozen: bool) -> bool:
        events = files.read_kv(os.path.join(os.path.dirname(self.path), "cgroup.events"))
        return "frozen" not in events or events["frozen"] == int(frozen)


def for_file(path: str) -> Freezer | None:
    """The freezer whose control file is `path` (as CgroupManager records it)."""
    if not path:
        return None
    return V1Freezer(path) if path.endswith("freezer.state") else V2Freezer(path)
