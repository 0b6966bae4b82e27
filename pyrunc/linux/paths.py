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


def _split(path: str) -> tuple[str, str]:
    path = path.strip("/")
    parent, _, name = path.rpartition("/")
    return parent, name


def mkdir_all(rootfd: int, path: str, mode: int = 0o755) -> int:
    """Make path and its missing parents inside the root; return an O_PATH fd
    of the directory. An existing non-directory is an error."""
    try:
        fd = open_in_root(rootfd, path, os.O_PATH | os.O_DIRECTORY)
        return fd
    except KernelError as err:
        if err.errno == errno.ENOTDIR:
            raise PyruncError(f"{path} exists inside the container and is not a "
                              "directory") from None
        if err.errno != errno.ENOENT:
            raise
    parent, name = _split(path)
    if not name:
        raise PyruncError(f"cannot create {path!r} inside the container")
    pfd = mkdir_all(rootfd, parent, mode)
    try:
        try:
            os.mkdir(name, mode, dir_fd=pfd)
        except FileExistsError:
            pass  # raced with ourselves or a dangling symlink: the open below decides
        return open_in_root(rootfd, path, os.O_PATH | os.O_DIRECTORY)
    finally:
        os.close(pfd)


def make_file(rootfd: int, path: str, mode: int = 0o644) -> int:
    """Make an empty file (a bind mount target) and missing parents; return an
    O_PATH fd. An existing file of any non-directory kind is reused."""
    try:
        fd = open_in_root(rootfd, path)
    except KernelError as err:
        if err.errno != errno.ENOENT:
            raise
    else:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise PyruncError(f"{path} exists inside the container and is a directory")
        return fd
    parent, name = _split(path)
    pfd = mkdir_all(rootfd, parent)
    try:
        try:
            newfd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                            | os.O_CLOEXEC, mode, dir_fd=pfd)
            os.close(newfd)
        except FileExistsError:
            pass
        return open_in_root(rootfd, path)
    finally:
        os.close(pfd)


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
    """(O_PATH fd of the parent directory, created if missing; last component)."""
    parent, name = _split(path)
    return mkdir_all(rootfd, parent), name
