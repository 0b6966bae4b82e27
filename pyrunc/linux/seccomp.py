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

from ..errors import ConfigError, KernelError

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
_ATTR_CTL_TSYNC = 4
_ATTR_CTL_LOG = 6
_ATTR_CTL_SSB = 7
_ATTR_CTL_WAITKILL = 10
FLAGS = {  # spec flag -> (libseccomp attribute, minimum libseccomp version)
    "SECCOMP_FILTER_FLAG_TSYNC": (_ATTR_CTL_TSYNC, (2, 2, 0)),
    "SECCOMP_FILTER_FLAG_LOG": (_ATTR_CTL_LOG, (2, 4, 0)),
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": (_ATTR_CTL_SSB, (2, 5, 0)),
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": (_ATTR_CTL_WAITKILL, (2, 6, 0)),
}
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
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(ArgCmp)]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_notify_fd.argtypes = [ctypes.c_void_p]
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
    """A compiled libseccomp filter context, ready to load."""

    def __init__(self, ctx: int, uses_notify: bool) -> None:
        self.ctx = ctx
        self.uses_notify = uses_notify

    def load(self) -> None:
        import ctypes

        res = _libseccomp().seccomp_load(ctypes.c_void_p(self.ctx))
        if res < 0:
            raise KernelError("seccomp_load", -res, "linux.seccomp")

    def notify_fd(self) -> int:
        import ctypes

        fd = _libseccomp().seccomp_notify_fd(ctypes.c_void_p(self.ctx))
        if fd < 0:
            raise KernelError("seccomp_notify_fd", -fd, "linux.seccomp")
        return fd


def build(default_action: str, default_errno: int | None, architectures: list[str],
          flags: list[str], rules: list[Rule]) -> tuple[Filter, list[str]]:
    """Compile the filter; return it and notes for the debug log. Unknown
    syscall names are skipped as runc skips them, logged at debug level like
    runc: profiles name syscalls newer than the host's libseccomp, and without
    --log the runtime's stderr is the container's."""
    import ctypes

    lib = _libseccomp()
    warnings: list[str] = []
    ctx = lib.seccomp_init(action_value(default_action, default_errno))
    if not ctx:
        raise ConfigError(f"linux.seccomp.defaultAction: libseccomp refused {default_action}")
    vp = ctypes.c_void_p(ctx)
    # The config's noNewPrivileges decides no_new_privs, not libseccomp.
    _attr(lib, vp, _ATTR_CTL_NNP, 0, "no_new_privs")
    have = version()
    for flag in flags:
        attr, needed = FLAGS[flag]
        if have < needed:
            raise ConfigError(f"linux.seccomp.flags: {flag} needs libseccomp "
                              f"{'.'.join(map(str, needed))}, this host has "
                              f"{'.'.join(map(str, have))}")
        _attr(lib, vp, attr, 1, flag)
    for i, arch in enumerate(architectures):
        token = lib.seccomp_arch_resolve_name(arch[len("SCMP_ARCH_"):].lower().encode())
        if token == 0:
            raise ConfigError(f"linux.seccomp.architectures[{i}]: {arch} is not known to "
                              "this libseccomp")
        res = lib.seccomp_arch_add(vp, token)
        if res < 0 and -res != _errno.EEXIST:
            raise KernelError("seccomp_arch_add", -res, arch)
    uses_notify = default_action == "SCMP_ACT_NOTIFY"
    default = action_value(default_action, default_errno)
    for i, rule in enumerate(rules):
        action = action_value(rule.action, rule.errno_ret)
        if action == default:
            continue  # libseccomp refuses a rule that repeats the default (runc skips it)
        uses_notify = uses_notify or rule.action == "SCMP_ACT_NOTIFY"
        cmps = (_ArgCmp * max(1, len(rule.args)))()
        for j, (index, value, value_two, op) in enumerate(rule.args):
            cmps[j] = _ArgCmp(index, OPERATORS[op], value, value_two)
        for name in rule.names:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr == _NR_SCMP_ERROR:
                warnings.append(f"linux.seccomp.syscalls[{i}]: unknown syscall {name!r} "
                                "skipped")
                continue
            res = lib.seccomp_rule_add_array(vp, action, nr, len(rule.args), cmps)
            if res < 0:
                raise ConfigError(f"linux.seccomp.syscalls[{i}]: cannot add a rule for "
                                  f"{name!r}: {_errno_name(-res)}")
    return Filter(ctx, uses_notify), warnings


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
        raise ConfigError(f"linux.seccomp.listenerPath: sending the seccomp fd to {path}: "
                          f"{err.strerror or err}") from None
    finally:
        sock.close()


def _attr(lib, vp, attr: int, value: int, what: str) -> None:
    res = lib.seccomp_attr_set(vp, attr, value)
    if res < 0:
        raise KernelError("seccomp_attr_set", -res, what)


def _errno_name(code: int) -> str:
    import os

    return os.strerror(code)
