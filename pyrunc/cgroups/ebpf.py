"""Device rules on cgroup v2: v2 has no devices.allow/deny files; the kernel
asks a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup instead.

The configured rules (cgroup v1 semantics, applied in order) are first
reduced to a default verdict plus exceptions, as the v1 controller would
hold them; the program checks the exceptions in order and returns the
default otherwise. Loaded and attached with the bpf(2) syscall (ctypes).
"""
from __future__ import annotations

import os
import struct

from ..errors import KernelError
from .devices import Rule

# struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
# access_type: device type in the low 16 bits, access in the high 16.
_DEV_TYPE = {"b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}
_ALL_ACCESS = 7

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
_NR_BPF = {"x86_64": 321, "aarch64": 280}


def _access_bits(access: str) -> int:
    return sum(_ACCESS[c] for c in set(access) if c in _ACCESS)


class Override:
    """One exception to the default verdict (what v1 calls an exception)."""

    __slots__ = ("type", "major", "minor", "access")

    def __init__(self, type: str, major: int | None, minor: int | None, access: int) -> None:
        self.type = type
        self.major = major
        self.minor = minor
        self.access = access

    def same_device(self, other: Override) -> bool:
        return (self.type, self.major, self.minor) == (other.type, other.major, other.minor)


def reduce(rules: list[Rule]) -> tuple[bool, list[Override]]:
    """Apply rules as the v1 devices controller does: (default allow?,
    exceptions, each meaning the opposite of the default)."""
    default_allow = True
    exceptions: list[Override] = []
    for rule in rules:
        major = None if rule.major is None or rule.major < 0 else rule.major
        minor = None if rule.minor is None or rule.minor < 0 else rule.minor
        if rule.type == "a" and major is None and minor is None:
            default_allow, exceptions = rule.allow, []
            continue
        exc = Override(rule.type, major, minor, _access_bits(rule.access))
        if rule.allow != default_allow:
            exceptions.append(exc)
            continue
        # A rule agreeing with the default removes that access from matching exceptions.
        kept = []
        for e in exceptions:
            if e.same_device(exc):
                e.access &= ~exc.access
            if e.access:
                kept.append(e)
        exceptions = kept
    return default_allow, exceptions


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


_LDX_W = 0x61       # BPF_LDX | BPF_MEM | BPF_W
_AND32_K = 0x54     # BPF_ALU | BPF_AND | BPF_K
_RSH32_K = 0x74     # BPF_ALU | BPF_RSH | BPF_K
_MOV64_X = 0xBF     # BPF_ALU64 | BPF_MOV | BPF_X
_MOV64_K = 0xB7     # BPF_ALU64 | BPF_MOV | BPF_K
_JNE_K = 0x55       # BPF_JMP | BPF_JNE | BPF_K
_EXIT = 0x95


def program(default_allow: bool, exceptions: list[Override]) -> bytes:
    """The BPF instructions: r2=type, r3=access, r4=major, r5=minor."""
    out = [
        _insn(_LDX_W, 2, 1, 0), _insn(_AND32_K, 2, imm=0xFFFF),
        _insn(_LDX_W, 3, 1, 0), _insn(_RSH32_K, 3, imm=16),
        _insn(_LDX_W, 4, 1, 4), _insn(_LDX_W, 5, 1, 8),
    ]
    verdict = 0 if default_allow else 1
    for e in exceptions:
        checks: list[tuple[int, ...]] = []
        if e.type in _DEV_TYPE:
            checks.append((_JNE_K, 2, _DEV_TYPE[e.type]))
        if e.access != _ALL_ACCESS:
            # Applies only if every requested access bit is in the rule.
            checks.append((_MOV64_X, 1, 3))
            checks.append((_AND32_K, 1, ~e.access & 0xFFFF))
            checks.append((_JNE_K, 1, 0))
        if e.major is not None:
            checks.append((_JNE_K, 4, e.major))
        if e.minor is not None:
            checks.append((_JNE_K, 5, e.minor))
        body = len(checks) + 2  # the checks, then r0 = verdict; exit
        for i, check in enumerate(checks):
            remaining = body - i - 1  # jump over the rest of this block
            if check[0] == _JNE_K:
                out.append(_insn(_JNE_K, check[1], off=remaining, imm=check[2]))
            elif check[0] == _MOV64_X:
                out.append(_insn(_MOV64_X, check[1], check[2]))
            else:
                out.append(_insn(check[0], check[1], imm=check[2]))
        out.append(_insn(_MOV64_K, 0, imm=verdict))
        out.append(_insn(_EXIT))
    out.append(_insn(_MOV64_K, 0, imm=1 if default_allow else 0))
    out.append(_insn(_EXIT))
    return b"".join(out)


def _bpf(cmd: int, attr: bytes) -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    buf = ctypes.create_string_buffer(attr, len(attr))
    res = libc.syscall(_NR_BPF[os.uname().machine], ctypes.c_int(cmd), buf,
                       ctypes.c_uint(len(attr)))
    if res < 0:
        raise KernelError(f"bpf({'BPF_PROG_LOAD' if cmd == BPF_PROG_LOAD else 'BPF_PROG_ATTACH'})",
                          ctypes.get_errno(), "cgroup device program")
    return res


def load(insns: bytes) -> int:
    """BPF_PROG_LOAD; returns the program fd."""
    import ctypes

    code = ctypes.create_string_buffer(insns, len(insns))
    license_ = ctypes.create_string_buffer(b"Apache")
    # union bpf_attr, BPF_PROG_LOAD part: prog_type, insn_cnt, insns, license,
    # log_level, log_size, log_buf, kern_version, prog_flags, prog_name[16]...
    attr = struct.pack("<IIQQIIQII16s", BPF_PROG_TYPE_CGROUP_DEVICE, len(insns) // 8,
                       ctypes.addressof(code), ctypes.addressof(license_), 0, 0, 0, 0, 0,
                       b"pyrunc_devices")
    return _bpf(BPF_PROG_LOAD, attr.ljust(128, b"\0"))


def attach(cgroup_dir: str, prog_fd: int) -> None:
    """BPF_PROG_ATTACH to the cgroup (ALLOW_MULTI: the parents' programs
    still apply too)."""
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = struct.pack("<IIII", fd, prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
        _bpf(BPF_PROG_ATTACH, attr.ljust(128, b"\0"))
    finally:
        os.close(fd)


def apply(cgroup_dir: str, rules: list[Rule]) -> None:
    default_allow, exceptions = reduce(rules)
    prog_fd = load(program(default_allow, exceptions))
    try:
        attach(cgroup_dir, prog_fd)
    finally:
        os.close(prog_fd)
