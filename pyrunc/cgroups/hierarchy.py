"""What cgroup hierarchies this host has: v1 (one per controller or group of
controllers), v2 (unified), or hybrid (v1 controllers plus a cgroup2
hierarchy beside them, usually at /sys/fs/cgroup/unified)."""
from __future__ import annotations

from ..linux import mountinfo


class Hierarchy:
    """One mounted cgroup hierarchy."""

    __slots__ = ("key", "mountpoint", "root", "version", "controllers")

    def __init__(self, key: str, mountpoint: str, root: str, version: int,
                 controllers: tuple[str, ...]) -> None:
        # key: how /proc/PID/cgroup names it: "" for cgroup2, "cpu,cpuacct",
        # "name=systemd" for a named v1 hierarchy.
        self.key = key
        self.mountpoint = mountpoint
        self.root = root  # the cgroup shown at the mount point (not "/" under a cgroupns)
        self.version = version
        self.controllers = controllers

    @property
    def dirname(self) -> str:
        """Directory name under a cgroup mount inside the container."""
        if self.key.startswith("name="):
            return self.key[len("name="):]
        return self.key or "unified"

    def __repr__(self) -> str:
        return f"Hierarchy({self.key!r}, {self.mountpoint!r}, v{self.version})"


_V1_OPTIONS_IGNORED = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec",
                       "xattr", "clone_children", "noprefix"}


def parse_mountinfo(text: str) -> list[Hierarchy]:
    found: dict[str, Hierarchy] = {}
    for m in mountinfo.parse(text):
        if m.fstype not in ("cgroup", "cgroup2"):
            continue
        if m.fstype == "cgroup2":
            key, version, controllers = "", 2, ()
        else:
            opts = [o for o in m.super_options.split(",") if o not in _V1_OPTIONS_IGNORED
                    and not o.startswith("release_agent=")]
            names = [o for o in opts if o.startswith("name=")]
            ctrls = tuple(o for o in opts if not o.startswith("name="))
            key = ",".join(ctrls) if ctrls else (names[0] if names else "")
            if not key:
                continue
            version, controllers = 1, ctrls
        if key not in found:  # the first mount of a hierarchy wins (later ones are binds)
            found[key] = Hierarchy(key, m.mountpoint, m.root, version, controllers)
    return list(found.values())


def detect() -> list[Hierarchy]:
    with open("/proc/self/mountinfo") as f:
        return parse_mountinfo(f.read())


def mode(hierarchies: list[Hierarchy]) -> str:
    """'v1', 'v2', 'hybrid' or 'none'."""
    has_v1 = any(h.version == 1 for h in hierarchies)
    has_v2 = any(h.version == 2 for h in hierarchies)
    if has_v1 and has_v2:
        return "hybrid"
    if has_v1:
        return "v1"
    if has_v2:
        return "v2"
    return "none"
