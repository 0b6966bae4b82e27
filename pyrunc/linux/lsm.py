"""AppArmor and SELinux (process.apparmorProfile, process.selinuxLabel,
linux.mountLabel). Asking for a label on a kernel without that LSM is an
error, not a silent skip (the container would run unconfined)."""
from __future__ import annotations

import os

from ..errors import ConfigError, PyruncError


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


def _write_attr(names: tuple[str, ...], value: str, what: str) -> None:
    for name in names:
        path = f"/proc/self/attr/{name}"
        if os.path.exists(path):
            try:
                with open(path, "w") as f:
                    f.write(value)
                return
            except OSError as err:
                raise PyruncError(f"{what}: writing {path}: {err.strerror}") from None
    raise PyruncError(f"{what}: /proc/self/attr is not available in the container")


def apply_apparmor(profile: str) -> None:
    """Takes effect at the next execve (the user's program)."""
    _write_attr(("apparmor/exec", "exec"), f"exec {profile}", "process.apparmorProfile")


def apply_selinux(label: str) -> None:
    _write_attr(("exec",), label, "process.selinuxLabel")


def mount_context(label: str, fstype: str) -> str | None:
    """The mount data option giving a new mount linux.mountLabel's SELinux
    context (quoted: labels contain commas)."""
    if not label or fstype in ("proc", "sysfs", "cgroup", "cgroup2", "bind", "none", ""):
        return None
    return f'context="{label}"'
