"""The one exception hierarchy. The CLI turns any PyruncError into exit status 1
and a log line; anything else is a bug and is reported with its type."""
from __future__ import annotations


class PyruncError(Exception):
    """A failure to report to the caller."""


class UsageError(PyruncError):
    """Bad command line: unknown flag, missing argument, bad value."""

    def __init__(self, msg: str, command: str | None = None) -> None:
        super().__init__(msg)
        self.command = command


class ConfigError(PyruncError):
    """config.json (or a process.json / resources file) is invalid or unsupported.
    The message names the JSON path of the field."""


class ContainerNotExist(PyruncError):
    def __init__(self, cid: str = "") -> None:
        # The exact phrase callers match on (containerd's delete and kill).
        super().__init__("container does not exist")
        self.cid = cid


class ContainerExists(PyruncError):
    def __init__(self, cid: str) -> None:
        super().__init__(f"container with id exists: {cid}")


class ContainerNotRunning(PyruncError):
    def __init__(self) -> None:
        # containerd's checkKillError matches this phrase.
        super().__init__("container not running")


class StateError(PyruncError):
    """The container is in the wrong state for the operation."""


class KernelError(PyruncError):
    """A system call failed: message names the call, the path and the errno."""

    def __init__(self, call: str, errno_: int, detail: str = "") -> None:
        import os

        where = f" {detail}" if detail else ""
        super().__init__(f"{call}{where}: {os.strerror(errno_)}")
        self.errno = errno_
        self.call = call


class ProcessStartError(PyruncError):
    """The intermediate or init process reported an error while setting up."""
