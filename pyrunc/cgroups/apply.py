"""Writing linux.resources into the container's cgroups: the backend's
translation, routed to the right hierarchy, in the order the kernel needs,
with errors naming the config field. A value the host cannot apply is an
error, never a silent skip."""
from __future__ import annotations

import errno
import os

from ..errors import ConfigError
from . import files, v1, v2
from .resources import Resources, Write


def plan(manager, res: Resources) -> list[tuple[str, Write]]:
    """(directory, write) pairs for these resources on this host."""
    def exists(controller: str, name: str) -> bool:
        d = _dir(manager, controller)
        if d is None and manager.mode != "v2":
            routed = _route(manager, Write(controller, name, "0", ""))
            d, name = _dir(manager, routed.controller), routed.file
        return d is not None and os.path.exists(os.path.join(d, name))

    if manager.mode == "v2":
        return [(manager.unified().path, w) for w in v2.writes(res, exists)]
    out = []
    for w in v1.writes(res, exists):
        w = _route(manager, w)
        d = _dir(manager, w.controller)
        if d is None:
            what = "cgroup2 hierarchy" if w.controller == "" else f"{w.controller} controller"
            raise ConfigError(f"linux.resources.{w.field}: the {what} is not available on "
                              "this host")
        out.append((d, w))
    return out


def _dir(manager, controller: str) -> str | None:
    if controller == "":
        d = manager.unified()
    else:
        d = next((x for x in manager.dirs if x.version == 1
                  and controller in x.key.split(",")), None)
    return d.path if d is not None else None


def _route(manager, w: Write) -> Write:
    """On hybrid hosts a controller may live on the cgroup2 hierarchy (hugetlb,
    rdma on this kind of machine): write its v2 file there instead."""
    if w.controller in ("hugetlb", "rdma") and _dir(manager, w.controller) is None:
        unified = manager.unified()
        if unified is not None and w.controller in available_controllers(unified.mountpoint):
            if w.controller == "hugetlb":  # hugetlb.SIZE.[rsvd.]limit_in_bytes
                stem = w.file[:-len("limit_in_bytes")]
                value = "max" if w.value.startswith("-") else w.value
                return Write("", f"{stem}max", value, w.field)
            return Write("", w.file, w.value, w.field)
    return w


def available_controllers(mountpoint: str) -> set[str]:
    try:
        return set(files.read(os.path.join(mountpoint, "cgroup.controllers")).split())
    except OSError:
        return set()


def enable_controllers(mountpoint: str, path: str, wanted: set[str]) -> None:
    """cgroup v2: a controller's files appear in a cgroup only if every
    ancestor lists it in cgroup.subtree_control."""
    rel = os.path.relpath(path, mountpoint)
    if rel == ".":
        return
    current = mountpoint
    for part in rel.split("/"):
        available = available_controllers(current)
        missing = [c for c in wanted if c in available]
        control = os.path.join(current, "cgroup.subtree_control")
        enabled = set(files.read(control).split()) if os.path.exists(control) else set()
        todo = [c for c in missing if c not in enabled]
        if todo:
            try:
                files.write(control, " ".join("+" + c for c in todo))
            except OSError as err:
                # EBUSY: the "no internal processes" rule in a cgroup we do not
                # own; the files will be missing and a write names the field.
                if err.errno not in (errno.EBUSY, errno.EOPNOTSUPP):
                    raise ConfigError(f"cannot enable {', '.join(todo)} in {control}: "
                                      f"{err.strerror}") from None
        current = os.path.join(current, part)


def apply(manager, res: Resources) -> None:
    pairs = plan(manager, res)
    if not pairs:
        return
    unified = manager.unified()
    if unified is not None:
        needed = v2.controllers_needed([w for _, w in pairs])
        if needed:
            enable_controllers(unified.mountpoint, unified.path, needed)
    m = res.memory
    if m is not None and m.check_before_update and m.limit is not None and m.limit > 0:
        _check_usage(manager, m.limit)
    pending = _memory_order(pairs)
    while pending:
        directory, w = pending.pop(0)
        path = os.path.join(directory, w.file)
        try:
            files.write(path, w.value)
        except OSError as err:
            partner = _PERIOD_PARTNER.get(w.file)
            runtime = next((p for p in pending if p[1].file == partner), None)
            if runtime is not None and err.errno == errno.EINVAL:
                # The kernel checks quota/period (and rt runtime/period)
                # against the parent's bandwidth at each write: a shorter
                # period under the old quota can be refused where the new
                # quota first, then the period, is fine (runc retries alike).
                pending.remove(runtime)
                pending[:0] = [runtime, (directory, w)]
                continue
            raise _write_error(w, path, err) from None


# A period file, and the file its bandwidth is measured against.
_PERIOD_PARTNER = {"cpu.cfs_period_us": "cpu.cfs_quota_us",
                   "cpu.rt_period_us": "cpu.rt_runtime_us"}


def _write_error(w: Write, path: str, err: OSError) -> ConfigError:
    if isinstance(err, FileNotFoundError):
        return ConfigError(f"linux.resources.{w.field}: this host has no {w.file} "
                           "(not supported by the kernel or controller not enabled)")
    return ConfigError(f"linux.resources.{w.field}: writing {w.value!r} to {path}: "
                       f"{err.strerror}")


def _memory_order(pairs: list[tuple[str, Write]]) -> list[tuple[str, Write]]:
    """v1 keeps memory.memsw.limit_in_bytes >= memory.limit_in_bytes at every
    moment: when the limit grows (or swap becomes unlimited) the swap limit
    goes first, when it shrinks the memory limit goes first."""
    limit = next((p for p in pairs if p[1].file == "memory.limit_in_bytes"), None)
    swap = next((p for p in pairs if p[1].file == "memory.memsw.limit_in_bytes"), None)
    if limit is None or swap is None:
        return pairs
    try:
        current = int(files.read(os.path.join(limit[0], "memory.limit_in_bytes")))
    except (OSError, ValueError):
        current = 0
    new = int(limit[1].value)
    swap_first = swap[1].value.startswith("-") or new < 0 or new > current
    rest = [p for p in pairs if p is not limit and p is not swap]
    return ([swap, limit] if swap_first else [limit, swap]) + rest


def _check_usage(manager, limit: int) -> None:
    """memory.checkBeforeUpdate: refuse a limit below what is in use."""
    if manager.mode == "v2":
        path = os.path.join(manager.unified().path, "memory.current")
    else:
        d = _dir(manager, "memory")
        path = os.path.join(d, "memory.usage_in_bytes") if d else ""
    try:
        usage = int(files.read(path))
    except (OSError, ValueError):
        return
    if limit < usage:
        raise ConfigError(f"linux.resources.memory.limit: {limit} is below the current usage "
                          f"{usage} (memory.checkBeforeUpdate)")
