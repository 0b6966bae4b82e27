"""`run`: create and start in one call; in the foreground, wait for the
container's process, forward signals to it, and exit with its status
(128+N for a signal, as runc does), deleting the container unless --keep.
A terminal without --console-socket is proxied to the caller's own."""
from __future__ import annotations

from .. import log
from ..errors import PyruncError
from . import foreground, launching, ops
from .create import CreateOptions, create


def run(root: str, cid: str, opts: CreateOptions, keep: bool) -> int:
    forwarder = foreground.Forwarder()
    if not opts.detach:
        # Installed before create so that no signal is lost in between.
        forwarder.install()
    # In the foreground, a terminal without --console-socket comes back on
    # created.console (launching.open_console).
    created = create(root, cid, opts)
    master = -1
    try:
        if created.console >= 0:
            master = launching.receive_master(created.console)
        ops.start(root, cid)
    except BaseException:
        if not keep:
            _cleanup(root, cid)
        raise
    if opts.detach:
        return 0
    forwarder.start(created.pid)
    if master >= 0:
        status = foreground.proxy_and_wait(created.pid, master, forwarder)
    else:
        status = foreground.wait(created.pid)
    if not keep:
        _cleanup(root, cid)
    return status


def _cleanup(root: str, cid: str) -> None:
    try:
        ops.delete(root, cid, force=True)
    except PyruncError as err:
        log.warning(f"deleting container {cid} after run: {err}")
