"""What cgroup hierarchies this host has: v1 (one per controller or group of
controllers), v2 (unified), or hybrid (v1 controllers plus a cgroup2
hierarchy beside them, usually at /sys/fs/cgroup/unified)."""
from __future__ import annotations


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


def _unescape(path: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    if "\\" not in path:
        return path
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and i + 3 < len(path) + 1 and path[i + 1:i + 4].isdigit():
            out.append(chr(int(path[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Hierarchy]:
    found: dict[str, Hierarchy] = {}
    for line in text.splitlines():
        fields = line.split()
        sep = fields.index("-")
        fstype = fields[sep + 1]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        root, mountpoint = _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2":
            key, version, controllers = "", 2, ()
        else:
            opts = [o for o in fields[sep + 3].split(",") if o not in _V1_OPTIONS_IGNORED
                    and not o.startswith("release_agent=")]
            names = [o for o in opts if o.startswith("name=")]
            ctrls = tuple(o for o in opts if not o.startswith("name="))
            key = ",".join(ctrls) if ctrls else (names[0] if names else "")
            if not key:
                continue
            version, controllers = 1, ctrls
        if key not in found:  # the first mount of a hierarchy wins (later ones are binds)
            found[key] = Hierarchy(key, mountpoint, root, version, controllers)
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
