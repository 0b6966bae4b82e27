"""A minimal D-Bus client: enough to talk to systemd's manager.

Hand-written over `_socket` and `struct`: jeepney costs ~40 ms to import
(typing, re, socket, enum) and dbus-next ~120 ms; this module ~0.5 ms. It is
imported only by the systemd cgroup driver.

What it does (D-Bus Specification, dbus.freedesktop.org/doc/dbus-specification.html):
- "Server Addresses": `unix:path=` and `unix:abstract=` addresses;
- "Authentication Protocol": a NUL byte, `AUTH EXTERNAL <hex of the decimal
  uid>`, `OK <guid>`, `BEGIN` (the server checks SO_PEERCRED; no unix fds are
  negotiated);
- "Message Bus Messages": `Hello` on a bus (not on a direct connection such as
  systemd's /run/systemd/private) and `AddMatch`;
- "Marshaling (Wire Format)": the types y b n q i u x t d s o g, arrays,
  structs, dict entries and variants. Sent little-endian; received in either
  byte order;
- method calls matched to their reply by serial. An ERROR reply becomes a
  DBusError. Signals that arrive meanwhile are kept in `Connection.signals`:
  systemd's JobRemoved for a job may come before the reply that names the job.

Nothing waits without an end: the authentication, every call and every wait
for a signal take a deadline, and running past it raises BusTimeout.

Values in Python: y n q i u x t -> int, b -> bool, d -> float, s o g -> str,
an array -> list (`ay` -> bytes; bytes are accepted when sending), a{..} ->
dict (a dict or a list of pairs when sending), a struct -> tuple, a variant
-> (signature, value).
"""
from __future__ import annotations

import _socket
import os
import struct
from time import monotonic as _monotonic

from ..errors import PyruncError

SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket"
BUS_NAME = "org.freedesktop.DBus"
BUS_PATH = "/org/freedesktop/DBus"

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4

# Header field codes ("Message Format": Header Fields).
PATH, INTERFACE, MEMBER, ERROR_NAME, REPLY_SERIAL, DESTINATION, SENDER, SIGNATURE = range(1, 9)
_FIELD_TYPES = {PATH: "o", INTERFACE: "s", MEMBER: "s", ERROR_NAME: "s", REPLY_SERIAL: "u",
                DESTINATION: "s", SENDER: "s", SIGNATURE: "g", 9: "u"}

_MAX_MESSAGE = 128 << 20   # the spec's maximum message size
_MAX_ARRAY = 64 << 20      # and array length in bytes
_ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8,
          "s": 4, "o": 4, "g": 1, "v": 1, "a": 4, "(": 8, "{": 8}
_FIXED = {"y": "B", "b": "I", "n": "h", "q": "H", "i": "i", "u": "I", "x": "q", "t": "Q",
          "d": "d"}
_SIZE = {"B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "q": 8, "Q": 8, "d": 8}
_MAX_KEPT_SIGNALS = 1000  # a busy host sends JobRemoved for every job
_BASIC = frozenset("ybnqiuxtdsog")


class BusError(PyruncError):
    """The bus could not be reached or spoke nonsense. The message names the
    address."""


class BusTimeout(BusError):
    """A deadline passed while waiting for the bus."""


class DBusError(PyruncError):
    """An ERROR reply: `name` is the D-Bus error name
    (org.freedesktop.systemd1.NoSuchUnit), `message` the text that came with it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name
        self.message = message


# --- signatures -------------------------------------------------------------

_split_cache: dict[str, tuple[str, ...]] = {}


def split_signature(sig: str) -> tuple[str, ...]:
    """A signature as its complete types: 'sa(sv)b' -> ('s', 'a(sv)', 'b').
    ValueError if it is not a valid signature."""
    types = _split_cache.get(sig)
    if types is None:
        if len(sig) > 255:
            raise ValueError(f"D-Bus signature longer than 255: {sig!r}")
        out, i = [], 0
        while i < len(sig):
            j = _complete_type(sig, i, 0, 0)
            out.append(sig[i:j])
            i = j
        types = _split_cache[sig] = tuple(out)
    return types


def _complete_type(sig: str, i: int, arrays: int, structs: int) -> int:
    """The end of the complete type starting at sig[i]."""
    if i >= len(sig):
        raise ValueError(f"D-Bus signature ends inside a type: {sig!r}")
    c = sig[i]
    if c in _BASIC or c == "v":
        return i + 1
    if c == "a":
        if arrays >= 32:
            raise ValueError(f"D-Bus signature nests arrays deeper than 32: {sig!r}")
        if sig.startswith("{", i + 1):
            # A dict entry: only as an array's element, a basic key and one value.
            if i + 2 >= len(sig) or sig[i + 2] not in _BASIC:
                raise ValueError(f"D-Bus dict entry key must be a basic type: {sig!r}")
            end = _complete_type(sig, i + 3, arrays + 1, structs + 1)
            if end >= len(sig) or sig[end] != "}":
                raise ValueError(f"D-Bus dict entry must have two types: {sig!r}")
            return end + 1
        return _complete_type(sig, i + 1, arrays + 1, structs)
    if c == "(":
        if structs >= 32:
            raise ValueError(f"D-Bus signature nests structs deeper than 32: {sig!r}")
        j = i + 1
        if sig.startswith(")", j):
            raise ValueError(f"D-Bus struct with no fields: {sig!r}")
        while j < len(sig) and sig[j] != ")":
            j = _complete_type(sig, j, arrays, structs + 1)
        if j >= len(sig):
            raise ValueError(f"D-Bus struct not closed: {sig!r}")
        return j + 1
    raise ValueError(f"unsupported D-Bus type code {c!r} in {sig!r}")


# --- marshalling ----------------------------------------------------------------

def marshal(sig: str, values, start: int = 0) -> bytes:
    """Values of the signature (a sequence, one per complete type), little-endian.
    `start` is the offset in the message the bytes go to: alignment is
    relative to the message's start (a body starts at 0, being 8-aligned)."""
    types = split_signature(sig)
    values = tuple(values)
    if len(values) != len(types):
        raise ValueError(f"signature {sig!r} needs {len(types)} values, got {len(values)}")
    buf = bytearray(start)
    for t, v in zip(types, values):
        _put(buf, t, v)
    return bytes(buf[start:])


def _pad(buf: bytearray, n: int) -> None:
    buf += b"\0" * (-len(buf) % n)


def _put(buf: bytearray, t: str, v) -> None:
    c = t[0]
    _pad(buf, _ALIGN[c])
    fmt = _FIXED.get(c)
    if fmt is not None:
        if c == "b":
            v = 1 if v else 0
        buf += struct.pack("<" + fmt, v)
    elif c == "s" or c == "o":
        data = v.encode()
        buf += struct.pack("<I", len(data))
        buf += data
        buf += b"\0"
    elif c == "g":
        data = v.encode()
        if len(data) > 255:
            raise ValueError(f"D-Bus signature longer than 255: {v!r}")
        buf.append(len(data))
        buf += data
        buf += b"\0"
    elif c == "v":
        inner, value = v
        if len(split_signature(inner)) != 1:
            raise ValueError(f"a variant holds exactly one complete type, not {inner!r}")
        _put(buf, "g", inner)
        _put(buf, inner, value)
    elif c == "a":
        elem = t[1:]
        at = len(buf)
        buf += b"\0\0\0\0"
        # Padding up to the first element is there even for an empty array
        # and is not counted in the length.
        _pad(buf, _ALIGN[elem[0]])
        first = len(buf)
        if elem == "y":
            buf += bytes(v)
        elif elem[0] == "{":
            kt, vt = split_signature(elem[1:-1])
            for key, value in (v.items() if isinstance(v, dict) else v):
                _pad(buf, 8)
                _put(buf, kt, key)
                _put(buf, vt, value)
        else:
            for item in v:
                _put(buf, elem, item)
        length = len(buf) - first
        if length > _MAX_ARRAY:
            raise ValueError(f"D-Bus array longer than 64 MiB ({length} bytes)")
        struct.pack_into("<I", buf, at, length)
    elif c == "(":
        fields = split_signature(t[1:-1])
        v = tuple(v)
        if len(v) != len(fields):
            raise ValueError(f"struct {t} needs {len(fields)} values, got {len(v)}")
        for ft, item in zip(fields, v):
            _put(buf, ft, item)
    else:
        raise ValueError(f"unsupported D-Bus type {t!r}")


class _Reader:
    """Unmarshals from `data`; offsets are the message's (alignment)."""

    __slots__ = ("data", "pos", "order")

    def __init__(self, data, pos: int, order: str) -> None:
        self.data = data
        self.pos = pos
        self.order = order  # "<" or ">"

    def _align(self, n: int) -> None:
        pos = self.pos + (-self.pos % n)
        if any(self.data[self.pos:pos]):
            raise ValueError("non-zero alignment padding")
        self.pos = pos

    def _fixed(self, fmt: str):
        v = struct.unpack_from(self.order + fmt, self.data, self.pos)[0]
        self.pos += _SIZE[fmt]
        return v

    def _text(self, n: int) -> str:
        end = self.pos + n
        if end >= len(self.data) or self.data[end] != 0:
            raise ValueError("string not NUL-terminated")
        text = bytes(self.data[self.pos:end]).decode()
        self.pos = end + 1
        return text

    def get(self, t: str):
        c = t[0]
        self._align(_ALIGN[c])
        fmt = _FIXED.get(c)
        if fmt is not None:
            v = self._fixed(fmt)
            if c == "b":
                if v > 1:
                    raise ValueError(f"boolean value {v}")
                return v == 1
            return v
        if c == "s" or c == "o":
            return self._text(self._fixed("I"))
        if c == "g":
            n = self.data[self.pos]
            self.pos += 1
            return self._text(n)
        if c == "v":
            inner = self.get("g")
            if len(split_signature(inner)) != 1:
                raise ValueError(f"variant signature {inner!r}")
            return (inner, self.get(inner))
        if c == "a":
            n = self._fixed("I")
            if n > _MAX_ARRAY:
                raise ValueError(f"array of {n} bytes")
            elem = t[1:]
            self._align(_ALIGN[elem[0]])
            end = self.pos + n
            if end > len(self.data):
                raise ValueError("array runs past the message")
            if elem == "y":
                self.pos = end
                return bytes(self.data[end - n:end])
            if elem[0] == "{":
                kt, vt = split_signature(elem[1:-1])
                out = {}
                while self.pos < end:
                    self._align(8)
                    key = self.get(kt)
                    out[key] = self.get(vt)
            else:
                out = []
                while self.pos < end:
                    out.append(self.get(elem))
            if self.pos != end:
                raise ValueError("array elements run past its length")
            return out
        if c == "(":
            return tuple(self.get(ft) for ft in split_signature(t[1:-1]))
        raise ValueError(f"unsupported D-Bus type {t!r}")


def unmarshal(sig: str, data, start: int = 0, big_endian: bool = False) -> list:
    """The values of `sig` in data[start:], which they must fill exactly;
    `start` is where they begin in the message (alignment)."""
    r = _Reader(data, start, ">" if big_endian else "<")
    try:
        values = [r.get(t) for t in split_signature(sig)]
        if r.pos != len(data):
            raise ValueError(f"{len(data) - r.pos} bytes left over")
    except (ValueError, struct.error, IndexError, UnicodeDecodeError) as err:
        raise ValueError(f"malformed D-Bus data for {sig!r}: {err}") from None
    return values


# --- messages -----------------------------------------------------------------------

class Message:
    """A received message: its type, flags, serial, header fields (code ->
    value) and body values."""

    __slots__ = ("type", "flags", "serial", "fields", "body")

    def __init__(self, type: int, flags: int, serial: int, fields: dict, body: list) -> None:
        self.type = type
        self.flags = flags
        self.serial = serial
        self.fields = fields
        self.body = body

    @property
    def path(self) -> str | None:
        return self.fields.get(PATH)

    @property
    def interface(self) -> str | None:
        return self.fields.get(INTERFACE)

    @property
    def member(self) -> str | None:
        return self.fields.get(MEMBER)

    @property
    def reply_serial(self) -> int | None:
        return self.fields.get(REPLY_SERIAL)

    def __repr__(self) -> str:
        return f"Message({self.type}, {self.serial}, {self.fields!r}, {self.body!r})"


def encode_call(serial: int, destination: str | None, path: str, interface: str | None,
                member: str, sig: str = "", args=(), flags: int = 0) -> bytes:
    """A METHOD_CALL message, little-endian. Header fields in the order PATH,
    INTERFACE, MEMBER, DESTINATION, SIGNATURE."""
    fields = [(PATH, ("o", path))]
    if interface:
        fields.append((INTERFACE, ("s", interface)))
    fields.append((MEMBER, ("s", member)))
    if destination:
        fields.append((DESTINATION, ("s", destination)))
    if sig:
        fields.append((SIGNATURE, ("g", sig)))
    return encode_message(METHOD_CALL, serial, fields, sig, args, flags)


def encode_message(type: int, serial: int, fields: list, sig: str = "", args=(),
                   flags: int = 0) -> bytes:
    """Header `yyyyuua(yv)`, padding to 8, body. `fields` are (code, (signature,
    value)) pairs."""
    body = marshal(sig, args) if sig else b""
    if len(body) > _MAX_MESSAGE:
        raise ValueError(f"D-Bus message body of {len(body)} bytes")
    head = bytearray(struct.pack("<cBBBII", b"l", type, flags, 1, len(body), serial))
    _put(head, "a(yv)", fields)
    _pad(head, 8)
    return bytes(head) + body


def frame_length(buf) -> int:
    """The whole message's length from its first 16 bytes."""
    if buf[0] not in b"lB":
        raise ValueError(f"endianness byte {buf[0]!r}")
    order = "<" if buf[0] == ord("l") else ">"
    body_len, fields_len = struct.unpack_from(order + "I4xI", buf, 4)
    total = 16 + fields_len + (-(16 + fields_len) % 8) + body_len
    if total > _MAX_MESSAGE:
        raise ValueError(f"message of {total} bytes")
    return total


def decode_message(data) -> Message:
    """One whole message (frame_length bytes), in either byte order."""
    try:
        order = ">" if data[0] == ord("B") else "<"
        _e, type_, flags, version, body_len, serial = struct.unpack_from(
            order + "cBBBII", data, 0)
        if version != 1:
            raise ValueError(f"protocol version {version}")
        r = _Reader(data, 12, order)
        fields = {}
        for code, (fsig, value) in r.get("a(yv)"):
            want = _FIELD_TYPES.get(code)
            if want is not None and fsig != want:
                raise ValueError(f"header field {code} has type {fsig!r}")
            fields[code] = value
        r._align(8)
        if r.pos + body_len != len(data):
            raise ValueError("body length does not match the frame")
    except (ValueError, struct.error, IndexError, UnicodeDecodeError) as err:
        raise ValueError(f"malformed D-Bus message: {err}") from None
    body = unmarshal(fields.get(SIGNATURE, ""), data, r.pos, order == ">")
    return Message(type_, flags, serial, fields, body)


# --- addresses ----------------------------------------------------------------------

def parse_address(address: str) -> str:
    """The socket path of the first usable `unix:` entry of a D-Bus server
    address ("unix:path=/run/user/0/bus,guid=..." or several joined by ';').
    An abstract socket comes back with its leading NUL."""
    for entry in address.split(";"):
        transport, _, params = entry.partition(":")
        if transport != "unix":
            continue
        for kv in params.split(","):
            key, _, value = kv.partition("=")
            try:
                if key == "path":
                    return _unescape(value)
                if key == "abstract":
                    return "\0" + _unescape(value)
            except ValueError:
                break
    raise BusError(f"no unix:path= or unix:abstract= entry in the D-Bus address {address!r}")


def _unescape(value: str) -> str:
    """Server addresses escape bytes as %xx."""
    if "%" not in value:
        return value
    raw = value.encode()
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == ord("%"):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode()


def system_bus_address() -> str:
    return os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS


# --- the connection -------------------------------------------------------------------

def connect(address: str | None = None, what: str = "the system bus", timeout: float = 5.0,
            hello: bool = True, uid: int | None = None) -> Connection:
    """Connect, authenticate and (on a bus) say Hello, each step within
    `timeout` seconds. `what` names the bus in errors: "cannot connect to the
    system bus at /run/dbus/system_bus_socket: No such file or directory"."""
    path = parse_address(address or system_bus_address())
    where = path.replace("\0", "@")
    sock = None
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        sock.settimeout(timeout)
        sock.connect(path)
    except OSError as err:
        if sock is not None:
            sock.close()
        if isinstance(err, TimeoutError):
            raise BusTimeout(f"cannot connect to {what} at {where}: timed out after "
                             f"{timeout:g} s") from None
        raise BusError(f"cannot connect to {what} at {where}: "
                       f"{err.strerror or err}") from None
    conn = Connection(sock, f"{what} at {where}")
    try:
        conn.authenticate(os.getuid() if uid is None else uid, timeout)
        if hello:  # a bus answers nothing else before it (our unique name is not needed)
            conn.call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello", timeout=timeout)
    except BaseException:
        conn.close()
        raise
    return conn


def _deadline(timeout: float) -> float:
    return _monotonic() + timeout


class Connection:
    """One authenticated stream to a bus (or to a peer such as
    /run/systemd/private). Not thread-safe; one caller at a time."""

    def __init__(self, sock, where: str) -> None:
        self.sock = sock
        self.where = where          # "the system bus at /run/dbus/system_bus_socket"
        self.serial = 0
        self.signals: list[Message] = []  # signals received while waiting for something else
        self._buf = bytearray()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    # --- authentication ---------------------------------------------------------
    def authenticate(self, uid: int, timeout: float = 5.0) -> None:
        """SASL EXTERNAL with the uid as decimal text, hex-encoded (uid 0 -> 30)."""
        deadline = _deadline(timeout)
        self._send(b"\0AUTH EXTERNAL " + str(uid).encode().hex().encode() + b"\r\n",
                   deadline, "the authentication")
        line = self._line(deadline, "the authentication")
        if not line.startswith(b"OK "):
            reply = line.decode(errors="replace")
            raise BusError(f"{self.where} refused EXTERNAL authentication as uid {uid}: "
                           f"{reply}")
        self._send(b"BEGIN\r\n", deadline, "the authentication")

    def _line(self, deadline: float, waiting_for: str) -> bytes:
        while True:
            end = self._buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[:end + 2]
                return line
            if len(self._buf) > 16384:
                raise BusError(f"{self.where}: authentication line too long")
            self._fill(deadline, waiting_for)

    # --- sending and receiving --------------------------------------------------
    def _send(self, data: bytes, deadline: float, what: str) -> None:
        if self.sock is None:
            raise BusError(f"{self.where}: connection closed")
        try:
            # A bus that reads nothing must not block us either.
            self.sock.settimeout(max(deadline - _monotonic(), 0.001))
            self.sock.sendall(data)
        except TimeoutError:
            raise BusTimeout(f"{self.where}: timed out sending {what}") from None
        except OSError as err:
            raise BusError(f"{self.where}: send: {err.strerror or err}") from None

    def _fill(self, deadline: float, waiting_for: str) -> None:
        """Read more bytes, waiting at most until the deadline."""
        if self.sock is None:
            raise BusError(f"{self.where}: connection closed")
        left = deadline - _monotonic()
        if left <= 0:
            raise BusTimeout(f"{self.where}: timed out waiting for {waiting_for}")
        try:
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise BusTimeout(f"{self.where}: timed out waiting for {waiting_for}") from None
        except OSError as err:
            raise BusError(f"{self.where}: receive: {err.strerror or err}") from None
        if not chunk:
            raise BusError(f"{self.where}: the connection was closed while waiting for "
                           f"{waiting_for}")
        self._buf += chunk

    def receive(self, deadline: float, waiting_for: str = "a message") -> Message:
        """The next message, waiting at most until `deadline` (monotonic)."""
        while True:
            if len(self._buf) >= 16:
                try:
                    total = frame_length(self._buf)
                except ValueError as err:
                    raise BusError(f"{self.where}: malformed D-Bus message: {err}") from None
                if len(self._buf) >= total:
                    data = bytes(self._buf[:total])
                    del self._buf[:total]
                    try:
                        return decode_message(data)
                    except ValueError as err:
                        raise BusError(f"{self.where}: {err}") from None
            self._fill(deadline, waiting_for)

    def send_call(self, destination: str | None, path: str, interface: str | None,
                  member: str, sig: str = "", args=(), flags: int = 0,
                  timeout: float = 25.0) -> int:
        """Send a method call; its serial."""
        self.serial += 1
        self._send(encode_call(self.serial, destination, path, interface, member, sig, args,
                               flags), _deadline(timeout), member)
        return self.serial

    def call(self, destination: str | None, path: str, interface: str | None, member: str,
             sig: str = "", args=(), timeout: float = 25.0) -> list:
        """Call a method and return the reply's body values. An ERROR reply
        raises DBusError; no reply within `timeout` seconds raises BusTimeout.
        Signals received meanwhile are appended to `signals`."""
        deadline = _deadline(timeout)
        serial = self.send_call(destination, path, interface, member, sig, args,
                                timeout=timeout)
        waiting_for = f"the reply to {interface}.{member}" if interface else \
            f"the reply to {member}"
        while True:
            msg = self.receive(deadline, waiting_for)
            if msg.type == SIGNAL:
                self._keep(msg)
            elif msg.type in (METHOD_RETURN, ERROR) and msg.reply_serial == serial:
                if msg.type == ERROR:
                    text = msg.body[0] if msg.body and isinstance(msg.body[0], str) else ""
                    raise DBusError(msg.fields.get(ERROR_NAME) or "", text)
                return msg.body
            # Anything else (a late reply to an abandoned call, a method
            # call addressed to us) is dropped.

    def wait_signal(self, match, timeout: float, waiting_for: str = "a signal") -> Message:
        """The first signal for which match(message) is true, from those
        already received or the next ones; BusTimeout after `timeout`
        seconds. Non-matching signals are kept."""
        for i, msg in enumerate(self.signals):
            if match(msg):
                del self.signals[i]
                return msg
        deadline = _deadline(timeout)
        while True:
            msg = self.receive(deadline, waiting_for)
            if msg.type != SIGNAL:
                continue
            if match(msg):
                return msg
            self._keep(msg)

    def _keep(self, msg: Message) -> None:
        if len(self.signals) >= _MAX_KEPT_SIGNALS:
            del self.signals[0]
        self.signals.append(msg)

    def add_match(self, rule: str, timeout: float = 25.0) -> None:
        """Ask the bus to route signals matching `rule` to us."""
        self.call(BUS_NAME, BUS_PATH, BUS_NAME, "AddMatch", "s", (rule,), timeout=timeout)
