"""What `run` and `exec` do in the foreground: forward signals to the
container's process, proxy the caller's terminal when the process has one
and no console socket was given, and return the process's exit status
(128+N for a signal, as runc does)."""
from __future__ import annotations

import os
import select

from ..linux import signals


class Forwarder:
    """Signal handlers installed before the process exists (so none is lost):
    signals are queued until a target is set, then forwarded to it."""

    def __init__(self) -> None:
        self.target = 0
        self.pending: list[int] = []
        self.resize_to = -1  # a pty master to resize on SIGWINCH

    def install(self) -> None:
        signals.install(self._handle, signals.FORWARDED)

    def _handle(self, signum: int, _frame: object) -> None:
        if signum == 28 and self.resize_to >= 0:  # SIGWINCH: the proxied terminal resized
            _copy_size(self.resize_to)
            return
        if not self.target:
            self.pending.append(signum)
            return
        try:
            os.kill(self.target, signum)
        except ProcessLookupError:
            pass

    def start(self, pid: int) -> None:
        self.target = pid
        for signum in self.pending:
            self._handle(signum, None)
        self.pending = []


def _copy_size(master: int) -> None:
    from ..linux import console

    try:
        rows, cols = console.get_size(0)
        console.set_size(master, rows, cols)
    except OSError:
        pass


def wait(pid: int) -> int:
    """Reap children until pid is reaped (we are a subreaper, so orphans of
    the container come to us too); its status as a shell would report it."""
    while True:
        try:
            got, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if got == pid:
            return _exit_code(status)


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def proxy_and_wait(pid: int, master: int, forwarder: Forwarder) -> int:
    """Copy the caller's stdin to the pty master and the master to stdout
    until the process exits; the caller's terminal is in raw mode meanwhile
    and restored after."""
    import termios
    import tty

    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0)
        # Raw input, but output processing stays (as runc's SetRaw): the
        # container's pty does not turn "\n" into "\r\n" (ONLCR is cleared
        # there, so captured output is plain), this terminal does.
        attrs = termios.tcgetattr(0)
        attrs[1] |= termios.OPOST
        termios.tcsetattr(0, termios.TCSANOW, attrs)
        _copy_size(master)
        forwarder.resize_to = master
    os.set_blocking(master, False)
    status: int | None = None
    stdin_open = True
    try:
        while True:
            watch = [master] + ([0] if stdin_open else [])
            try:
                ready, _, _ = select.select(watch, [], [], 0.05)
            except InterruptedError:
                continue
            if master in ready and not _pump(master, 1):
                break  # EIO: the slave side is gone
            if 0 in ready:
                data = os.read(0, 4096)
                if data:
                    _write_all(master, data)
                else:
                    stdin_open = False
            if status is None:
                got, st = os.waitpid(-1, os.WNOHANG) if _has_children() else (0, 0)
                if got == pid:
                    status = _exit_code(st)
            if status is not None and master not in ready:
                break
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        forwarder.resize_to = -1
        os.close(master)
    return status if status is not None else wait(pid)


def _has_children() -> bool:
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return True
    except ChildProcessError:
        return False


def _pump(src: int, dst: int) -> bool:
    try:
        data = os.read(src, 65536)
    except BlockingIOError:
        return True
    except OSError:
        return False
    if not data:
        return False
    _write_all(dst, data)
    return True


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            select.select([], [fd], [])
