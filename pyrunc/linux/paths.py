"""Resolving paths inside the container's root without ever leaving it.

A symlink in the image (say /etc -> /host-etc, or ../../..) must not point a
mount, device or masked path at the host. Every lookup goes through
openat2(RESOLVE_IN_ROOT), which treats the root fd as "/" for every component,
and hands back an O_PATH fd; mounts then target /proc/self/fd/N, the object
the fd refers to, so nothing is resolved a second time.
"""
from __future__ import annotations

import errno
import os
import stat

from ..errors import KernelError, PyruncError
from . import syscalls

_RESOLVE = syscalls.RESOLVE_IN_ROOT | syscalls.RESOLVE_NO_MAGICLINKS


def fd_path(fd: int) -> str:
    """The magic link that names what fd refers to (for mount(2) targets)."""
    return f"/proc/self/fd/{fd}"


def open_in_root(rootfd: int, path: str, flags: int = os.O_PATH) -> int:
    """Open path (absolute or relative, taken inside the root) under rootfd."""
    return syscalls.openat2(rootfd, path.lstrip("/") or ".", flags, _RESOLVE)


_MAX_SYMLINKS = 40


def _canonical(rootfd: int, fd: int) -> list[str]:
    """The components of what fd refers to, relative to the root."""
    root = os.readlink(fd_path(rootfd)).rstrip("/")
    real = os.readlink(fd_path(fd))
    rel = real[len(root):] if real.startswith(root + "/") or real == root else ""
    return [p for p in rel.split("/") if p]


def _walk(rootfd: int, path: str, create_dirs: bool, mode: int) -> tuple[list[str], str]:
    """Resolve path inside the root component by component, following symlinks
    (dangling ones too, so their targets are created inside the root) and
    creating missing directories if asked. Returns (canonical parent
    components, final name), the final component not followed."""
    remaining = [p for p in path.split("/") if p and p != "."]
    done: list[str] = []
    hops = 0
    while len(remaining) > 1 or (remaining and remaining[0] == ".."):
        comp = remaining.pop(0)
        if comp == "..":
            done = done[:-1]  # never above the root
            continue
        if comp == ".":
            continue
        candidate = "/".join(done + [comp])
        try:
            fd = open_in_root(rootfd, candidate, os.O_PATH | os.O_DIRECTORY)
        except KernelError as err:
            if err.errno == errno.ENOTDIR:
                raise PyruncError(f"{candidate} exists inside the container and is not "
                                  "a directory") from None
            if err.errno != errno.ENOENT:
                raise
        else:
            done = _canonical(rootfd, fd)
            os.close(fd)
            continue
        target = _readlink(rootfd, done, comp)
        if target is not None:
            hops += 1
            if hops > _MAX_SYMLINKS:
                raise KernelError("resolve", errno.ELOOP, path)
            if target.startswith("/"):
                done = []
            remaining = [p for p in target.split("/") if p and p != "."] + remaining
            continue
        if not create_dirs:
            raise KernelError("resolve", errno.ENOENT, path)
        pfd = open_in_root(rootfd, "/".join(done), os.O_PATH | os.O_DIRECTORY)
        try:
            os.mkdir(comp, mode, dir_fd=pfd)
        except FileExistsError:
            pass
        finally:
            os.close(pfd)
        done.append(comp)
    return done, (remaining[0] if remaining else "")


def _readlink(rootfd: int, parent: list[str], name: str) -> str | None:
    """The target of a symlink to follow by hand (it may dangle), or None.
    Never inside procfs: its ordinary symlinks (self, thread-self, mounts)
    always resolve, so openat2 follows them, and the others are magic links
    (/proc/self/fd/N, /proc/PID/cwd) whose text names an object outside the
    root (a host directory pyrunc holds open, CVE-2024-21626), never a path
    inside it. An fd opened here could even take the number N itself."""
    pfd = open_in_root(rootfd, "/".join(parent), os.O_PATH | os.O_DIRECTORY)
    try:
        try:
            target = os.readlink(name, dir_fd=pfd)
        except OSError:
            return None
        if syscalls.fstatfs_type(pfd) == syscalls.PROC_SUPER_MAGIC:
            raise PyruncError("/" + "/".join(parent + [name]) + " is a /proc magic link "
                              "(or a /proc entry that does not resolve): not followed")
    finally:
        os.close(pfd)
    return target


def resolve_final(rootfd: int, path: str, create_dirs: bool = True,
                  mode: int = 0o755) -> tuple[int, str]:
    """(O_PATH fd of the parent directory, final name) for path inside the
    root, with a final symlink followed even if it dangles."""
    try:
        fd = open_in_root(rootfd, path)
    except KernelError:
        pass  # missing or dangling (or refused): resolved by hand below
    else:
        # It exists: the kernel resolved it inside the root.
        try:
            comps = _canonical(rootfd, fd)
        finally:
            os.close(fd)
        return (open_in_root(rootfd, "/".join(comps[:-1]), os.O_PATH | os.O_DIRECTORY),
                comps[-1] if comps else "")
    for _ in range(_MAX_SYMLINKS):
        parent, name = _walk(rootfd, path, create_dirs, mode)
        target = _readlink(rootfd, parent, name) if name else None
        if target is None:
            return open_in_root(rootfd, "/".join(parent), os.O_PATH | os.O_DIRECTORY), name
        path = target if target.startswith("/") else "/".join(parent + [target])
    raise KernelError("resolve", errno.ELOOP, path)


def mkdir_all(rootfd: int, path: str, mode: int = 0o755) -> int:
    """Make path and its missing parents inside the root; return an O_PATH fd
    of the directory. An existing non-directory is an error."""
    pfd, name = resolve_final(rootfd, path, True, mode)
    try:
        if name:
            try:
                os.mkdir(name, mode, dir_fd=pfd)
            except FileExistsError:
                pass
        try:
            return syscalls.openat2(pfd, name or ".", os.O_PATH | os.O_DIRECTORY
                                    | os.O_NOFOLLOW, syscalls.RESOLVE_NO_SYMLINKS
                                    | syscalls.RESOLVE_BENEATH)
        except KernelError as err:
            if err.errno == errno.ENOTDIR:
                raise PyruncError(f"{path} exists inside the container and is not a "
                                  "directory") from None
            raise
    finally:
        os.close(pfd)


def make_file(rootfd: int, path: str, mode: int = 0o644) -> int:
    """Make an empty file (a bind mount target) and missing parents; return an
    O_PATH fd. An existing file of any non-directory kind is reused."""
    pfd, name = resolve_final(rootfd, path)
    try:
        if not name:
            raise PyruncError(f"{path} is the container's root, not a file")
        try:
            os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                             | os.O_CLOEXEC, mode, dir_fd=pfd))
        except FileExistsError:
            pass
        fd = syscalls.openat2(pfd, name, os.O_PATH | os.O_NOFOLLOW,
                              syscalls.RESOLVE_NO_SYMLINKS | syscalls.RESOLVE_BENEATH)
    finally:
        os.close(pfd)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise PyruncError(f"{path} exists inside the container and is a directory")
    return fd


def exists(rootfd: int, path: str, follow: bool = True) -> os.stat_result | None:
    """stat (or lstat, with follow=False) of path inside the root, or None."""
    try:
        fd = open_in_root(rootfd, path, os.O_PATH | (0 if follow else os.O_NOFOLLOW))
    except KernelError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def parent_and_name(rootfd: int, path: str) -> tuple[int, str]:
    """(O_PATH fd of the parent directory, created if missing; last component),
    the last component itself not followed (for symlink, mknod, unlink)."""
    parent, name = _walk(rootfd, path, True, 0o755)
    return open_in_root(rootfd, "/".join(parent), os.O_PATH | os.O_DIRECTORY), name


def current_root() -> int:
    """An O_PATH fd of "/" (after the switch of root: the container's), for
    lookups inside it."""
    return os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def chdir_in_root(path: str) -> None:
    """chdir to path taken inside the current root, never through a magic
    link; then check with getcwd(2) that the working directory is inside the
    root (runc's check for CVE-2024-21626). The init calls it before any
    seccomp filter is loaded."""
    root = current_root()
    try:
        fd = open_in_root(root, path, os.O_PATH | os.O_DIRECTORY)
    finally:
        os.close(root)
    try:
        os.fchdir(fd)
    finally:
        os.close(fd)
    cwd = syscalls.getcwd_raw()
    if not cwd.startswith("/"):
        raise PyruncError(f"the working directory {path!r} is outside the container's root "
                          f"({cwd}): refused, possible container breakout")
