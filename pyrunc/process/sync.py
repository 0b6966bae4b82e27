"""The sync channel between the parent and the intermediate/init processes:
a SOCK_SEQPACKET socketpair (message boundaries kept, EOF when the peer is
gone), carrying small JSON messages and, where needed, one fd.

_socket is used directly: the socket module's import costs ~20 ms (enum,
selectors) and only socketpair and sendmsg/recvmsg are needed.
"""
from __future__ import annotations

import _socket
import os
import struct

from .. import jsonio
from ..errors import PyruncError, ProcessStartError

_MAX = 1 << 16


class Channel:
    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        # Messages that arrived before the one being waited for: the parent
        # answers requests in its own order (e.g. cgroup-ok before userns-ok).
        self.pending: list[dict] = []

    @classmethod
    def pair(cls) -> tuple[Channel, Channel]:
        a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
        return cls(a), cls(b)

    def fileno(self) -> int:
        return self.sock.fileno()

    def readable(self, timeout: float) -> bool:
        """True once a message (or EOF) is there to read, False after timeout
        seconds of silence."""
        import select

        if self.pending:
            return True
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        return bool(poller.poll(int(timeout * 1000)))

    def send(self, kind: str, fd: int | None = None, **fields: object) -> None:
        fields["type"] = kind
        data = jsonio.dumps(fields).encode()
        try:
            if fd is None:
                self.sock.send(data)
            else:
                self.sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                            struct.pack("i", fd))])
        except OSError as err:
            raise PyruncError(f"sync channel: send {kind}: {err.strerror}") from None

    def recv(self) -> tuple[dict, int | None] | None:
        """The next message and the fd it carried, or None at EOF."""
        try:
            data, anc, _flags, _addr = self.sock.recvmsg(_MAX, _socket.CMSG_SPACE(4))
        except InterruptedError:
            return self.recv()
        except OSError as err:
            raise PyruncError(f"sync channel: receive: {err.strerror}") from None
        if not data:
            return None
        fd = None
        for level, kind, payload in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(payload) >= 4:
                fd = struct.unpack_from("i", payload)[0]
        return jsonio.loads(data), fd  # type: ignore[return-value]

    def expect(self, kind: str) -> dict:
        """Wait for a message of this kind, keeping others for later; an error
        message or EOF raises."""
        for i, msg in enumerate(self.pending):
            if msg.get("type") == kind:
                return self.pending.pop(i)
        while True:
            got = self.recv()
            if got is None:
                raise ProcessStartError("the other side of the sync channel exited "
                                        f"(waiting for {kind!r})")
            msg = got[0]
            if msg.get("type") == "error":
                raise ProcessStartError(str(msg.get("msg", "unknown error")))
            if msg.get("type") == kind:
                return msg
            self.pending.append(msg)

    def expect_any(self) -> dict:
        """The next message, whatever its kind; an error message or EOF raises."""
        if self.pending:
            return self.pending.pop(0)
        got = self.recv()
        if got is None:
            raise ProcessStartError("container init exited during setup")
        msg, fd = got
        if msg.get("type") == "error":
            raise ProcessStartError(str(msg.get("msg", "unknown error")))
        if fd is not None:
            msg["fd"] = fd
        return msg

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def child_fail(chan: Channel, err: BaseException) -> None:
    """Report an error from a child process and exit it (never return)."""
    if isinstance(err, PyruncError):
        msg = str(err)
    elif isinstance(err, OSError):
        msg = f"{err.strerror or err}" + (f": {err.filename}" if err.filename else "")
    else:
        msg = f"{type(err).__name__}: {err}"
    try:
        chan.send("error", msg=msg)
    except BaseException:  # noqa: BLE001 - the parent gone, or a signal: exit all the same
        pass
    os._exit(1)
