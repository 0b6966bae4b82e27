"""`run`: create and start in one call; in the foreground, wait for the
container's process, forward signals to it, and exit with its status
(128+N for a signal, as runc does), deleting the container unless --keep.
A terminal without --console-socket is proxied to the caller's own."""
from __future__ import annotations

import os

from .. import log
from ..errors import PyruncError
from ..process import parent
from . import foreground, ops
from .create import CreateOptions, _listen_fds, create


def run(root: str, cid: str, opts: CreateOptions, keep: bool) -> int:
    forwarder = foreground.Forwarder()
    if not opts.detach:
        # Installed before create so that no signal is lost in between.
        forwarder.install()
    receive = -1
    # Before opening anything of ours: a missing preserved fd must be noticed,
    # not filled by our own socket.
    parent.check_extra_fds(opts.preserve_fds + _listen_fds())
    if not opts.detach and not opts.console_socket:
        import _socket

        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM
                                          | _socket.SOCK_CLOEXEC)
        receive, opts.console_fd = ours.detach(), theirs.detach()
    try:
        created = create(root, cid, opts)
    finally:
        if opts.console_fd >= 0:
            os.close(opts.console_fd)
            opts.console_fd = -1
    master = -1
    try:
        if receive >= 0 and created.terminal:
            from ..linux import console

            master = console.recv_master(receive)
        ops.start(root, cid)
    except BaseException:
        if not keep:
            _cleanup(root, cid)
        raise
    finally:
        if receive >= 0:
            os.close(receive)
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
