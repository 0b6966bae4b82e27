"""Intel RDT through the resctrl filesystem (config-linux.md#configLinuxIntelRdt).

The rules of the spec: the group is `closID` or the container ID; schemata
lines are written l3CacheSchema, memBwSchema, then `schemata`; an existing
closID group with a schema must already match it; a group pyrunc created is
removed at delete, a given closID never is; monitoring is a mon_groups/<id>
group. No resctrl mounted is an error.
"""
from __future__ import annotations

import os

from ..errors import ConfigError, PyruncError


def mountpoint() -> str | None:
    from . import mountinfo

    return next((m.mountpoint for m in mountinfo.read() if m.fstype == "resctrl"), None)


class Plan:
    """What create does with resctrl, and what delete undoes (as a record)."""

    def __init__(self, group: str, created: bool, mon_group: str) -> None:
        self.group = group          # the CTRL_MON group directory
        self.created = created      # made by pyrunc: removed at delete
        self.mon_group = mon_group  # mon_groups/<id>, or ""

    def record(self) -> dict:
        return {"group": self.group, "created": self.created, "mon_group": self.mon_group}


def _schemata_lines(l3: str, mb: str, schemata: list[str]) -> list[str]:
    lines = [x for x in (l3, mb) if x] + list(schemata)
    for i, line in enumerate(lines):
        if "\n" in line:
            raise ConfigError(f"linux.intelRdt: schema line {i} must not contain newlines")
    if mb and not mb.startswith("MB:"):
        raise ConfigError("linux.intelRdt.memBwSchema: must start with 'MB:'")
    return lines


def _read_schemata(group: str) -> set[str]:
    with open(os.path.join(group, "schemata")) as f:
        return {line.strip().replace(" ", "") for line in f if line.strip()}


def setup(cid: str, clos_id: str, l3: str, mb: str, schemata: list[str],
          monitoring: bool, root: str | None = None) -> Plan:
    """Create or check the group and write its schemata (before any task joins)."""
    root = root or mountpoint()
    if root is None:
        raise ConfigError("linux.intelRdt: no resctrl filesystem is mounted "
                          "(mount -t resctrl resctrl /sys/fs/resctrl)")
    lines = _schemata_lines(l3, mb, schemata)
    if clos_id == "/":
        group, created = root, False
    else:
        name = clos_id or cid
        if "/" in name or name in (".", ".."):
            raise ConfigError(f"linux.intelRdt.closID: {name!r} is not a group name")
        group = os.path.join(root, name)
        created = False
        if not os.path.isdir(group):
            if clos_id and not lines:
                raise ConfigError(f"linux.intelRdt.closID: {clos_id!r} does not exist in "
                                  f"{root} and no schema is given to create it")
            os.mkdir(group)
            created = True
        elif clos_id and lines:
            current = _read_schemata(group)
            for line in (x for x in (l3, mb) if x):
                if line.replace(" ", "") not in current:
                    raise ConfigError(f"linux.intelRdt: closID {clos_id!r} exists with a "
                                      f"different schema than {line!r}")
    try:
        if lines and (created or not clos_id):
            write_schemata(group, lines)
        mon = ""
        if monitoring:
            mon = os.path.join(group, "mon_groups", cid)
            try:
                os.mkdir(mon)
            except OSError as err:
                raise PyruncError(f"linux.intelRdt.enableMonitoring: creating {mon}: "
                                  f"{err.strerror}") from None
    except BaseException:
        if created:
            os.rmdir(group)
        raise
    return Plan(group, created, mon)


def write_schemata(group: str, lines: list[str]) -> None:
    """Each line in its own write: the kernel parses one schemata line per
    write and names the line it refuses."""
    for line in lines:
        try:
            with open(os.path.join(group, "schemata"), "w") as f:
                f.write(line + "\n")
        except OSError as err:
            raise PyruncError(f"writing {line!r} to {group}/schemata: "
                              f"{err.strerror}") from None


def add(rec: dict, pid: int) -> None:
    """Put a task into the group (and its monitoring group)."""
    for directory in (rec["group"], rec.get("mon_group")):
        if directory:
            with open(os.path.join(directory, "tasks"), "w") as f:
                f.write(str(pid))


def remove(rec: dict) -> None:
    if rec.get("mon_group"):
        try:
            os.rmdir(rec["mon_group"])
        except FileNotFoundError:
            pass
    if rec.get("created"):
        try:
            os.rmdir(rec["group"])
        except FileNotFoundError:
            pass
