"""Small network setup without pyroute2 (whose import costs far more than
bringing one interface up): the loopback device of a new network namespace."""
from __future__ import annotations

import _socket
import fcntl
import struct

from ..errors import KernelError

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def loopback_up() -> None:
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        req = struct.pack("16sH22x", b"lo", 0)
        try:
            res = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, req)
            flags = struct.unpack("16sH22x", res)[1]
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))
        except OSError as err:
            raise KernelError("ioctl(SIOCSIFFLAGS)", err.errno, "lo up") from None
    finally:
        sock.close()
