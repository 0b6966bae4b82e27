"""System calls the os module lacks, through ctypes.

Every function takes plain values and raises KernelError naming the call, the
path and the errno. Callers use them as `syscalls.mount(...)` (module
attribute access) so the unit tests can swap in a fake that records calls.
"""
from __future__ import annotations

import ctypes
import os

from ..errors import KernelError

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

# x86_64 and aarch64 numbers for calls glibc 2.36 may not wrap.
_MACHINE = os.uname().machine
_NR = {
    "x86_64": {"pivot_root": 155, "setns": 308, "unshare": 272, "openat2": 437,
               "mount_setattr": 442, "close_range": 436, "keyctl": 250,
               "open_tree": 428, "move_mount": 429,
               "sethostname": 170, "setdomainname": 171,
               "ioprio_set": 251, "sched_setattr": 314, "personality": 135,
               "set_mempolicy": 238, "seccomp": 317, "fsopen": 430, "fsconfig": 431,
               "fsmount": 432, "getcwd": 79},
    "aarch64": {"pivot_root": 41, "setns": 268, "unshare": 97, "openat2": 437,
                "mount_setattr": 442, "close_range": 436, "keyctl": 219,
                "open_tree": 428, "move_mount": 429,
                "sethostname": 161, "setdomainname": 162,
                "ioprio_set": 30, "sched_setattr": 274, "personality": 92,
                "set_mempolicy": 237, "seccomp": 277, "fsopen": 430, "fsconfig": 431,
                "fsmount": 432, "getcwd": 17},
}[_MACHINE]

# mount(2) flags
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_I_VERSION = 1 << 23
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MNT_DETACH = 2

# openat2(2) resolve flags
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

# *at(2)
AT_FDCWD = -100

# mount_setattr(2)
AT_RECURSIVE = 0x8000
AT_EMPTY_PATH = 0x1000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_NOSYMFOLLOW = 0x200000

# open_tree(2) / move_mount(2)
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40

# fsopen(2) / fsconfig(2) / fsmount(2)
FSOPEN_CLOEXEC = 1
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
FSMOUNT_CLOEXEC = 1

# statfs(2) f_type values
PROC_SUPER_MAGIC = 0x9FA0
DEVPTS_SUPER_MAGIC = 0x1CD1
SYSFS_MAGIC = 0x62656572

# prctl(2)
PR_SET_DUMPABLE = 4
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

CLOSE_RANGE_CLOEXEC = 4
KEYCTL_JOIN_SESSION_KEYRING = 1


def _fail(call: str, detail: str = "") -> KernelError:
    return KernelError(call, ctypes.get_errno(), detail)


def _b(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    if _libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags),
                   _b(data)) != 0:
        raise _fail("mount", f"{source or ''} to {target} (type {fstype or 'none'}, "
                    f"flags {flags:#x}{', data ' + data if data else ''})")


def umount2(target: str, flags: int = 0) -> None:
    if _libc.umount2(_b(target), ctypes.c_int(flags)) != 0:
        raise _fail("umount2", target)


def pivot_root(new_root: str, put_old: str) -> None:
    if _syscall(_NR["pivot_root"], _b(new_root), _b(put_old)) != 0:
        raise _fail("pivot_root", f"{new_root} {put_old}")


def unshare(flags: int) -> None:
    if _syscall(_NR["unshare"], ctypes.c_int(flags)) != 0:
        raise _fail("unshare", f"flags {flags:#x}")


def setns(fd: int, nstype: int, what: str = "") -> None:
    if _syscall(_NR["setns"], ctypes.c_int(fd), ctypes.c_int(nstype)) != 0:
        raise _fail("setns", what)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    fd = _syscall(_NR["openat2"], ctypes.c_int(dirfd), _b(path), ctypes.byref(how),
                  ctypes.c_size_t(ctypes.sizeof(how)))
    if fd < 0:
        raise _fail("openat2", path)
    return fd


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def mount_setattr(dirfd: int, path: str, flags: int, attr_set: int, attr_clr: int,
                  propagation: int = 0, userns_fd: int = 0, what: str = "") -> None:
    attr = _MountAttr(attr_set, attr_clr, propagation, userns_fd)
    if _syscall(_NR["mount_setattr"], ctypes.c_int(dirfd), _b(path), ctypes.c_uint(flags),
                ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))) != 0:
        raise _fail("mount_setattr", what or path)


def open_tree(dirfd: int, path: str, flags: int) -> int:
    fd = _syscall(_NR["open_tree"], ctypes.c_int(dirfd), _b(path), ctypes.c_uint(flags))
    if fd < 0:
        raise _fail("open_tree", path)
    return fd


def move_mount(from_fd: int, from_path: str, to_fd: int, to_path: str, flags: int,
               what: str = "") -> None:
    if _syscall(_NR["move_mount"], ctypes.c_int(from_fd), _b(from_path),
                ctypes.c_int(to_fd), _b(to_path), ctypes.c_uint(flags)) != 0:
        raise _fail("move_mount", what)


def fsopen(fstype: str) -> int:
    """A filesystem context (close-on-exec) for fsconfig/fsmount."""
    fd = _syscall(_NR["fsopen"], _b(fstype), ctypes.c_uint(FSOPEN_CLOEXEC))
    if fd < 0:
        raise _fail("fsopen", fstype)
    return fd


def fsconfig(fsfd: int, cmd: int, key: str | None = None, value: str | None = None) -> None:
    if _syscall(_NR["fsconfig"], ctypes.c_int(fsfd), ctypes.c_uint(cmd), _b(key), _b(value),
                ctypes.c_int(0)) != 0:
        raise _fail("fsconfig", f"{key}={value}" if key else f"cmd {cmd}")


def fsmount(fsfd: int, attr_flags: int = 0) -> int:
    """A detached mount of the configured filesystem (close-on-exec)."""
    fd = _syscall(_NR["fsmount"], ctypes.c_int(fsfd), ctypes.c_uint(FSMOUNT_CLOEXEC),
                  ctypes.c_uint(attr_flags))
    if fd < 0:
        raise _fail("fsmount")
    return fd


def fstatfs_type(fd: int) -> int:
    """f_type of the filesystem fd is on (os.fstatvfs does not give it)."""
    buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit
    if _libc.fstatfs(ctypes.c_int(fd), buf) != 0:
        raise _fail("fstatfs", f"fd {fd}")
    return ctypes.c_long.from_buffer(buf).value


def getcwd_raw() -> str:
    """getcwd(2) itself: it says "(unreachable)" for a directory outside the
    current root, where libc's getcwd(3) (and os.getcwd) fail with ENOENT."""
    buf = ctypes.create_string_buffer(4097)
    res = _syscall(_NR["getcwd"], buf, ctypes.c_size_t(4097))
    if res < 0:
        raise _fail("getcwd")
    return os.fsdecode(buf.value)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    res = _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                      ctypes.c_ulong(arg4), ctypes.c_ulong(arg5))
    if res < 0:
        raise _fail("prctl", f"option {option}")
    return res


def sethostname(name: str) -> None:
    raw = name.encode()
    if _syscall(_NR["sethostname"], raw, ctypes.c_size_t(len(raw))) != 0:
        raise _fail("sethostname", name)


def setdomainname(name: str) -> None:
    raw = name.encode()
    if _syscall(_NR["setdomainname"], raw, ctypes.c_size_t(len(raw))) != 0:
        raise _fail("setdomainname", name)


def close_range(first: int, last: int = 0xFFFFFFFF, flags: int = 0) -> None:
    """Close (or with CLOSE_RANGE_CLOEXEC mark) fds first..last (5.9+/5.11+)."""
    if _syscall(_NR["close_range"], ctypes.c_uint(first), ctypes.c_uint(last),
                ctypes.c_uint(flags)) != 0:
        raise _fail("close_range")


def close_range_cloexec(first: int) -> None:
    """Mark every fd >= first close-on-exec (kernel 5.11+)."""
    close_range(first, 0xFFFFFFFF, CLOSE_RANGE_CLOEXEC)


def join_session_keyring(name: str) -> int:
    serial = _syscall(_NR["keyctl"], ctypes.c_int(KEYCTL_JOIN_SESSION_KEYRING), _b(name))
    if serial < 0:
        raise _fail("keyctl(KEYCTL_JOIN_SESSION_KEYRING)", name)
    return serial


def keyctl_setperm(serial: int, perm: int) -> None:
    if _syscall(_NR["keyctl"], ctypes.c_int(5), ctypes.c_int(serial),
                ctypes.c_uint32(perm)) < 0:
        raise _fail("keyctl(KEYCTL_SETPERM)")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_set_filter(flags: int, bpf: bytes) -> int:
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): the listener fd with
    SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0."""
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.addressof(buf))
    res = _syscall(_NR["seccomp"], ctypes.c_uint(1), ctypes.c_uint(flags), ctypes.byref(prog))
    if res < 0:
        raise _fail("seccomp(SECCOMP_SET_MODE_FILTER)", f"flags {flags:#x}")
    return res


def ioprio_set(value: int) -> None:
    """ioprio_set(IOPRIO_WHO_PROCESS, self)."""
    if _syscall(_NR["ioprio_set"], ctypes.c_int(1), ctypes.c_int(0), ctypes.c_int(value)) != 0:
        raise _fail("ioprio_set", f"{value:#x}")


def sched_setattr(attr: bytes) -> None:
    buf = ctypes.create_string_buffer(attr, len(attr))
    if _syscall(_NR["sched_setattr"], ctypes.c_int(0), buf, ctypes.c_uint(0)) != 0:
        raise _fail("sched_setattr")


def personality(persona: int) -> None:
    if _syscall(_NR["personality"], ctypes.c_ulong(persona)) < 0:
        raise _fail("personality", f"{persona:#x}")


def set_mempolicy(mode: int, mask: bytes, maxnode: int) -> None:
    buf = ctypes.create_string_buffer(mask, len(mask)) if mask else None
    if _syscall(_NR["set_mempolicy"], ctypes.c_int(mode), buf, ctypes.c_ulong(maxnode)) != 0:
        raise _fail("set_mempolicy", f"mode {mode:#x}")
