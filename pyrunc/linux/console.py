"""Terminals (config.md#configProcess `terminal`, `consoleSize`;
config-linux.md#configLinuxDefaultDevices /dev/console).

Inside the container (after the switch of root, so the container's own devpts
instance is used) a pty pair is opened; the slave becomes the process's
controlling terminal and stdio and is bound on /dev/console; the master goes
to the console socket with one sendmsg carrying a name and exactly one
SCM_RIGHTS fd, as runc sends it (runtime-callers.md section 5.1).

For `run`/`exec` in the foreground without a console socket, pyrunc keeps the
master and proxies its own terminal (raw mode, window size, restored at exit).
"""
from __future__ import annotations

import _socket
import fcntl
import os
import struct
import termios

from ..errors import PyruncError

# <asm-generic/ioctls.h>; the termios module does not have these.
TIOCSPTLCK = 0x40045431  # (un)lock the pty slave
TIOCGPTPEER = 0x5441     # open the slave of a master (Linux 4.13)


def connect(path: str, flag: str = "--console-socket") -> int:
    """Connect to a socket the caller listens on (--console-socket,
    --pidfd-socket); returns the fd."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
    except OSError as err:
        sock.close()
        raise PyruncError(f"{flag} {path}: {err.strerror or err}") from None
    return sock.detach()


def open_pty(rows: int, cols: int) -> tuple[int, int]:
    """(master, slave) from the devpts mounted at /dev/pts in the current
    root; the size is set when both values are non-zero. The master must be
    on devpts (its fd is handed to the caller) and the slave is its peer
    (TIOCGPTPEER), never a path the image could point elsewhere."""
    from . import paths
    from . import syscalls as sc

    root = paths.current_root()
    try:
        master = paths.open_in_root(root, "/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY)
    except PyruncError as err:
        raise PyruncError(f"process.terminal: opening /dev/pts/ptmx: {err} (the container "
                          "needs a devpts mount at /dev/pts)") from None
    finally:
        os.close(root)
    if sc.fstatfs_type(master) != sc.DEVPTS_SUPER_MAGIC:
        os.close(master)
        raise PyruncError("process.terminal: /dev/pts/ptmx in the container is not on a "
                          "devpts filesystem")
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))  # unlockpt
    slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if rows and cols:
        set_size(master, rows, cols)
    return master, slave


def clear_onlcr(fd: int) -> None:
    """No "\n" to "\r\n" translation on the container's output: pyrunc copies
    it to its own terminal, which translates already (runc clears ONLCR for
    the terminal it proxies too, so callers read the same bytes)."""
    import termios

    attrs = termios.tcgetattr(fd)
    attrs[1] &= ~termios.ONLCR
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_size(fd: int) -> tuple[int, int]:
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return rows, cols


def send_master(sock_fd: int, master: int) -> None:
    """One sendmsg: a non-empty name and exactly one fd (go-runc and conmon
    check both)."""
    send_fd(sock_fd, master, b"/dev/pts/ptmx", "the terminal to the console socket")


def send_fd(sock_fd: int, fd: int, name: bytes, what: str) -> None:
    """Send fd with its name over a connected socket, then close the socket."""
    sock = _socket.socket(fileno=sock_fd)
    try:
        sock.sendmsg([name], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", fd))])
    except OSError as err:
        raise PyruncError(f"sending {what}: {err.strerror or err}") from None
    finally:
        sock.close()


def send_pidfd(sock_fd: int, pid: int) -> None:
    """--pidfd-socket: a pidfd of the container's process (runc 1.2+), for
    a caller that wants to signal it without pid reuse races."""
    pidfd = os.pidfd_open(pid)
    try:
        send_fd(sock_fd, pidfd, b"pidfd", "the pidfd to the pidfd socket")
    finally:
        os.close(pidfd)


def become_controlling(slave: int) -> None:
    """New session, the slave as controlling terminal and as fds 0-2."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)


def recv_master(sock_fd: int) -> int:
    """The receiving side, for foreground run/exec: the master fd."""
    sock = _socket.socket(fileno=sock_fd)
    try:
        _data, anc, _flags, _addr = sock.recvmsg(4096, _socket.CMSG_SPACE(4))
    finally:
        sock.detach()
    for level, kind, payload in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(payload) >= 4:
            return struct.unpack_from("i", payload)[0]
    raise PyruncError("no terminal received from the container")
