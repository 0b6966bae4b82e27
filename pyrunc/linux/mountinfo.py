"""/proc/PID/mountinfo (proc(5)): the one reader of it in pyrunc.

Each line: mount ID, parent ID, major:minor, root, mount point, options,
optional fields ("shared:N", "master:N"...), "-", filesystem type, source,
super-block options. Paths are octal-escaped (space, tab, newline, backslash).
"""
from __future__ import annotations


class Mount:
    __slots__ = ("id", "parent", "root", "mountpoint", "optional", "fstype", "source",
                 "super_options")

    def __init__(self, line: str) -> None:
        fields = line.split()
        sep = fields.index("-", 6)
        self.id = int(fields[0])
        self.parent = int(fields[1])
        self.root = unescape(fields[3])
        self.mountpoint = unescape(fields[4])
        self.optional = fields[6:sep]
        self.fstype = fields[sep + 1]
        self.source = unescape(fields[sep + 2]) if len(fields) > sep + 2 else ""
        self.super_options = fields[sep + 3] if len(fields) > sep + 3 else ""

    @property
    def shared(self) -> bool:
        return any(o.startswith("shared:") for o in self.optional)


def unescape(path: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040)."""
    if "\\" not in path:
        return path
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and path[i + 1:i + 4].isdigit():
            out.append(chr(int(path[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def parse(text: str) -> list[Mount]:
    return [Mount(line) for line in text.splitlines() if line.strip()]


def read(pid: str = "self") -> list[Mount]:
    with open(f"/proc/{pid}/mountinfo") as f:
        return parse(f.read())


def under(mounts: list[Mount], path: str) -> list[Mount]:
    """Mounts strictly below path (not on it), deepest mount point first."""
    prefix = path.rstrip("/") + "/"
    found = [m for m in mounts if m.mountpoint.startswith(prefix)]
    return sorted(found, key=lambda m: (-m.mountpoint.count("/"), -m.id))
