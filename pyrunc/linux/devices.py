"""Device nodes and the /dev symlinks inside the container's root.

config-linux.md#configLinuxDevices and #configLinuxDefaultDevices;
runtime-linux.md#runtimeLinuxDevSymbolicLinks.
"""
from __future__ import annotations

import errno
import os
import stat

from ..errors import KernelError, PyruncError
from . import paths
from . import syscalls as sc

_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


class Node:
    """A device to create: plain values, no config."""

    __slots__ = ("path", "type", "major", "minor", "mode", "uid", "gid")

    def __init__(self, path: str, type: str, major: int, minor: int, mode: int,
                 uid: int, gid: int) -> None:
        self.path = path
        self.type = type
        self.major = major
        self.minor = minor
        self.mode = mode
        self.uid = uid
        self.gid = gid


def default_nodes() -> list[Node]:
    """The devices config-linux.md#configLinuxDefaultDevices requires."""
    return [Node(f"/dev/{name}", "c", major, minor, 0o666, 0, 0) for name, major, minor in (
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
        ("urandom", 1, 9), ("tty", 5, 0))]


def _matches(st: os.stat_result, node: Node) -> bool:
    if stat.S_IFMT(st.st_mode) != _TYPES[node.type]:
        return False
    if node.type == "p":
        return True
    return os.major(st.st_rdev) == node.major and os.minor(st.st_rdev) == node.minor


def create(rootfd: int, node: Node, bind_from_host: bool) -> None:
    """Create one device node. An existing file that is not this device is an
    error (config-linux.md#configLinuxDevices); the same device is kept."""
    existing = paths.exists(rootfd, node.path)
    if existing is not None:
        if _matches(existing, node):
            return
        raise PyruncError(f"linux.devices: {node.path} already exists in the container "
                          "and is not the requested device")
    if bind_from_host and node.type != "p":
        _bind_host_device(rootfd, node)
        return
    pfd, name = paths.parent_and_name(rootfd, node.path)
    try:
        dev = os.makedev(node.major, node.minor) if node.type != "p" else 0
        try:
            os.mknod(name, _TYPES[node.type] | (node.mode & 0o7777), dev, dir_fd=pfd)
        except OSError as err:
            raise KernelError("mknod", err.errno, node.path) from None
        # mknod is subject to the umask: set the mode the config asked for.
        os.chmod(name, node.mode & 0o7777, dir_fd=pfd, follow_symlinks=False)
        os.chown(name, node.uid, node.gid, dir_fd=pfd, follow_symlinks=False)
    finally:
        os.close(pfd)


def _bind_host_device(rootfd: int, node: Node) -> None:
    """In a user namespace mknod is not allowed: bind the host's node instead."""
    host = node.path
    try:
        st = os.stat(host)
    except OSError:
        st = None
    if st is None or not _matches(st, node):
        raise PyruncError(f"linux.devices: {node.path}: cannot create device nodes in a "
                          "user namespace and the host has no matching node to bind")
    fd = paths.make_file(rootfd, node.path)
    try:
        sc.mount(host, paths.fd_path(fd), None, sc.MS_BIND)
    finally:
        os.close(fd)


_SYMLINKS = (("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
             ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr"))


def dev_symlinks(rootfd: int) -> None:
    """runtime-linux.md#runtimeLinuxDevSymbolicLinks: create each link if its
    source exists (inside the container) after the mounts."""
    has_proc_fd = paths.exists(rootfd, "/proc/self") is not None
    for source, dest in _SYMLINKS:
        if not has_proc_fd:
            break
        _symlink(rootfd, source, dest)


def ptmx(rootfd: int) -> None:
    """/dev/ptmx -> pts/ptmx so the container's own devpts instance is used
    (config-linux.md#configLinuxDefaultDevices)."""
    st = paths.exists(rootfd, "/dev/ptmx", follow=False)
    if st is not None and not stat.S_ISLNK(st.st_mode):
        pfd, name = paths.parent_and_name(rootfd, "/dev/ptmx")
        try:
            os.unlink(name, dir_fd=pfd)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise KernelError("unlink", err.errno, "/dev/ptmx") from None
        finally:
            os.close(pfd)
    _symlink(rootfd, "pts/ptmx", "/dev/ptmx")


def _symlink(rootfd: int, source: str, dest: str) -> None:
    pfd, name = paths.parent_and_name(rootfd, dest)
    try:
        os.symlink(source, name, dir_fd=pfd)
    except FileExistsError:
        pass
    finally:
        os.close(pfd)
