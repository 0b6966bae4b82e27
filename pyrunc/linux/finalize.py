"""The container's root after the switch of root: masked and read-only paths
and /dev/console.

From here on `/proc`, `/dev` and every other path are the image's, so each
mount is made from fd to fd (fdmount.py) with both ends resolved inside the
root and checked: the image must not be able to send a mount to a host-wide
procfs file.
"""
from __future__ import annotations

import errno
import os
import stat

from ..errors import KernelError, PyruncError
from . import fdmount, paths
from . import syscalls as sc


def _open_existing(rootfd: int, path: str) -> int:
    """O_PATH fd of path inside the root, or -1 if it does not exist."""
    try:
        return paths.open_in_root(rootfd, path)
    except KernelError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return -1
        raise


def null_device(rootfd: int) -> int:
    """O_PATH fd of the container's /dev/null, checked to be the null device
    (1:3): an image whose /dev/null is a symlink to a procfs file would
    otherwise have that file bound, writable, over a masked path
    (CVE-2025-31133)."""
    fd = _open_existing(rootfd, "/dev/null")
    if fd < 0:
        raise PyruncError("linux.maskedPaths: the container has no /dev/null to mask "
                          "files with")
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
        os.close(fd)
        raise PyruncError("linux.maskedPaths: /dev/null in the container is not the null "
                          "device (char 1:3); refusing to mask paths with it")
    return fd


def mask_paths(mask: list[str], label: str = "") -> None:
    """config-linux.md#configLinuxMaskedPaths: directories get an empty
    read-only tmpfs (one, shared by all of them, as in runc), anything else
    /dev/null bound over it; a path given twice is masked once. Targets and
    source are fds resolved inside the root."""
    root = paths.current_root()
    null = -1
    tmpfs = -1  # the first masked directory: the others get a bind of it (runc)
    try:
        for path in dict.fromkeys(os.path.normpath(p) for p in mask):  # each once
            fd = _open_existing(root, path)
            if fd < 0:
                continue
            try:
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    if tmpfs < 0:
                        fdmount.new_fs("tmpfs", [("context", label)] if label else [], fd,
                                       sc.MOUNT_ATTR_RDONLY, what=f"masking {path}")
                        # Re-opened: fd is the directory under the new mount.
                        tmpfs = _open_existing(root, path)
                    else:
                        fdmount.bind(tmpfs, fd, attr_set=sc.MOUNT_ATTR_RDONLY,
                                     what=f"masking {path}")
                else:
                    if null < 0:
                        null = null_device(root)
                    fdmount.bind(null, fd, what=f"masking {path}")
            finally:
                os.close(fd)
    finally:
        os.close(root)
        for fd in (null, tmpfs):
            if fd >= 0:
                os.close(fd)


def readonly_paths(readonly: list[str]) -> None:
    """config-linux.md#configLinuxReadonlyPaths: each path bound onto itself,
    read-only (submounts too) before the bind is attached."""
    root = paths.current_root()
    try:
        for path in readonly:
            fd = _open_existing(root, path)
            if fd < 0:
                continue
            try:
                fdmount.bind(fd, fd, recursive=True, attr_set=sc.MOUNT_ATTR_RDONLY,
                             what=f"making {path} read-only")
            finally:
                os.close(fd)
    finally:
        os.close(root)


def bind_console(slave: int) -> None:
    """config-linux.md#configLinuxDefaultDevices: /dev/console is the
    terminal, the pty slave (an fd) bound on it. /dev/console must be a
    regular file or a device, not on procfs or sysfs: an image whose
    /dev/console is a symlink must not get a terminal bound over (and so a
    writable alias of) a host-wide file (CVE-2025-52565)."""
    root = paths.current_root()
    try:
        pfd, name = paths.parent_and_name(root, "/dev/console")
    finally:
        os.close(root)
    try:
        try:
            os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o600, dir_fd=pfd))
        except FileExistsError:
            pass
        except OSError as err:
            raise PyruncError(f"creating /dev/console: {err.strerror}") from None
        target = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
    finally:
        os.close(pfd)
    try:
        mode = os.fstat(target).st_mode
        if (not (stat.S_ISREG(mode) or stat.S_ISCHR(mode))
                or sc.fstatfs_type(target) in (sc.PROC_SUPER_MAGIC, sc.SYSFS_MAGIC)):
            raise PyruncError("/dev/console in the container is not a regular file or a "
                              "device node; refusing to bind the terminal over it")
        fdmount.bind(slave, target, what="the terminal onto /dev/console")
    finally:
        os.close(target)
