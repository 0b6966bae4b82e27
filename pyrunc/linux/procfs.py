"""A procfs handle the container's image cannot redirect.

Every write pyrunc makes to procfs inside a container (sysctls, LSM
attributes, oom_score_adj) and every re-open of one of its own fds goes
through this handle, never through the container's `/proc`: an image or a
second container sharing a volume can make that path a symlink, a tmpfs with
fake files, or put mounts over `/proc/self/attr/...` or `/proc/sys/...`
(CVE-2019-16884, CVE-2019-19921, CVE-2025-52881), and a write meant for the
container's own attribute would then land in a host-wide file such as
`/proc/sys/kernel/core_pattern`.

The handle is, in order of preference (the kernel or a sandbox may refuse
the first ones):
1. a private procfs instance (fsopen/fsmount) nobody else can see or mount
   over, for the caller's PID namespace;
2. a clone of the `/proc` mount without its submounts (open_tree), so no
   overmount comes along;
3. `/proc` itself, checked to be the root of a procfs, with every lookup
   refusing to cross a mount point (RESOLVE_NO_XDEV).
Each open is checked to land on procfs (fstatfs).

Runs in the init and exec'd processes (ctypes is loaded there).
"""
from __future__ import annotations

import fcntl
import os

from ..errors import KernelError, PyruncError
from . import syscalls as sc

PROC_ROOT_INO = 1
_RESOLVE = sc.RESOLVE_BENEATH | sc.RESOLVE_NO_MAGICLINKS | sc.RESOLVE_NO_XDEV


def _verify_root(fd: int, how: str) -> None:
    if sc.fstatfs_type(fd) != sc.PROC_SUPER_MAGIC or os.fstat(fd).st_ino != PROC_ROOT_INO:
        os.close(fd)
        raise PyruncError(f"procfs handle ({how}): not the root of a procfs")


class ProcHandle:
    """An fd of a verified procfs root; `private` when no one else can have
    placed mounts in it."""

    __slots__ = ("fd", "private")

    def __init__(self, fd: int, private: bool) -> None:
        self.fd = fd
        self.private = private

    @classmethod
    def open(cls, subset_pid: bool = False) -> ProcHandle:
        """subset_pid: only the PID directories (no /proc/sys), hidden unless
        ptraceable: a handle that is harmless even if it were reached."""
        try:
            return cls(_fsmount_proc(subset_pid), True)
        except KernelError:
            pass
        try:
            fd = sc.open_tree(sc.AT_FDCWD, "/proc", sc.OPEN_TREE_CLONE | sc.OPEN_TREE_CLOEXEC)
        except KernelError:
            pass
        else:
            _verify_root(fd, "open_tree clone of /proc")
            return cls(fd, True)
        try:
            fd = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as err:
            raise PyruncError(f"no procfs to use: /proc: {err.strerror}") from None
        _verify_root(fd, "/proc")
        return cls(fd, False)

    def open_at(self, sub: str, flags: int, mode: int = 0) -> int:
        """Open sub (relative, e.g. "sys/net/ipv4/ip_forward") inside this procfs."""
        try:
            fd = sc.openat2(self.fd, sub, flags, _RESOLVE, mode)
        except KernelError:
            # openat2 refused by an old kernel or a seccomp profile (with
            # whatever errno the profile chose): plain openat is as safe on a
            # private instance, which has no submounts to cross, so it is
            # tried there whatever the errno; a genuine error (no such entry)
            # comes back from it the same.
            if not self.private:
                raise
            try:
                fd = os.open(sub, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=self.fd)
            except OSError as oerr:
                raise KernelError("openat", oerr.errno, f"/proc/{sub}") from None
        if sc.fstatfs_type(fd) != sc.PROC_SUPER_MAGIC:
            os.close(fd)
            raise PyruncError(f"/proc/{sub}: not on procfs")
        return fd

    def write(self, sub: str, data: str) -> None:
        fd = self.open_at(sub, os.O_WRONLY)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def reopen(self, fd: int, flags: int) -> int:
        """A new open file description of what fd (say an O_PATH fd) refers
        to, through this procfs's thread-self/fd."""
        fd_dir = self.open_at("thread-self/fd", os.O_PATH | os.O_DIRECTORY)
        try:
            # The last component is the magic link itself: followed on purpose.
            return os.open(str(fd), flags | os.O_CLOEXEC, dir_fd=fd_dir)
        finally:
            os.close(fd_dir)

    def open_fds(self) -> list[int]:
        """This thread's open fds."""
        fd_dir = self.open_at("thread-self/fd", os.O_RDONLY | os.O_DIRECTORY)
        try:
            names = os.listdir(fd_dir)
        finally:
            os.close(fd_dir)
        return [int(n) for n in names if n.isdigit() and int(n) != fd_dir]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _fsmount_proc(subset_pid: bool) -> int:
    fsfd = sc.fsopen("proc")
    try:
        if subset_pid:
            # Linux 5.8+; older kernels refuse the options: a full instance then.
            for key, value in (("hidepid", "ptraceable"), ("subset", "pid")):
                try:
                    sc.fsconfig(fsfd, sc.FSCONFIG_SET_STRING, key, value)
                except KernelError:
                    pass
        sc.fsconfig(fsfd, sc.FSCONFIG_CMD_CREATE)
        fd = sc.fsmount(fsfd, sc.MOUNT_ATTR_NOSUID | sc.MOUNT_ATTR_NODEV
                        | sc.MOUNT_ATTR_NOEXEC)
    finally:
        os.close(fsfd)
    _verify_root(fd, "private instance")
    return fd


def close_fds_on_exec(first: int, proc: ProcHandle | None) -> None:
    """Mark every fd >= first close-on-exec: close_range(CLOSE_RANGE_CLOEXEC),
    or fd by fd (as runc falls back) where it is refused."""
    try:
        sc.close_range_cloexec(first)
        return
    except KernelError:
        fds = _one_by_one(proc)
    for fd in fds:
        if fd >= first:
            try:
                fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
            except OSError:
                pass


def close_fds_from(first: int, keep: set[int], proc: ProcHandle | None) -> None:
    """Close every fd >= first but those in keep (the handle's too):
    close_range over the gaps, or fd by fd where it is refused."""
    try:
        for low, high in _gaps(first, keep):
            sc.close_range(low, high)
        return
    except KernelError:
        fds = _one_by_one(proc)
    for fd in fds:
        if fd >= first and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _gaps(first: int, keep: set[int]) -> list[tuple[int, int]]:
    """The ranges from first up that hold none of keep."""
    out = []
    for fd in sorted(k for k in keep if k >= first):
        if fd > first:
            out.append((first, fd - 1))
        first = fd + 1
    return out + [(first, 0xFFFFFFFF)]


def _one_by_one(proc: ProcHandle | None) -> list[int]:
    """The fds to go through one by one, when close_range failed: an old
    kernel, or a seccomp profile that predates it, which may answer with any
    errno it likes (defaultErrnoRet). The open ones from the private procfs,
    or, if the profile refuses that too, every number below the fd limit
    (close(2) itself no profile can refuse and still run a program)."""
    if proc is not None:
        try:
            return proc.open_fds()
        except (OSError, KernelError):
            pass
    try:
        limit = os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        limit = -1
    return list(range(limit if limit > 0 else 1 << 16))
