"""The operations that act on a running container's cgroup: pause, resume,
update, ps, events (runc's commands of those names)."""
from __future__ import annotations

import time

from .. import jsonio, state
from ..errors import ContainerNotRunning, PyruncError, StateError
from .ops import cgroup_manager, open_container


def pause(root: str, cid: str) -> None:
    """Freeze every process of the container (v1 freezer, v2 cgroup.freeze)."""
    cdir, record = open_container(root, cid)
    cdir.lock()
    try:
        if cdir.status(record) not in ("running", "created"):
            raise ContainerNotRunning()
        cgroup_manager(record).freeze()
    finally:
        cdir.unlock()


def resume(root: str, cid: str) -> None:
    cdir, record = open_container(root, cid)
    cdir.lock()
    try:
        if cdir.status(record) != "paused":
            raise StateError("container not paused")
        cgroup_manager(record).thaw()
    finally:
        cdir.unlock()


def update(root: str, cid: str, resources_doc: dict, where: str) -> None:
    """Apply a LinuxResources document to the live cgroups and keep it in the
    state (merged into the stored config) for later readers."""
    from .. import bundle

    res = bundle.load_resources(resources_doc, where)
    cdir, record = open_container(root, cid)
    cdir.lock()
    try:
        if cdir.status(record) == "stopped":
            raise StateError("cannot update a stopped container")
        manager = cgroup_manager(record)
        manager.apply(res)
        if res.devices:
            manager.apply_devices(res.devices)
        linux = record.config.setdefault("linux", {})
        linux["resources"] = _merge(linux.get("resources") or {}, resources_doc)
        cdir.save(record)
    finally:
        cdir.unlock()


def update_rdt(root: str, cid: str, l3: str, mb: str) -> None:
    """update --l3-cache-schema / --mem-bw-schema: new schemata for the
    container's resctrl group, under the lock `update` takes."""
    cdir, record = open_container(root, cid)
    cdir.lock()
    try:
        if not record.intel_rdt:
            raise PyruncError("--l3-cache-schema/--mem-bw-schema: the container has no "
                              "linux.intelRdt")
        from ..linux import resctrl

        resctrl.write_schemata(record.intel_rdt["group"], [x for x in (l3, mb) if x])
    finally:
        cdir.unlock()


def _merge(old: dict, new: dict) -> dict:
    out = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def pids(root: str, cid: str) -> list[int]:
    """Host pids of every process in the container's cgroup."""
    _cdir, record = open_container(root, cid)
    return cgroup_manager(record).procs()


def ps_table(root: str, cid: str, ps_args: list[str]) -> str:
    """runc's `ps` table: host ps(1) output, rows of the container's processes."""
    import subprocess

    members = set(pids(root, cid))
    try:
        out = subprocess.run(["ps"] + (ps_args or ["-ef"]), capture_output=True, text=True,
                             check=False)
    except FileNotFoundError:
        raise PyruncError("ps(1) is not installed (apt-get install procps)") from None
    if out.returncode != 0:
        raise PyruncError(f"ps {' '.join(ps_args)}: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return ""
    header = lines[0].split()
    if "PID" not in header:
        raise PyruncError("ps output has no PID column")
    column = header.index("PID")
    rows = [lines[0]]
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in members:
            rows.append(line)
    return "\n".join(rows) + "\n"


def parse_interval(text: str) -> float:
    """Go durations as runc takes them: 5s, 100ms, 1m30s, 1.5s."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    total, number, i = 0.0, "", 0
    if not text:
        raise PyruncError("--interval: empty duration")
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = next((u for u in ("ns", "us", "µs", "ms", "h", "m", "s") if text.startswith(u, i)),
                    None)
        if unit is None or not number:
            raise PyruncError(f"--interval: invalid duration {text!r}")
        total += float(number) * units[unit]
        number, i = "", i + len(unit)
    if number:
        raise PyruncError(f"--interval: missing unit in duration {text!r}")
    if total <= 0:
        raise PyruncError(f"--interval: duration must be positive: {text!r}")
    return total


def _running(cdir: state.ContainerDir, record: state.Record) -> bool:
    return cdir.status(record) in ("running", "created", "paused")


def stats_event(cid: str, record: state.Record) -> str:
    from ..cgroups import stats

    return jsonio.dumps({"type": "stats", "id": cid, "data": stats.collect(cgroup_manager(record))})


def events(root: str, cid: str, interval: float, once: bool, write) -> None:
    """`events --stats` prints one stats event; otherwise stats every interval
    and an oom event when the OOM killer acts, until the container stops."""
    cdir, record = open_container(root, cid)
    if not _running(cdir, record):
        raise StateError(f"container with id {cid} is not running")
    if once:
        write(stats_event(cid, record) + "\n")
        return
    watcher = cgroup_manager(record).oom_events()
    try:
        next_stats = time.monotonic()
        while _running(cdir, record):
            now = time.monotonic()
            if now >= next_stats:
                write(stats_event(cid, record) + "\n")
                next_stats = now + interval
            if watcher.wait(min(next_stats - time.monotonic(), 0.5)):
                write(jsonio.dumps({"type": "oom", "id": cid}) + "\n")
    finally:
        watcher.close()
