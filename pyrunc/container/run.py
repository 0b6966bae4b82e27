"""`run`: create and start in one call; in the foreground, wait for the
container's process, forward signals to it, and exit with its status
(128+N for a signal, as runc does), deleting the container unless --keep."""
from __future__ import annotations

import os

from .. import log
from ..errors import PyruncError
from ..linux import signals
from . import ops
from .create import CreateOptions, create


def run(root: str, cid: str, opts: CreateOptions, keep: bool) -> int:
    pending: list[int] = []
    target = [0]

    def forward(signum: int, _frame: object) -> None:
        if target[0]:
            try:
                os.kill(target[0], signum)
            except ProcessLookupError:
                pass
        else:
            pending.append(signum)

    if not opts.detach:
        # Installed before create so that no signal is lost in between;
        # queued until the init exists.
        signals.install(forward, signals.FORWARDED)
    created = create(root, cid, opts)
    try:
        ops.start(root, cid)
    except BaseException:
        if not keep:
            _cleanup(root, cid)
        raise
    if opts.detach:
        return 0
    target[0] = created.pid
    for signum in pending:
        forward(signum, None)
    status = _wait(created.pid)
    if not keep:
        _cleanup(root, cid)
    return status


def _wait(pid: int) -> int:
    """Reap children until the init is reaped: we are a subreaper, so the
    container's orphans come to us too."""
    while True:
        try:
            got, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if got == pid:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)


def _cleanup(root: str, cid: str) -> None:
    try:
        ops.delete(root, cid, force=True)
    except PyruncError as err:
        log.warning(f"deleting container {cid} after run: {err}")
