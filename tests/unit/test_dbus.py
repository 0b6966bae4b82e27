"""pyrunc.linux.dbus: the wire format against bytes worked out by hand from
the D-Bus Specification ("Marshaling (Wire Format)", "Message Format"), and
the client against a fake bus (a thread serving a unix socket in tmp_path):
authentication, Hello, a call, an error reply, signals, deadlines."""
from __future__ import annotations

import os
import socket
import struct
import threading
import time

import pytest

from pyrunc.linux import dbus


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def s(text: str) -> bytes:
    """An s/o value without its leading alignment: length, bytes, NUL."""
    return u32(len(text)) + text.encode() + b"\0"


def g(text: str) -> bytes:
    return bytes([len(text)]) + text.encode() + b"\0"


# --- exact bytes --------------------------------------------------------------------

def test_hello_call_bytes():
    # The Hello every client sends first; libdbus' is byte for byte the same.
    expected = (
        b"l\x01\x00\x01" + u32(0) + u32(1)         # little, METHOD_CALL, flags, v1, body, serial
        + u32(109)                                 # header fields array length (16..125)
        # offset 16: (y PATH, v o)
        + b"\x01" + g("o") + s("/org/freedesktop/DBus")      # 16..46
        + b"\0\0"                                  # struct alignment to 48
        + b"\x02" + g("s") + s("org.freedesktop.DBus")       # 48..77
        + b"\0\0\0"                                # to 80
        + b"\x03" + g("s") + s("Hello")            # 80..94
        + b"\0\0"                                  # to 96
        + b"\x06" + g("s") + s("org.freedesktop.DBus")       # 96..125
        + b"\0\0\0"                                # header padded to 128; no body
    )
    got = dbus.encode_call(1, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus", "Hello")
    assert got == expected
    assert len(got) == 128 and got[12] == ord("m")  # the well-known "l\1\0\1...m" prefix


def test_start_transient_unit_body_bytes():
    body = dbus.marshal("ssa(sv)a(sa(sv))", (
        "x.scope", "replace",
        [("Delegate", ("b", True)), ("PIDs", ("au", [1234]))],
        []))
    expected = (
        s("x.scope")                       # 0..12
        + s("replace")                     # 12..24
        + u32(48) + b"\0\0\0\0"            # a(sv): length at 24, padding to 32 not counted
        + s("Delegate")                    # 32..45
        + g("b")                           # 45..48
        + u32(1)                           # b as u32: 48..52
        + b"\0\0\0\0"                      # next struct at 56
        + s("PIDs")                        # 56..65
        + g("au")                          # 65..69
        + b"\0\0\0"                        # au's length aligned to 72
        + u32(4) + u32(1234)               # 72..80: the array ends at 80 = 32 + 48
        + u32(0) + b"\0\0\0\0"             # a(sa(sv)) empty: length at 80, padding to 88
    )
    assert body == expected
    assert dbus.unmarshal("ssa(sv)a(sa(sv))", body) == [
        "x.scope", "replace", [("Delegate", ("b", True)), ("PIDs", ("au", [1234]))], []]


def test_set_unit_properties_with_ay_and_a_ss():
    body = dbus.marshal("sba(sv)", ("u.scope", True, [
        ("AllowedCPUs", ("ay", b"\x3a")),
        ("DeviceAllow", ("a(ss)", [("char-*", "m")])),
        ("MemoryMax", ("t", 1 << 26)),
    ]))
    expected = (
        s("u.scope")                       # 0..12
        + u32(1)                           # 12..16
        + u32(120) + b"\0\0\0\0"           # length at 16; elements from 24 to 144
        + s("AllowedCPUs") + g("ay")       # 24..40, 40..44
        + u32(1) + b"\x3a"                 # 44..49
        + b"\0" * 7                        # next struct at 56
        + s("DeviceAllow") + g("a(ss)")    # 56..72, 72..79
        + b"\0"                            # a(ss)'s length aligned to 80
        + u32(18) + b"\0\0\0\0"            # 80..84, padding to its first struct at 88
        + s("char-*")                      # 88..99
        + b"\0" + s("m")                   # 100..106: the array ends at 88 + 18
        + b"\0" * 6                        # next struct at 112
        + s("MemoryMax") + g("t")          # 112..126, 126..129
        + b"\0" * 7                        # t aligned to 136
        + struct.pack("<Q", 1 << 26)       # 136..144
    )
    assert body == expected
    assert dbus.unmarshal("sba(sv)", body)[2][2] == ("MemoryMax", ("t", 1 << 26))


# --- alignment --------------------------------------------------------------------------

@pytest.mark.parametrize(("sig", "values", "expected"), [
    # an empty array still pads to its element's alignment; the length is 0
    ("at", [[]], u32(0) + b"\0\0\0\0"),
    ("yat", [7, []], b"\x07\0\0\0" + u32(0)),
    ("yat", [7, [5]], b"\x07\0\0\0" + u32(8) + struct.pack("<Q", 5)),
    ("ay", [b""], u32(0)),
    ("a(y)", [[(1,), (2,)]], u32(9) + b"\0\0\0\0" + b"\x01" + b"\0" * 7 + b"\x02"),
    # a variant's value is aligned relative to the message, not the variant
    ("yv", [1, ("t", 2)], b"\x01" + g("t") + b"\0\0\0\0" + struct.pack("<Q", 2)),
    ("vv", [("y", 1), ("s", "a")], g("y") + b"\x01" + g("s") + b"\0" + s("a")),
    ("y(y)", [1, (2,)], b"\x01" + b"\0" * 7 + b"\x02"),
    ("yn", [1, -2], b"\x01\0\xfe\xff"),
    ("yqi", [1, 2, -1], b"\x01\0\x02\0" + b"\xff" * 4),
    ("yx", [1, -1], b"\x01" + b"\0" * 7 + b"\xff" * 8),
    ("d", [1.5], struct.pack("<d", 1.5)),
    ("g", ["a(sv)"], g("a(sv)")),
    ("o", ["/"], s("/")),
    ("bb", [False, True], u32(0) + u32(1)),
    ("a{sv}", [{"k": ("u", 3)}],
     u32(16) + b"\0\0\0\0" + s("k") + g("u") + b"\0\0\0" + u32(3)),
])
def test_marshal_layout(sig, values, expected):
    assert dbus.marshal(sig, values) == expected


def test_marshal_at_offset_pads_from_the_message_start():
    assert dbus.marshal("t", [1], start=4) == b"\0\0\0\0" + struct.pack("<Q", 1)
    assert dbus.marshal("y", [1], start=3) == b"\x01"
    assert dbus.unmarshal("t", b"\0" * 4 + dbus.marshal("t", [9], start=4), start=4) == [9]


@pytest.mark.parametrize(("sig", "values"), [
    ("ybnqiuxtd", [255, True, -32768, 65535, -2**31, 2**32 - 1, -2**63, 2**64 - 1, -0.25]),
    ("sog", ["h\u00e9", "/org/x", "a{sv}"]),
    ("as", [["", "a", "bc"]]),
    ("aay", [[b"", b"\x00\x01", b"xyz"]]),
    ("a(ss)", [[("char-*", "m"), ("/dev/null", "rwm")]]),
    ("a(sa(sv))", [[("x", [("A", ("b", False))]), ("y", [])]]),
    ("a{sa{sv}}", [{"a": {"x": ("as", ["1"])}, "b": {}}]),
    ("v", [("a(ss)", [("a", "b")])]),
    ("v", [("v", ("t", 5))]),
    ("(yv)(tt)", [(1, ("o", "/")), (2, 3)]),
    ("ssa(sv)a(sa(sv))", ["u.scope", "replace", [
        ("Description", ("s", "d")), ("PIDs", ("au", [1, 2])), ("Delegate", ("b", True)),
        ("MemoryMax", ("t", 2**64 - 1)), ("AllowedCPUs", ("ay", b"\x01\x02")),
        ("DeviceAllow", ("a(ss)", [])), ("Wants", ("as", ["system.slice"]))], []]),
])
def test_round_trip(sig, values):
    for start in (0, 8, 16):
        data = dbus.marshal(sig, values, start=start)
        assert dbus.unmarshal(sig, b"\0" * start + data, start=start) == values


def test_signature_split_and_validation():
    assert dbus.split_signature("ssa(sv)a(sa(sv))") == ("s", "s", "a(sv)", "a(sa(sv))")
    assert dbus.split_signature("a{sa{sv}}b") == ("a{sa{sv}}", "b")
    assert dbus.split_signature("") == ()
    for bad in ("a", "(", "()", "(s", "a{vs}", "a{s}", "a{sss}", "{ss}", "h", "z", "a" * 33 + "y",
                "(" * 33 + "y" + ")" * 33):
        with pytest.raises(ValueError):
            dbus.split_signature(bad)
    with pytest.raises(ValueError, match="exactly one complete type"):
        dbus.marshal("v", [("ss", ("a", "b"))])
    with pytest.raises(ValueError, match="needs 2 values"):
        dbus.marshal("ss", ["a"])


@pytest.mark.parametrize(("sig", "data"), [
    ("s", u32(1) + b"ab"),                   # not NUL-terminated
    ("b", u32(2)),                           # booleans are 0 or 1
    ("ay", u32(10) + b"abc"),                # array past the end
    ("yt", b"\x01\x01\0\0\0\0\0\0" + b"\0" * 8),  # non-zero padding
    ("u", b"\0\0"),                          # short
    ("s", u32(1) + b"\xff\0"),               # not UTF-8
    ("y", b"\x01\x02"),                      # more than the signature
])
def test_unmarshal_rejects_malformed(sig, data):
    with pytest.raises(ValueError, match="malformed"):
        dbus.unmarshal(sig, data)


def test_decode_big_endian_reply():
    # A METHOD_RETURN to serial 7 from a big-endian peer, body "o".
    body = struct.pack(">I", 4) + b"/a/b\0"
    fields = (
        b"\x05" + g("u") + struct.pack(">I", 7)            # 16..24 REPLY_SERIAL
        + b"\x08" + g("g") + g("o")                        # 24..31 SIGNATURE "o"
    )
    head = b"B\x02\x00\x01" + struct.pack(">II", len(body), 3) + struct.pack(">I", len(fields))
    msg = head + fields + b"\0" + body                    # header padded to 32
    assert dbus.frame_length(msg) == len(msg)
    m = dbus.decode_message(msg)
    assert (m.type, m.serial, m.reply_serial, m.body) == (dbus.METHOD_RETURN, 3, 7, ["/a/b"])
    assert dbus.unmarshal("ayq", b"\0\0\0\x02\x01\x02\x00\x05", big_endian=True) == [
        b"\x01\x02", 5]


def test_decode_little_endian_signal_round_trip():
    data = dbus.encode_message(dbus.SIGNAL, 9, [
        (dbus.PATH, ("o", "/org/freedesktop/systemd1")),
        (dbus.INTERFACE, ("s", "org.freedesktop.systemd1.Manager")),
        (dbus.MEMBER, ("s", "JobRemoved")), (dbus.SENDER, ("s", ":1.0")),
        (dbus.SIGNATURE, ("g", "uoss"))], "uoss", (5, "/j/5", "x.scope", "done"))
    assert dbus.frame_length(data) == len(data)
    m = dbus.decode_message(data)
    assert (m.member, m.fields[dbus.SENDER], m.body) == (
        "JobRemoved", ":1.0", [5, "/j/5", "x.scope", "done"])
    with pytest.raises(ValueError, match="body length"):
        dbus.decode_message(data + b"\0")
    short_sig = data.replace(b"\x04uoss\0", b"\x04uosy\0")  # the body is longer
    with pytest.raises(ValueError, match="8 bytes left over"):
        dbus.decode_message(short_sig)


def test_parse_address():
    assert dbus.parse_address("unix:path=/run/dbus/system_bus_socket") == \
        "/run/dbus/system_bus_socket"
    assert dbus.parse_address("unix:path=/run/user/1000/bus,guid=00ff") == "/run/user/1000/bus"
    assert dbus.parse_address("tcp:host=x,port=1;unix:abstract=/tmp/dbus-x") == "\0/tmp/dbus-x"
    assert dbus.parse_address("unix:path=/tmp/a%20b") == "/tmp/a b"
    with pytest.raises(dbus.BusError, match="no unix:path="):
        dbus.parse_address("tcp:host=localhost,port=1")
    with pytest.raises(dbus.BusError, match="no unix:path="):
        dbus.parse_address("unix:path=/tmp/%zz")


def test_bus_addresses_from_environment(monkeypatch):
    monkeypatch.delenv("DBUS_SYSTEM_BUS_ADDRESS", raising=False)
    assert dbus.system_bus_address() == "unix:path=/run/dbus/system_bus_socket"
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/x")
    assert dbus.system_bus_address() == "unix:path=/x"


# --- a fake bus -------------------------------------------------------------------------

class FakeBus:
    """Serves one connection on a unix socket: checks the authentication,
    then hands each message to `handler`, which returns the bytes to send."""

    def __init__(self, path: str, handler, auth_reply: bytes = b"OK 0123456789abcdef\r\n",
                 answer_auth: bool = True) -> None:
        self.path = path
        self.handler = handler
        self.auth_reply = auth_reply
        self.answer_auth = answer_auth
        self.auth_line = b""
        self.received: list[dbus.Message] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            buf = b""
            while b"\r\n" not in buf:
                buf += conn.recv(4096)
            self.auth_line, buf = buf.split(b"\r\n", 1)
            if not self.answer_auth:
                conn.recv(1)  # until the client gives up
                return
            conn.sendall(self.auth_reply)
            if not self.auth_reply.startswith(b"OK"):
                return
            while not buf.startswith(b"BEGIN\r\n"):
                buf += conn.recv(4096)
            buf = buf[len(b"BEGIN\r\n"):]
            while True:
                while len(buf) < 16 or len(buf) < dbus.frame_length(buf):
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                n = dbus.frame_length(buf)
                msg = dbus.decode_message(buf[:n])
                buf = buf[n:]
                self.received.append(msg)
                out = self.handler(msg)
                if out is None:
                    return  # hang up
                conn.sendall(out)

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


def reply(msg: dbus.Message, sig: str = "", args=(), serial: int = 100) -> bytes:
    fields = [(dbus.REPLY_SERIAL, ("u", msg.serial)), (dbus.SENDER, ("s", "org.x"))]
    if sig:
        fields.append((dbus.SIGNATURE, ("g", sig)))
    return dbus.encode_message(dbus.METHOD_RETURN, serial, fields, sig, args)


def error(msg: dbus.Message, name: str, text: str) -> bytes:
    return dbus.encode_message(dbus.ERROR, 101, [
        (dbus.REPLY_SERIAL, ("u", msg.serial)), (dbus.ERROR_NAME, ("s", name)),
        (dbus.SIGNATURE, ("g", "s"))], "s", (text,))


def job_removed(job: str, unit: str, result: str = "done", serial: int = 102) -> bytes:
    return dbus.encode_message(dbus.SIGNAL, serial, [
        (dbus.PATH, ("o", "/org/freedesktop/systemd1")),
        (dbus.INTERFACE, ("s", "org.freedesktop.systemd1.Manager")),
        (dbus.MEMBER, ("s", "JobRemoved")), (dbus.SENDER, ("s", ":1.0")),
        (dbus.SIGNATURE, ("g", "uoss"))], "uoss", (7, job, unit, result))


def systemd(msg: dbus.Message) -> bytes | None:
    """A little of org.freedesktop.DBus and systemd's manager."""
    if msg.member == "Hello":
        return reply(msg, "s", (":1.42",))
    if msg.member == "AddMatch":
        return reply(msg)
    if msg.member == "StartTransientUnit":
        name = msg.body[0]
        if name == "exists.scope":
            return error(msg, "org.freedesktop.systemd1.UnitExists",
                         f"Unit {name} was already loaded or has a fragment file.")
        # JobRemoved first, as can happen: the waiter must find it later.
        return (job_removed("/org/freedesktop/systemd1/job/9", "other.scope", serial=103)
                + job_removed("/org/freedesktop/systemd1/job/8", name)
                + reply(msg, "o", ("/org/freedesktop/systemd1/job/8",)))
    if msg.member == "Get":
        # A big-endian peer: "v" holding "s".
        body = b"\x01s\0\0" + struct.pack(">I", 3) + b"252\0"
        fields = (b"\x05" + g("u") + struct.pack(">I", msg.serial)
                  + b"\x08" + g("g") + g("v"))
        return (b"B\x02\x00\x01" + struct.pack(">III", len(body), 5, len(fields))
                + fields + b"\0" + body)
    if msg.member == "Hang":
        return b""
    if msg.member == "Close":
        return None
    return error(msg, "org.freedesktop.DBus.Error.UnknownMethod", f"no {msg.member}")


@pytest.fixture
def bus_path(tmp_path):
    return str(tmp_path / "bus")


def test_auth_hello_call_error_signals(bus_path):
    fake = FakeBus(bus_path, systemd)
    try:
        with dbus.connect(f"unix:path={bus_path}", uid=1000, timeout=5) as conn:
            assert fake.auth_line == b"\0AUTH EXTERNAL 31303030"
            hello = fake.received[0]
            assert (hello.member, hello.path, hello.fields[dbus.DESTINATION]) == (
                "Hello", "/org/freedesktop/DBus", "org.freedesktop.DBus")
            conn.add_match("type='signal',member='JobRemoved'")
            assert fake.received[1].body == ["type='signal',member='JobRemoved'"]

            props = [("PIDs", ("au", [os.getpid()])), ("Delegate", ("b", True))]
            job = conn.call("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                            "org.freedesktop.systemd1.Manager", "StartTransientUnit",
                            "ssa(sv)a(sa(sv))", ("c1.scope", "replace", props, []))
            assert job == ["/org/freedesktop/systemd1/job/8"]
            assert fake.received[2].body == ["c1.scope", "replace", props, []]
            assert fake.received[2].fields[dbus.SIGNATURE] == "ssa(sv)a(sa(sv))"
            assert len(conn.signals) == 2  # arrived before the reply
            sig = conn.wait_signal(lambda m: m.member == "JobRemoved" and m.body[1] == job[0],
                                   timeout=1)
            assert sig.body == [7, job[0], "c1.scope", "done"]
            assert [m.body[2] for m in conn.signals] == ["other.scope"]

            with pytest.raises(dbus.DBusError) as err:
                conn.call("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                          "org.freedesktop.systemd1.Manager", "StartTransientUnit",
                          "ssa(sv)a(sa(sv))", ("exists.scope", "replace", [], []))
            assert err.value.name == "org.freedesktop.systemd1.UnitExists"
            assert err.value.message.startswith("Unit exists.scope was already loaded")
            assert str(err.value).startswith("org.freedesktop.systemd1.UnitExists: Unit ")

            version = conn.call("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                "org.freedesktop.DBus.Properties", "Get", "ss",
                                ("org.freedesktop.systemd1.Manager", "Version"))
            assert version == [("s", "252")]
            serials = [m.serial for m in fake.received]
            assert serials == sorted(set(serials)) and serials[0] == 1
    finally:
        fake.close()


def test_deadlines(bus_path):
    fake = FakeBus(bus_path, systemd)
    try:
        conn = dbus.connect(f"unix:path={bus_path}", timeout=5)
        t0 = time.monotonic()
        with pytest.raises(dbus.BusTimeout, match=f"the system bus at {bus_path}: timed out "
                           "waiting for the reply to x.Hang"):
            conn.call("d", "/", "x", "Hang", timeout=0.2)
        with pytest.raises(dbus.BusTimeout, match="timed out waiting for JobRemoved"):
            conn.wait_signal(lambda m: False, 0.2, "JobRemoved")
        assert time.monotonic() - t0 < 2
        with pytest.raises(dbus.BusError, match="closed while waiting for the reply to x.Close"):
            conn.call("d", "/", "x", "Close", timeout=5)
        conn.close()
        with pytest.raises(dbus.BusError, match="connection closed"):
            conn.call("d", "/", "x", "Hang", timeout=1)
    finally:
        fake.close()


def test_auth_deadline(bus_path):
    fake = FakeBus(bus_path, systemd, answer_auth=False)
    try:
        t0 = time.monotonic()
        with pytest.raises(dbus.BusTimeout, match="timed out waiting for the authentication"):
            dbus.connect(f"unix:path={bus_path}", timeout=0.2)
        assert time.monotonic() - t0 < 2
    finally:
        fake.close()


def test_auth_rejected(bus_path):
    fake = FakeBus(bus_path, systemd, auth_reply=b"REJECTED EXTERNAL\r\n")
    try:
        with pytest.raises(dbus.BusError, match="refused EXTERNAL authentication as uid 0: "
                           "REJECTED EXTERNAL"):
            dbus.connect(f"unix:path={bus_path}", uid=0, what="the session bus")
    finally:
        fake.close()


def test_connect_error_names_the_bus(tmp_path):
    missing = tmp_path / "nothing"
    with pytest.raises(dbus.BusError) as err:
        dbus.connect(f"unix:path={missing}")
    assert str(err.value) == (f"cannot connect to the system bus at {missing}: "
                              "No such file or directory")


def test_send_deadline_when_the_peer_reads_nothing():
    a, b = socket.socketpair()  # nobody reads `a`
    conn = dbus.Connection(b, "a silent peer")
    try:
        t0 = time.monotonic()
        with pytest.raises(dbus.BusTimeout, match="a silent peer: timed out sending Big"):
            conn.call("d", "/", "x", "Big", "ay", (bytes(8 << 20),), timeout=0.2)
        assert time.monotonic() - t0 < 2
    finally:
        conn.close()
        a.close()
