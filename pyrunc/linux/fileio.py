"""Replacing a file atomically: readers see the old content or the new one,
never a part.

Imports nothing but os (it is on the path of every command that saves
state.json): state.json, the pid file, the seccomp program cache and the
launcher's files are written through here.
"""
from __future__ import annotations

import os


def write_atomic(path: str, data: bytes, mode: int = 0o600, *,
                 exact_mode: bool = False) -> None:
    """Write data to a temp file beside path (`.NAME.PID`: the same directory,
    so the rename cannot cross a file system, and a pid so that two writers do
    not share one) and rename it over path. The temp file is created with
    mode (less the umask, or exactly mode with exact_mode), O_CLOEXEC (no
    child may inherit it) and O_NOFOLLOW (a symlink planted at the temp name
    is not written through); on any failure it is removed and the error
    raised. No fsync, as before this helper: state.json lives on /run (a
    tmpfs), the pid file is read by the caller at once, and a lost cache
    entry is made again."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW,
                 mode)
    try:
        try:
            if exact_mode:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
