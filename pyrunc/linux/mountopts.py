"""Translate config.md#configLinuxMountOptions strings into mount(2) arguments.

Pure functions: no system calls, so the translation is unit-tested directly.
The flag values come from `syscalls`, so importing this module loads ctypes.
"""
from __future__ import annotations

from . import syscalls as sc

# option -> (clear?, flag): options that set or clear a mount(2) flag.
FLAGS: dict[str, tuple[bool, int]] = {
    "async": (True, sc.MS_SYNCHRONOUS),
    "atime": (True, sc.MS_NOATIME),
    "bind": (False, sc.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, sc.MS_NODEV),
    "diratime": (True, sc.MS_NODIRATIME),
    "dirsync": (False, sc.MS_DIRSYNC),
    "exec": (True, sc.MS_NOEXEC),
    "iversion": (False, sc.MS_I_VERSION),
    "lazytime": (False, sc.MS_LAZYTIME),
    "loud": (True, sc.MS_SILENT),
    "mand": (False, sc.MS_MANDLOCK),
    "noatime": (False, sc.MS_NOATIME),
    "nodev": (False, sc.MS_NODEV),
    "nodiratime": (False, sc.MS_NODIRATIME),
    "noexec": (False, sc.MS_NOEXEC),
    "noiversion": (True, sc.MS_I_VERSION),
    "nolazytime": (True, sc.MS_LAZYTIME),
    "nomand": (True, sc.MS_MANDLOCK),
    "norelatime": (True, sc.MS_RELATIME),
    "nostrictatime": (True, sc.MS_STRICTATIME),
    "nosuid": (False, sc.MS_NOSUID),
    "nosymfollow": (False, sc.MS_NOSYMFOLLOW),
    "rbind": (False, sc.MS_BIND | sc.MS_REC),
    "relatime": (False, sc.MS_RELATIME),
    "remount": (False, sc.MS_REMOUNT),
    "ro": (False, sc.MS_RDONLY),
    "rw": (True, sc.MS_RDONLY),
    "silent": (False, sc.MS_SILENT),
    "strictatime": (False, sc.MS_STRICTATIME),
    "suid": (True, sc.MS_NOSUID),
    "symfollow": (True, sc.MS_NOSYMFOLLOW),
    "sync": (False, sc.MS_SYNCHRONOUS),
}

PROPAGATION: dict[str, int] = {
    "private": sc.MS_PRIVATE,
    "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED,
    "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE,
    "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE,
    "runbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}

# Recursive options, applied with mount_setattr(AT_RECURSIVE):
# option -> (clear?, MOUNT_ATTR_* bit).
RECURSIVE: dict[str, tuple[bool, int]] = {
    "rro": (False, sc.MOUNT_ATTR_RDONLY),
    "rrw": (True, sc.MOUNT_ATTR_RDONLY),
    "rnosuid": (False, sc.MOUNT_ATTR_NOSUID),
    "rsuid": (True, sc.MOUNT_ATTR_NOSUID),
    "rnodev": (False, sc.MOUNT_ATTR_NODEV),
    "rdev": (True, sc.MOUNT_ATTR_NODEV),
    "rnoexec": (False, sc.MOUNT_ATTR_NOEXEC),
    "rexec": (True, sc.MOUNT_ATTR_NOEXEC),
    "rnodiratime": (False, sc.MOUNT_ATTR_NODIRATIME),
    "rdiratime": (True, sc.MOUNT_ATTR_NODIRATIME),
    "rnosymfollow": (False, sc.MOUNT_ATTR_NOSYMFOLLOW),
    "rsymfollow": (True, sc.MOUNT_ATTR_NOSYMFOLLOW),
}
# The atime mode is one field of mount_setattr: an option picks a mode, as
# mount(8) defines them (atime and nostrictatime fall back to the kernel's
# default, relatime; norelatime means strictatime).
RECURSIVE_ATIME: dict[str, int] = {
    "rnoatime": sc.MOUNT_ATTR_NOATIME,
    "ratime": sc.MOUNT_ATTR_RELATIME,
    "rrelatime": sc.MOUNT_ATTR_RELATIME,
    "rnostrictatime": sc.MOUNT_ATTR_RELATIME,
    "rstrictatime": sc.MOUNT_ATTR_STRICTATIME,
    "rnorelatime": sc.MOUNT_ATTR_STRICTATIME,
}

# Options that pyrunc itself acts on and never passes to the kernel.
EXTENSIONS = ("tmpcopyup", "idmap", "ridmap")


class MountOptions:
    """The parsed option list of one mount."""

    __slots__ = ("flags", "clear", "propagation", "attr_set", "attr_clr", "data",
                 "extensions")

    def __init__(self) -> None:
        self.flags = 0          # bits to set with mount(2)
        self.clear = 0          # bits explicitly cleared (rw, suid, dev, ...)
        self.propagation: list[int] = []
        self.attr_set = 0       # mount_setattr(AT_RECURSIVE) attributes to set
        self.attr_clr = 0
        self.data: list[str] = []
        self.extensions: set[str] = set()

    @property
    def bind(self) -> bool:
        return bool(self.flags & sc.MS_BIND)

    @property
    def recursive(self) -> bool:
        return bool(self.flags & sc.MS_REC)

    @property
    def data_string(self) -> str | None:
        return ",".join(self.data) if self.data else None


def parse(options: list[str]) -> MountOptions:
    out = MountOptions()
    for opt in options:
        if opt in FLAGS:
            clear, bit = FLAGS[opt]
            if clear:
                out.flags &= ~bit
                out.clear |= bit
            else:
                out.flags |= bit
                out.clear &= ~bit
        elif opt in PROPAGATION:
            out.propagation.append(PROPAGATION[opt])
        elif opt in RECURSIVE:
            clear, bit = RECURSIVE[opt]
            if clear:
                out.attr_clr |= bit
                out.attr_set &= ~bit
            else:
                out.attr_set |= bit
                out.attr_clr &= ~bit
        elif opt in RECURSIVE_ATIME:
            out.attr_clr |= sc.MOUNT_ATTR__ATIME
            out.attr_set = (out.attr_set & ~sc.MOUNT_ATTR__ATIME) | RECURSIVE_ATIME[opt]
        elif opt in EXTENSIONS:
            out.extensions.add(opt)
        else:
            # config.md: unknown options are filesystem-specific data.
            out.data.append(opt)
    return out


# Flags a bind remount can change (mount(2): MS_REMOUNT|MS_BIND only honours
# the per-mount-point flags).
BIND_REMOUNT_MASK = (sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
                     | sc.MS_NOATIME | sc.MS_NODIRATIME | sc.MS_RELATIME
                     | sc.MS_STRICTATIME | sc.MS_NOSYMFOLLOW)
