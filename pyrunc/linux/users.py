"""Switching to the container's user (config.md#configPOSIXUser)."""
from __future__ import annotations

import os

from ..errors import KernelError


def switch(uid: int, gid: int, additional_gids: list[int], setgroups_allowed: bool) -> None:
    """setgroups, then gid, then uid: once the uid is no longer 0 the process
    may lack CAP_SETGID. In a user namespace whose setgroups file says deny,
    setgroups(2) fails, so it is skipped when there is nothing to set."""
    if setgroups_allowed or additional_gids:
        try:
            os.setgroups(additional_gids)
        except OSError as err:
            raise KernelError("setgroups", err.errno, str(additional_gids)) from None
    try:
        os.setresgid(gid, gid, gid)
    except OSError as err:
        raise KernelError("setresgid", err.errno, str(gid)) from None
    try:
        os.setresuid(uid, uid, uid)
    except OSError as err:
        raise KernelError("setresuid", err.errno, str(uid)) from None


def chown_stdio(uid: int) -> None:
    """Give fds 0-2 to the container's user so it can reopen /dev/stdout or
    use its terminal (runc does the same); /dev/null and files the user
    already owns are left alone, and refusals (EPERM, EROFS) are not errors.
    Only the owner changes: the group stays the one the mount chose (a pty
    keeps devpts's gid=5, tty), as in runc."""
    for fd in (0, 1, 2):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if st.st_uid == uid or (os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
                                and st.st_rdev):
            continue
        try:
            os.fchown(fd, uid, -1)
        except OSError:
            pass


def setgroups_allowed() -> bool:
    try:
        with open("/proc/self/setgroups") as f:
            return f.read().strip() == "allow"
    except OSError:
        return True


def home_of(uid: int, passwd: str = "/etc/passwd") -> str:
    """The home directory of uid in the container's /etc/passwd, or '/'."""
    try:
        with open(passwd, errors="replace") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"
