"""Mounts from fd to fd (open_tree, fsopen/fsmount, move_mount, mount_setattr),
for the mounts made after the switch of root.

After pivot_root, a path such as /proc/self/fd/N or /dev/pts/3 is resolved by
the container's own /proc and /dev, which the image controls: a mount by path
could be redirected to a host-wide procfs file (CVE-2025-52565 for
/dev/console, CVE-2025-31133 for the /dev/null of masked paths). With these
calls both ends are fds that were checked before use; nothing is looked up
again. Linux 5.12+ (mount_setattr), like the rest of pyrunc's path handling.
"""
from __future__ import annotations

import os

from . import syscalls as sc


def bind(src_fd: int, dst_fd: int, recursive: bool = False, attr_set: int = 0,
         what: str = "") -> None:
    """Bind what src_fd refers to onto what dst_fd refers to. attr_set
    (MOUNT_ATTR_*) is applied to the new mount before it is attached, so it
    is never visible without them."""
    rec = sc.AT_RECURSIVE if recursive else 0
    tree = sc.open_tree(src_fd, "", sc.OPEN_TREE_CLONE | sc.OPEN_TREE_CLOEXEC
                        | sc.AT_EMPTY_PATH | rec)
    try:
        if attr_set:
            sc.mount_setattr(tree, "", sc.AT_EMPTY_PATH | rec, attr_set, 0, what=what)
        sc.move_mount(tree, "", dst_fd, "", sc.MOVE_MOUNT_F_EMPTY_PATH
                      | sc.MOVE_MOUNT_T_EMPTY_PATH, what=what)
    finally:
        os.close(tree)


def new_fs(fstype: str, options: list[tuple[str, str | None]], dst_fd: int,
           attr_set: int = 0, what: str = "") -> None:
    """A new filesystem instance with options (key, value or None for a
    flag), mounted onto what dst_fd refers to."""
    fsfd = sc.fsopen(fstype)
    try:
        for key, value in options:
            if value is None:
                sc.fsconfig(fsfd, sc.FSCONFIG_SET_FLAG, key)
            else:
                sc.fsconfig(fsfd, sc.FSCONFIG_SET_STRING, key, value)
        sc.fsconfig(fsfd, sc.FSCONFIG_CMD_CREATE)
        mnt = sc.fsmount(fsfd, attr_set)
    finally:
        os.close(fsfd)
    try:
        sc.move_mount(mnt, "", dst_fd, "", sc.MOVE_MOUNT_F_EMPTY_PATH
                      | sc.MOVE_MOUNT_T_EMPTY_PATH, what=what)
    finally:
        os.close(mnt)
