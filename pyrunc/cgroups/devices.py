"""Device access rules (config-linux.md#configLinuxDeviceAllowedlist).

The container always gets the default devices of
config-linux.md#configLinuxDefaultDevices (plus mknod of anything, /dev/pts,
/dev/ptmx and /dev/net/tun, as runc allows): they are appended after the
configured rules, so a config cannot take /dev/null away.
"""
from __future__ import annotations

import os


class Rule:
    __slots__ = ("allow", "type", "major", "minor", "access")

    def __init__(self, allow: bool, type: str = "a", major: int | None = None,
                 minor: int | None = None, access: str = "rwm") -> None:
        self.allow = allow
        self.type = type
        self.major = major
        self.minor = minor
        self.access = access

    def v1(self) -> str:
        """The line for devices.allow / devices.deny."""
        if self.type == "a" and self.major is None and self.minor is None:
            return "a"
        major = "*" if self.major is None or self.major < 0 else str(self.major)
        minor = "*" if self.minor is None or self.minor < 0 else str(self.minor)
        return f"{self.type} {major}:{minor} {self.access}"


DEFAULT_ALLOWED = (
    Rule(True, "c", None, None, "m"), Rule(True, "b", None, None, "m"),
    Rule(True, "c", 1, 3), Rule(True, "c", 1, 8), Rule(True, "c", 1, 7),
    Rule(True, "c", 5, 0), Rule(True, "c", 1, 5), Rule(True, "c", 1, 9),
    Rule(True, "c", 136, None), Rule(True, "c", 5, 2), Rule(True, "c", 10, 200),
)


def effective_rules(configured: list[Rule]) -> list[Rule]:
    return list(configured) + list(DEFAULT_ALLOWED) if configured else []


def apply_v1(cgroup_dir: str, rules: list[Rule]) -> None:
    """Write the rules in order: the v1 devices controller applies each one to
    its current state (deny 'a' resets to deny-all, allow 'a' to allow-all)."""
    for rule in rules:
        name = "devices.allow" if rule.allow else "devices.deny"
        fd = os.open(os.path.join(cgroup_dir, name), os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, rule.v1().encode())
        finally:
            os.close(fd)
