"""AppArmor and SELinux (process.apparmorProfile, process.selinuxLabel,
linux.mountLabel). Asking for a label on a kernel without that LSM is an
error, not a silent skip (the container would run unconfined)."""
from __future__ import annotations

import errno
import os

from ..errors import ConfigError, KernelError, PyruncError


def apparmor_enabled() -> bool:
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def selinux_enabled() -> bool:
    return os.path.exists("/sys/fs/selinux/enforce")


def check(apparmor_profile: str, selinux_label: str, mount_label: str) -> None:
    if apparmor_profile and not apparmor_enabled():
        raise ConfigError(f"process.apparmorProfile: {apparmor_profile!r} asked for, but "
                          "AppArmor is not enabled on this kernel")
    for field, label in (("process.selinuxLabel", selinux_label),
                         ("linux.mountLabel", mount_label)):
        if label and not selinux_enabled():
            raise ConfigError(f"{field}: {label!r} asked for, but SELinux is not enabled "
                              "on this kernel")


def _write_attr(proc, names: tuple[str, ...], value: str, what: str) -> None:
    """Through the init's private procfs (procfs.ProcHandle): a write meant
    for our own attribute can then not be sent to another file by mounts
    over the container's /proc/self/attr (CVE-2019-16884, CVE-2025-52881)."""
    for name in names:
        try:
            proc.write(f"thread-self/attr/{name}", value)
            return
        except KernelError as err:
            if err.errno == errno.ENOENT:
                continue
            raise PyruncError(f"{what}: writing /proc/thread-self/attr/{name}: "
                              f"{os.strerror(err.errno)}") from None
        except OSError as err:
            raise PyruncError(f"{what}: writing /proc/thread-self/attr/{name}: "
                              f"{err.strerror}") from None
    raise PyruncError(f"{what}: /proc/thread-self/attr is not available")


def apply_apparmor(proc, profile: str) -> None:
    """Takes effect at the next execve (the user's program)."""
    _write_attr(proc, ("apparmor/exec", "exec"), f"exec {profile}", "process.apparmorProfile")


def apply_selinux(proc, label: str) -> None:
    _write_attr(proc, ("exec",), label, "process.selinuxLabel")


def mount_context(label: str, fstype: str) -> str | None:
    """The mount data option giving a new mount linux.mountLabel's SELinux
    context (quoted: labels contain commas)."""
    if not label or fstype in ("proc", "sysfs", "cgroup", "cgroup2", "bind", "none", ""):
        return None
    return f'context="{label}"'
