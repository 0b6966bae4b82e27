"""seccomp filters (config-linux.md#configLinuxSeccomp) through libseccomp.

A thin ctypes layer over libseccomp.so.2 rather than a Python binding: the
PyPI binding (pyseccomp 0.1.2) gives no access to the notify fd that
`listenerPath` needs and imports `typing` on the hot path; the official
binding is not on PyPI. The layer is what the spec needs and no more:
actions, errno returns, architectures, filter flags, argument comparisons,
and the listener fd of SCMP_ACT_NOTIFY.

The filter is built in the intermediate (libseccomp must be loaded before the
init leaves the host's mounts; unknown syscall names become warnings for the
parent's log) and loaded by the init as late as the spec allows.
"""
from __future__ import annotations

import errno as _errno
import os as _os
import struct as _struct

from ..errors import ConfigError, KernelError
from . import fileio as _fileio

ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000, "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000,
    "SCMP_ACT_NOTIFY": 0x7FC00000,
}
WITH_ERRNO = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")
ARCHS = ("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
         "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
         "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
         "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
         "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
         "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB")
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
# enum scmp_filter_attr
_ATTR_CTL_NNP = 3
# seccomp(2) SECCOMP_SET_MODE_FILTER flags: pyrunc loads the compiled program
# itself, so these are the kernel's, whatever the libseccomp version.
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": 1,
    "SECCOMP_FILTER_FLAG_LOG": 2,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32,
}
FLAG_NEW_LISTENER = 8
CACHE_DIR = "/var/cache/pyrunc/seccomp"
_NR_SCMP_ERROR = -1


_lib = None
_ArgCmp = None  # struct scmp_arg_cmp, defined with ctypes on first use


def _libseccomp():
    """libseccomp through ctypes, loaded on first use: the tables above are
    also used by the parent (to check a config), which does not load ctypes."""
    global _lib, _ArgCmp
    if _lib is None:
        import ctypes

        class ArgCmp(ctypes.Structure):
            _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                        ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]

        class Version(ctypes.Structure):
            _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint),
                        ("micro", ctypes.c_uint)]

        _ArgCmp = ArgCmp
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError:
            raise ConfigError("linux.seccomp: libseccomp.so.2 is not installed "
                              "(apt-get install libseccomp2)") from None
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
        lib.seccomp_arch_native.restype = ctypes.c_uint32
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(ArgCmp)]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.seccomp_version.restype = ctypes.POINTER(Version)
        _lib = lib
    return _lib


def version() -> tuple[int, int, int]:
    v = _libseccomp().seccomp_version().contents
    return (v.major, v.minor, v.micro)


def action_value(name: str, errno_ret: int | None) -> int:
    base = ACTIONS[name]
    if name in WITH_ERRNO:
        return base | ((_errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    return base


class Rule:
    """One syscall rule with plain values."""

    __slots__ = ("names", "action", "errno_ret", "args")

    def __init__(self, names: list[str], action: str, errno_ret: int | None,
                 args: list[tuple[int, int, int, str]]) -> None:
        self.names = names
        self.action = action
        self.errno_ret = errno_ret
        self.args = args  # (index, value, valueTwo, op)


class Filter:
    """A compiled filter: the BPF program and the seccomp(2) flags to load it with."""

    def __init__(self, bpf: bytes, flags: int, uses_notify: bool) -> None:
        self.bpf = bpf
        self.flags = flags | (FLAG_NEW_LISTENER if uses_notify else 0)
        self.uses_notify = uses_notify

    def load(self) -> int:
        """Install the filter on this process; the notify fd with
        SCMP_ACT_NOTIFY, else -1."""
        from . import syscalls

        fd = syscalls.seccomp_set_filter(self.flags, self.bpf)
        return fd if self.uses_notify else -1


def compile(default_action: str, default_errno: int | None, architectures: list[str],
            flags: list[str] | None, rules: list[Rule]) -> tuple[Filter, list[str]]:
    """The BPF program for a profile, and notes for the debug log.

    libseccomp takes ~15-20 ms to generate the program for a Docker-sized
    profile; the same profile comes with every container of an engine, so
    programs are kept in CACHE_DIR under a hash of everything that shapes
    them (profile, libseccomp version, machine). A cache that cannot be read
    or written is no error: the program is generated again."""
    if flags is None:
        # No flags field at all (not even []): SPEC_ALLOW, runc's default
        # (specconv), which Docker's and Podman's profiles are written for.
        flags = ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    bits = 0
    for flag in flags:
        # TSYNC is for threads; the init has one, so it is dropped (runc too).
        if flag != "SECCOMP_FILTER_FLAG_TSYNC":
            bits |= FLAGS[flag]
    uses_notify = (default_action == "SCMP_ACT_NOTIFY"
                   or any(r.action == "SCMP_ACT_NOTIFY" for r in rules))
    result = Filter(b"", bits, uses_notify)
    # runc's debug line, which its tests read.
    flag_note = f"seccomp filter flags: {result.flags}"
    key = _cache_key(default_action, default_errno, architectures, rules)
    path = f"{CACHE_DIR}/{key}.bpf"
    try:
        with open(path, "rb") as f:
            bpf = f.read()
        if bpf and len(bpf) % 8 == 0:
            result.bpf = bpf
            return result, [f"linux.seccomp: program from {path}", flag_note]
    except OSError:
        pass
    result.bpf, notes = _generate(default_action, default_errno, architectures, rules)
    notes += _store(path, result.bpf)
    return result, notes + [flag_note]


def _cache_key(default_action: str, default_errno: int | None, architectures: list[str],
               rules: list[Rule]) -> str:
    import _sha256

    from .. import __version__, jsonio

    text = jsonio.dumps([default_action, default_errno, architectures,
                         [[r.names, r.action, r.errno_ret, r.args] for r in rules],
                         list(version()), _os.uname().machine, __version__,
                         _PROGRAM_FORMAT])
    return _sha256.sha256(text.encode()).hexdigest()


def _store(path: str, bpf: bytes) -> list[str]:
    try:
        _os.makedirs(CACHE_DIR, 0o700, exist_ok=True)
        _fileio.write_atomic(path, bpf, 0o600)
        return []
    except OSError as err:
        return [f"linux.seccomp: not cached in {CACHE_DIR}: {err.strerror}"]


def _generate(default_action: str, default_errno: int | None, architectures: list[str],
              rules: list[Rule]) -> tuple[bytes, list[str]]:
    """libseccomp builds the program; unknown syscall names are skipped as
    runc skips them, noted for the debug log like runc (profiles name
    syscalls newer than the host's libseccomp, and without --log the
    runtime's stderr is the container's)."""
    import ctypes

    lib = _libseccomp()
    notes: list[str] = []
    ctx = lib.seccomp_init(action_value(default_action, default_errno))
    if not ctx:
        raise ConfigError(f"linux.seccomp.defaultAction: libseccomp refused {default_action}")
    vp = ctypes.c_void_p(ctx)
    try:
        # The config's noNewPrivileges decides no_new_privs, not libseccomp.
        _attr(lib, vp, _ATTR_CTL_NNP, 0, "no_new_privs")
        tokens = [lib.seccomp_arch_native()]  # the architectures the filter covers
        for i, arch in enumerate(architectures):
            token = lib.seccomp_arch_resolve_name(arch[len("SCMP_ARCH_"):].lower().encode())
            if token == 0:
                raise ConfigError(f"linux.seccomp.architectures[{i}]: {arch} is not known "
                                  "to this libseccomp")
            if token not in tokens:
                tokens.append(token)
            res = lib.seccomp_arch_add(vp, token)
            if res < 0 and -res != _errno.EEXIST:
                raise KernelError("seccomp_arch_add", -res, arch)
        default = action_value(default_action, default_errno)
        for i, rule in enumerate(rules):
            action = action_value(rule.action, rule.errno_ret)
            if action == default:
                continue  # libseccomp refuses a rule that repeats the default (runc skips it)
            for name in rule.names:
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr == _NR_SCMP_ERROR:
                    notes.append(f"linux.seccomp.syscalls[{i}]: unknown syscall {name!r} "
                                 "skipped")
                    continue
                for args in _condition_sets(rule.args):
                    cmps = (_ArgCmp * max(1, len(args)))()
                    for j, (index, value, value_two, op) in enumerate(args):
                        cmps[j] = _ArgCmp(index, OPERATORS[op], value, value_two)
                    res = lib.seccomp_rule_add_array(vp, action, nr, len(args), cmps)
                    if res < 0:
                        raise ConfigError(f"linux.seccomp.syscalls[{i}]: cannot add a rule "
                                          f"for {name!r}: {_os.strerror(-res)}")
        bpf = _export(lib, vp)
        if default_action != "SCMP_ACT_ALLOW":
            bpf = _enosys_stub(lib, tokens, "SCMP_ARCH_X32" in architectures, rules) + bpf
        return bpf, notes
    finally:
        lib.seccomp_release(vp)


# Bumped when the programs pyrunc generates change, so that cached ones from
# an older pyrunc are not used (the cache key has this in it).
_PROGRAM_FORMAT = 2

_X32_BIT = 0x40000000
_AUDIT_ARCH_X86_64 = 0xC000003E
_RET_ENOSYS = 0x00050000 | _errno.ENOSYS  # SECCOMP_RET_ERRNO | ENOSYS


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return _struct.pack("<HBBI", code, jt, jf, k)


def _enosys_stub(lib, tokens: list[int], x32: bool, rules: list[Rule]) -> bytes:
    """A prefix to the program: a system call newer than every one the
    profile names (for its architecture) gets ENOSYS instead of the default
    action, as with runc. A profile that predates clone3, say, then makes
    the C library fall back to clone, instead of failing with EPERM (runc's
    seccomp.bats, "-ENOSYS handling"); a system call the profile lists or
    that is older than its newest keeps the profile's answer."""
    names = {n for r in rules for n in r.names}
    blocks = []
    for token in tokens:
        known = [lib.seccomp_syscall_resolve_name_arch(token, n.encode()) for n in names]
        known = [nr for nr in known if 0 <= nr < _X32_BIT]
        if known:
            blocks.append((token, max(known), x32 and token == _AUDIT_ARCH_X86_64))
    out: list[bytes] = []
    # Per architecture: [ld arch; jeq A; ld nr; (jge x32 ->orig;) jgt max; ret ENOSYS].
    sizes = [6 if with_x32 else 5 for _t, _m, with_x32 in blocks]
    for i, (token, highest, with_x32) in enumerate(blocks):
        after = sum(sizes[i + 1:])  # instructions after this block, before the program
        out.append(_insn(0x20, 4))                                    # ld [4]: arch
        out.append(_insn(0x15, token, 0, sizes[i] - 2))               # not this arch: next
        out.append(_insn(0x20, 0))                                    # ld [0]: nr
        if with_x32:
            out.append(_insn(0x35, _X32_BIT, 2 + after, 0))           # x32 call: program
        out.append(_insn(0x25, highest, 0, 1 + after))                # known: program
        out.append(_insn(0x06, _RET_ENOSYS))                          # newer: ENOSYS
    return b"".join(out)


def _condition_sets(args: list) -> list[list]:
    """The comparisons of one rule, as libseccomp rules: all of them in one
    (they must all hold), except where two compare the same argument, which
    no single libseccomp rule can express: then each is a rule of its own,
    so that any of them matching is enough (runc's long-standing reading,
    which profiles such as its tests' rely on)."""
    indexes = [a[0] for a in args]
    if len(set(indexes)) == len(indexes):
        return [args]
    return [[a] for a in args]


def _export(lib, vp) -> bytes:
    fd = _os.memfd_create("pyrunc-seccomp", _os.MFD_CLOEXEC)
    try:
        res = lib.seccomp_export_bpf(vp, fd)
        if res < 0:
            raise KernelError("seccomp_export_bpf", -res, "linux.seccomp")
        size = _os.lseek(fd, 0, _os.SEEK_END)
        return _os.pread(fd, size, 0)
    finally:
        _os.close(fd)


def send_listener_fd(path: str, fd: int, payload: bytes) -> None:
    """config-linux.md#containerprocessstate: one connection, one message
    with the state as JSON and the notify fd as SCM_RIGHTS, then close."""
    import _socket
    import struct

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
        sock.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                  struct.pack("i", fd))])
    except OSError as err:
        raise ConfigError(f"linux.seccomp.listenerPath: failed to connect with seccomp agent "
                          f"(sending the seccomp fd to {path}): "
                          f"{err.strerror or err}") from None
    finally:
        sock.close()


def _attr(lib, vp, attr: int, value: int, what: str) -> None:
    res = lib.seccomp_attr_set(vp, attr, value)
    if res < 0:
        raise KernelError("seccomp_attr_set", -res, what)
