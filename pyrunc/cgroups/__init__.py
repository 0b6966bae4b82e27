"""The container's cgroups through the cgroupfs driver, on v1, v2 and hybrid
hosts, behind one interface (CgroupManager).

config-linux.md#configLinuxCgroupsPath:
- an absolute cgroupsPath is taken relative to each hierarchy's mount point;
- a relative one is relative to pyrunc's own cgroup in that hierarchy (runc);
- none means the relative path `<id>` (runc's default).
On a v1 or hybrid host the container (its intermediate, so the init is born
there) joins every mounted hierarchy, the cgroup2 one
included on hybrid hosts (hugetlb lives there on some hosts).
"""
from __future__ import annotations

import errno
import os
import time

from ..errors import ConfigError, PyruncError
from . import files, freezer
from .freezer import FROZEN, THAWED

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from .hierarchy import Hierarchy
    from .oom import OomEvents


class CgroupView:
    """One cgroup hierarchy as the container should see it at a `cgroup` mount."""

    __slots__ = ("name", "host_path", "data", "version", "links")

    def __init__(self, name: str, host_path: str, data: str, version: int,
                 links: tuple[str, ...] = ()) -> None:
        self.name = name            # subdirectory under the mount ("cpu,cpuacct", "systemd")
        self.host_path = host_path  # the container's cgroup directory on the host
        self.data = data            # mount data for a fresh cgroup mount ("cpu,cpuacct")
        self.version = version      # 1 or 2
        self.links = links          # co-mounted controllers get symlinks ("cpu", "cpuacct")


class CgroupDir:
    """The container's directory in one hierarchy."""

    __slots__ = ("key", "path", "version", "mountpoint")

    def __init__(self, key: str, path: str, version: int, mountpoint: str) -> None:
        self.key = key
        self.path = path
        self.version = version
        self.mountpoint = mountpoint

    def to_dict(self) -> dict:
        return {"key": self.key, "path": self.path, "version": self.version,
                "mountpoint": self.mountpoint}

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)


def check_path(cgroups_path: str) -> None:
    parts = cgroups_path.split("/")
    if ".." in parts:
        raise ConfigError(f"linux.cgroupsPath: {cgroups_path!r} must not contain '..'")


def _host_dir(h: Hierarchy, cgroups_path: str, cid: str, own: dict[str, str]) -> str:
    inner = cgroups_path or cid
    if not inner.startswith("/"):
        inner = os.path.join(own.get(h.key, "/"), inner)
    # Paths in /proc/self/cgroup and in cgroupsPath are relative to the
    # cgroup namespace root, which is what the mount shows (h.root).
    rel = os.path.normpath(inner)
    if h.root not in ("/", "") and rel.startswith(h.root.rstrip("/") + "/"):
        rel = rel[len(h.root.rstrip("/")):]
    return os.path.normpath(os.path.join(h.mountpoint, rel.lstrip("/")))


class CgroupManager:
    """The container's cgroups through the cgroupfs driver: planning and
    making the directories, joining, resources, and the operations every
    command uses on a live container (freeze, thaw, state, kill_all,
    oom_events, procs), so that no caller reads a cgroup file itself."""

    def __init__(self, dirs: list[CgroupDir], created: list[str], host_mode: str,
                 rootless: bool = False) -> None:
        self.dirs = dirs
        self.created = created
        self.mode = host_mode
        self.rootless = rootless

    # --- construction ---------------------------------------------------------
    @classmethod
    def plan(cls, cgroups_path: str, cid: str, rootless: bool = False) -> CgroupManager:
        """Work out the container's cgroup directories; nothing is created."""
        check_path(cgroups_path)
        from ..linux.proc import own_cgroups
        from .hierarchy import detect, mode

        hierarchies = detect()
        own = own_cgroups()
        dirs = [CgroupDir(h.key, _host_dir(h, cgroups_path, cid, own), h.version,
                          h.mountpoint) for h in hierarchies]
        return cls(dirs, [], mode(hierarchies), rootless)

    @classmethod
    def for_container(cls, cgroups_path: str, cid: str, rootless: bool = False,
                      systemd: bool = False) -> CgroupManager:
        """The manager of the driver asked for (--systemd-cgroup or not)."""
        if systemd:
            from .systemd_driver import SystemdManager

            return SystemdManager.plan_unit(cgroups_path, cid, rootless)
        return cls.plan(cgroups_path, cid, rootless)

    @classmethod
    def from_record(cls, rec: dict) -> CgroupManager:
        if rec.get("manager") == "systemd":
            from .systemd_driver import SystemdManager

            return SystemdManager.from_unit_record(rec)
        return cls(dirs_from_record(rec), list(rec.get("created", [])),
                   rec.get("mode", "none"), rec.get("rootless", False))

    def record(self) -> dict:
        out = {"manager": "cgroupfs", "mode": self.mode, "rootless": self.rootless,
               "dirs": [d.to_dict() for d in self.dirs], "created": self.created}
        freezer = self.freezer_file()
        if freezer:
            out["freezer_file"] = freezer
        return out

    # --- lookups ----------------------------------------------------------------
    def get(self, key: str) -> CgroupDir | None:
        for d in self.dirs:
            if d.key == key or key in d.key.split(","):
                return d
        return None

    def unified(self) -> CgroupDir | None:
        return self.get("") if any(d.version == 2 for d in self.dirs) else None

    def freezer_file(self) -> str:
        v1 = next((d for d in self.dirs if d.version == 1 and "freezer" in d.key.split(",")),
                  None)
        if v1 is not None:
            return v1.file("freezer.state")
        v2 = self.unified()
        if v2 is not None and self.mode == "v2":
            return v2.file("cgroup.freeze")
        return ""

    def views(self) -> list[CgroupView]:
        """How a `cgroup` mount inside the container shows each hierarchy."""
        out = []
        for d in self.dirs:
            if self.mode != "v2" and d.version == 2:
                continue  # runc shows only the v1 hierarchies on hybrid hosts
            key = d.key
            if key.startswith("name="):
                name, data = key[len("name="):], f"none,{key}"
            else:
                name, data = (key or "unified"), key
            links = tuple(key.split(",")) if "," in key else ()
            out.append(CgroupView(name, d.path, data, d.version, links))
        return out

    def _procs_dir(self) -> CgroupDir | None:
        """The hierarchy to enumerate processes from."""
        if self.mode == "v2":
            return self.unified()
        for key in ("pids", "freezer", "memory", "cpu"):
            d = self.get(key)
            if d is not None:
                return d
        return self.dirs[0] if self.dirs else None

    # --- lifecycle -------------------------------------------------------------
    def reserve(self) -> None:
        """List the directories create() will make (those missing now) before
        making any: recorded in between, they let `delete --force` remove
        them even if create is killed halfway."""
        for d in self.dirs:
            for _parent, current in _chain(d):
                if not os.path.isdir(current) and current not in self.created:
                    self.created.append(current)

    def create(self) -> None:
        """Create the directories (and missing parents), remembering which ones
        this container made, so delete removes those and no others."""
        for d in self.dirs:
            try:
                self._mkdir_path(d)
            except OSError as err:
                if self.rootless and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                    continue
                raise PyruncError(f"cannot create cgroup {d.path}: {err.strerror}") from None

    def _mkdir_path(self, d: CgroupDir) -> None:
        cpuset = d.version == 1 and "cpuset" in d.key.split(",")
        for parent, current in _chain(d):
            try:
                os.mkdir(current, 0o755)
                if current not in self.created:
                    self.created.append(current)
            except FileExistsError:
                pass
            if cpuset:
                # Existing parents too: an empty cpuset anywhere on the path
                # refuses tasks (runc fills them the same way).
                _inherit_cpuset(parent, current)

    def add(self, pid: int) -> None:
        """Move pid into every hierarchy's directory."""
        for d in self.dirs:
            try:
                files.write(d.file("cgroup.procs"), str(pid))
            except OSError as err:
                if self.rootless and err.errno in (errno.EACCES, errno.EPERM, errno.ENOENT):
                    continue
                raise PyruncError(f"cannot join cgroup {d.path}: {err.strerror}") from None

    def apply(self, resources) -> None:
        """Write linux.resources (all but devices) into the cgroups."""
        from .apply import apply

        apply(self, resources)

    def enable_controllers(self) -> None:
        """cgroup v2: make every available controller's files appear in the
        container's cgroup (enabled in each ancestor), as runc does, so that
        limits can be set and callers can read statistics."""
        d = self.unified()
        if d is None:
            return
        from .apply import available_controllers, enable_controllers

        wanted = available_controllers(d.mountpoint) if self.mode == "v2" else {"hugetlb"}
        enable_controllers(d.mountpoint, d.path, wanted)

    # --- freezer ----------------------------------------------------------------
    def _freezer(self) -> freezer.Freezer:
        f = freezer.for_file(self.freezer_file())
        if f is None:
            raise PyruncError("the container's cgroups have no freezer")
        return f

    def freeze(self, timeout: float = 10.0) -> None:
        """Freeze every process (v1 freezer.state, v2 cgroup.freeze) and wait
        until the kernel reports it done."""
        self._freezer().set(True, timeout)

    def thaw(self, timeout: float = 10.0) -> None:
        self._freezer().set(False, timeout)

    def state(self) -> str:
        """freezer.FROZEN (freezing included), freezer.THAWED, or "" without a
        freezer or once the cgroup is gone."""
        f = freezer.for_file(self.freezer_file())
        return f.state() if f is not None else ""

    def kill_all(self, signum: int) -> bool:
        """Signal every process in the container's cgroup: frozen first, so
        none can fork away in between, then the freezer put back as it was
        (frozen stays frozen, except that SIGKILL needs a thaw to take
        effect). False if the cgroup is gone."""
        if not self.exists():
            return False
        d = self._procs_dir()
        before = self.state()
        can_freeze = before != ""
        if before == THAWED:
            try:
                self.freeze()
            except OSError as err:
                # A delete is removing the cgroups (or was killed doing so):
                # the freezer's is gone, so it was empty (rmdir takes only
                # empty ones), and so is every other. Signal what is listed.
                if not _gone(err):
                    raise
                can_freeze = False
        try:
            files.signal_procs(d.path, signum)
        finally:
            if can_freeze and (before == THAWED or signum == 9):
                try:
                    self.thaw()
                except OSError as err:
                    if not _gone(err):  # removed since: nothing left to thaw
                        raise
        return True

    def oom_events(self) -> OomEvents:
        """What `events` waits on for OOM kills (cgroups.oom)."""
        from . import oom

        mem = next((d for d in self.dirs if d.version == 1 and "memory" in d.key.split(",")),
                   None)
        if mem is not None:
            return oom.V1OomEvents(mem.path)
        if self.mode == "v2":
            return oom.V2OomEvents(self.unified().path)
        return oom.OomEvents()

    def apply_devices(self, rules: list) -> None:
        """config-linux.md#configLinuxDeviceAllowedlist: the v1 devices
        controller where there is one (v1 and hybrid hosts), an eBPF device
        program on a pure v2 host."""
        if not rules:
            return
        from . import devices

        v1 = next((d for d in self.dirs if d.version == 1 and "devices" in d.key.split(",")),
                  None)
        if v1 is not None:
            devices.apply_v1(v1.path, rules)
            return
        v2 = self.unified()
        if v2 is not None:
            from . import ebpf

            ebpf.apply(v2.path, rules)

    def procs(self) -> list[int]:
        """Every process in the container's cgroup (host pids)."""
        d = self._procs_dir()
        if d is None:
            return []
        try:
            with open(d.file("cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def processes_inside(self) -> int:
        """How many processes the container's cgroup and its descendants hold
        already (0 where it does not exist yet, the usual case)."""
        d = self._procs_dir()
        if d is None or not os.path.isdir(d.path):
            return 0
        count = 0
        for dirpath, _dirs, _files in os.walk(d.path):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    count += len(f.read().split())
            except OSError:
                pass
        return count

    def exists(self) -> bool:
        d = self._procs_dir()
        return d is not None and os.path.isdir(d.path)

    def destroy(self, timeout: float = 10.0) -> None:
        """Remove the directories this container created, deepest first.
        Processes still inside are killed: an empty cgroup is the only kind
        rmdir accepts, and a failed delete must not strand the container."""
        deadline = time.monotonic() + timeout
        leaves = {d.path for d in self.dirs}
        for path in sorted(self.created, key=lambda p: p.count("/"), reverse=True):
            delay = 0.001
            while True:
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError as err:
                    if path not in leaves:
                        # A parent we made that another container now uses
                        # (or made first, when create was killed halfway).
                        break
                    if err.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise PyruncError(f"cannot remove cgroup {path}: "
                                          f"{err.strerror}") from None
                files.signal_procs(path, 9)
                _remove_children(path)
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        self.created = []


def dirs_from_record(rec: dict) -> list[CgroupDir]:
    """The directories of a manager's record (every driver's)."""
    return [CgroupDir(d["key"], d["path"], d["version"], d["mountpoint"])
            for d in rec.get("dirs", [])]


def _chain(d: CgroupDir) -> list[tuple[str, str]]:
    """(parent, directory) for each directory from below the mount point down
    to d.path."""
    rel = os.path.relpath(d.path, d.mountpoint)
    out, current = [], d.mountpoint
    for part in ([] if rel == "." else rel.split("/")):
        out.append((current, os.path.join(current, part)))
        current = out[-1][1]
    return out


def _remove_children(path: str) -> None:
    """Sub-cgroups the container made inside its own (delegated, or with a
    writable cgroupfs): their processes killed, then removed deepest first,
    since rmdir of the container's takes only a cgroup without children
    (runc removes them the same way). cgroupfs has no symlinks to follow."""
    subdirs = [d for d, _, _ in os.walk(path) if d != path]
    for d in sorted(subdirs, key=lambda p: p.count("/"), reverse=True):
        files.signal_procs(d, 9)
        try:
            os.rmdir(d)
        except OSError:
            pass  # busy still: the caller's loop tries again


def _gone(err: OSError) -> bool:
    # ENODEV: a cgroup file opened just before its directory was removed.
    return err.errno in (errno.ENOENT, errno.ENODEV)


def _inherit_cpuset(parent: str, child: str) -> None:
    """A new v1 cpuset starts with no cpus and mems, and then refuses tasks."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        with open(os.path.join(child, name)) as f:
            if f.read().strip():
                continue
        with open(os.path.join(parent, name)) as f:
            value = f.read().strip()
        files.write(os.path.join(child, name), value)


__all__ = ["FROZEN", "THAWED", "CgroupDir", "CgroupManager", "CgroupView", "check_path"]
