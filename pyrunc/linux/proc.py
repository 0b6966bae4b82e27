"""Reading process facts from /proc."""
from __future__ import annotations


def stat_fields(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of pid, or None if it is gone.

    The start time tells a reused pid from the process we recorded."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(b")") + 2:].split()
    # rest[0] is field 3 (state); field 22 (starttime) is rest[19].
    return rest[0].decode(), int(rest[19])


def is_alive(pid: int, start_time: int) -> bool:
    """True if pid is the process that started at start_time and has not exited."""
    if pid <= 0:
        return False
    fields = stat_fields(pid)
    if fields is None:
        return False
    state, start = fields
    return start == start_time and state not in ("Z", "X", "x")


def start_time(pid: int) -> int:
    fields = stat_fields(pid)
    if fields is None:
        raise ProcessLookupError(pid)
    return fields[1]


def own_cgroups(pid: int | str = "self") -> dict[str, str]:
    """Map of controller (or '' for the cgroup2 hierarchy, 'name=systemd' for
    named ones) to the cgroup path of pid, from /proc/PID/cgroup."""
    out: dict[str, str] = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if not controllers:
                out[""] = path
            for c in controllers.split(","):
                if c:
                    out[c] = path
    return out


def in_user_namespace() -> bool:
    """True unless we are in the initial user namespace."""
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False
