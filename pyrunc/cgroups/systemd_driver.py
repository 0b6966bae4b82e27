"""The systemd cgroup driver (--systemd-cgroup) on cgroup v2 hosts: the
container lives in a transient scope systemd makes for it, as with runc.

The manager is CgroupManager with the unit's directory as its one cgroup;
what differs is who makes and removes that directory and who is told about
the limits:
- add(pid), the first time (create places its intermediate): the unit is
  started by StartTransientUnit with PIDs=[pid] and the job awaited; later
  processes (exec) are written into cgroup.procs as on cgroupfs;
- apply(resources): SetUnitProperties with what systemd knows, then every
  file through cgroupfs (runc's order), so `systemctl show` and the files
  agree and systemd does not undo the limits when it reloads;
- destroy(): StopUnit (awaited) and ResetFailedUnit, then whatever directory
  is left;
- freeze, thaw, state, kill_all, oom_events, procs, stats: cgroupfs, as
  runc does.
Device rules stay pyrunc's own eBPF program in the unit's cgroup (as on
cgroupfs); no DeviceAllow is sent, so systemd attaches no second program.
"""
from __future__ import annotations

import os

from ..errors import PyruncError
from . import CgroupDir, CgroupManager, dirs_from_record, files
from . import systemd as sd

JOB_TIMEOUT = 30.0                 # runc waits as long for a unit's job
PROPERTIES = "org.freedesktop.DBus.Properties"
_JOB_REMOVED = ("type='signal',sender='org.freedesktop.systemd1',"
                "interface='org.freedesktop.systemd1.Manager',member='JobRemoved'")


class SystemdManager(CgroupManager):
    def __init__(self, dirs: list[CgroupDir], unit: sd.Unit, rootless: bool = False,
                 start: bool = False) -> None:
        super().__init__(dirs, [], "v2", rootless)
        self.unit = unit
        # Set by plan(): the first add() starts the unit. A manager read back
        # from the state (exec, update, delete) never starts one.
        self.start = start
        self._bus = None
        self._version = -1

    # --- construction ---------------------------------------------------------
    @classmethod
    def plan_unit(cls, cgroups_path: str, cid: str, rootless: bool = False) -> SystemdManager:
        from .hierarchy import detect, mode

        if not os.path.isdir("/run/systemd/system"):
            from ..linux import dbus

            raise PyruncError("--systemd-cgroup: systemd is not running on this host (no "
                              "/run/systemd/system), so there is no systemd manager on the "
                              f"system bus ({dbus.system_bus_address()}); use the cgroupfs "
                              "driver")
        if mode(detect()) != "v2":
            raise PyruncError("--systemd-cgroup: pyrunc's systemd driver needs a cgroup v2 "
                              "(unified) host; this one has cgroup v1 hierarchies")
        unit = sd.parse_cgroups_path(cgroups_path, cid, rootless)
        if unit.kind != "Scope":
            raise PyruncError(f"linux.cgroupsPath: {unit.unit} is a slice; a container needs "
                              "a scope (slice:prefix:name)")
        d = CgroupDir("", unit.cgroup_dir(), 2, sd.UNIFIED_MOUNT)
        return cls([d], unit, rootless, start=True)

    @classmethod
    def from_unit_record(cls, rec: dict) -> SystemdManager:
        unit = sd.Unit(rec["slice"], rec["prefix"], rec["name"])
        return cls(dirs_from_record(rec), unit, rec.get("rootless", False))

    def record(self) -> dict:
        out = super().record()
        out.update({"manager": "systemd", "unit": self.unit.unit, "slice": self.unit.slice,
                    "prefix": self.unit.prefix, "name": self.unit.name})
        return out

    # --- the bus ----------------------------------------------------------------
    def _connection(self):
        """The system bus, connected on first use (with the manager's version,
        which decides the properties systemd knows)."""
        if self._bus is None:
            from ..linux import dbus

            try:
                bus = dbus.connect(timeout=10.0)
                bus.add_match(_JOB_REMOVED)
                version = bus.call(sd.MANAGER, sd.MANAGER_PATH, PROPERTIES, "Get", "ss",
                                   (sd.MANAGER_IFACE, "Version"))
            except dbus.BusError as err:
                raise PyruncError(f"--systemd-cgroup: {err}") from None
            self._version = sd.parse_version(str(version[0][1]))
            self._bus = bus
        return self._bus

    def _systemd_version(self) -> int:
        """The manager's version (-1 if unknown): it decides which properties
        systemd knows."""
        self._connection()
        return self._version

    def _manager_call(self, member: str, sig: str, args: tuple) -> list:
        return self._connection().call(sd.MANAGER, sd.MANAGER_PATH, sd.MANAGER_IFACE, member,
                                       sig, args)

    def _job(self, member: str, sig: str, args: tuple) -> str:
        """Run a method that queues a job and wait for the job's end: its
        result ("done", "failed", "canceled", ...)."""
        from ..linux import dbus

        job = self._manager_call(member, sig, args)[0]
        try:
            msg = self._connection().wait_signal(
                lambda m: m.member == "JobRemoved" and len(m.body) > 1 and m.body[1] == job,
                JOB_TIMEOUT, f"the end of {member} {self.unit.unit}")
        except dbus.BusTimeout:
            raise PyruncError(f"--systemd-cgroup: {member} {self.unit.unit}: the job did not "
                              f"finish within {JOB_TIMEOUT:.0f}s") from None
        return str(msg.body[3])

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()
            self._bus = None

    # --- lifecycle --------------------------------------------------------------
    def reserve(self) -> None:
        """systemd makes (and removes) the unit's directory."""

    def create(self) -> None:
        """Nothing before a process exists: a scope is made with its first pid."""

    def enable_controllers(self) -> None:
        """Done when the unit is started (its accounting properties)."""

    def add(self, pid: int) -> None:
        if not self.start:
            super().add(pid)
            return
        self.start = False
        self._start_unit(pid)
        # hugetlb, rdma, ...: what the accounting properties do not enable.
        super().enable_controllers()

    def _start_unit(self, pid: int) -> None:
        from ..linux import dbus

        name = self.unit.unit
        props = sd.start_properties(self.unit, pid, {}, self._systemd_version())
        args = (name, "replace", props, [])
        try:
            result = self._job("StartTransientUnit", "ssa(sv)a(sa(sv))", args)
        except dbus.DBusError as err:
            if not err.name.endswith("UnitExists"):
                raise PyruncError(f"--systemd-cgroup: starting unit {name}: {err}") from None
            # A unit of that name left over (failed, or stopped but not
            # collected): reset it and try once more, unless it still holds
            # processes (runc's rule).
            if _populated(self.dirs[0].path):
                raise PyruncError(f"--systemd-cgroup: unit {name} already exists and has "
                                  "processes") from None
            self._reset_failed()
            try:
                result = self._job("StartTransientUnit", "ssa(sv)a(sa(sv))", args)
            except dbus.DBusError as again:
                raise PyruncError(f"--systemd-cgroup: starting unit {name}: {again}") from None
        if result != "done":
            self._reset_failed()
            raise PyruncError(f"--systemd-cgroup: starting unit {name}: job {result}")

    def apply(self, resources) -> None:
        props, quota = sd.resource_properties(resources, self._systemd_version(), [])
        if props:
            from ..linux import dbus

            try:
                self._manager_call("SetUnitProperties", "sba(sv)",
                                   (self.unit.unit, True, props))
            except dbus.DBusError as err:
                raise PyruncError(f"linux.resources: systemd refused the properties of unit "
                                  f"{self.unit.unit}: {err}") from None
        if quota is not None and resources.cpu is not None:
            # runc writes the quota systemd rounded to, so file and unit agree.
            resources.cpu.quota = quota
        super().apply(resources)

    def destroy(self, timeout: float = 10.0) -> None:
        from ..linux import dbus

        path = self.dirs[0].path
        files.signal_procs(path, 9)
        try:
            self._job("StopUnit", "ss", (self.unit.unit, "replace"))
        except dbus.DBusError as err:
            if not err.name.endswith("NoSuchUnit"):
                raise PyruncError(f"--systemd-cgroup: stopping unit {self.unit.unit}: "
                                  f"{err}") from None
        self._reset_failed()
        # What systemd left (a sub-cgroup the container made under Delegate).
        self.created = [path]
        super().destroy(timeout)
        self.close()

    def _reset_failed(self) -> None:
        from ..linux import dbus

        try:
            self._manager_call("ResetFailedUnit", "s", (self.unit.unit,))
        except dbus.DBusError:
            pass  # not failed, or already gone


def _populated(path: str) -> bool:
    return files.read_kv(os.path.join(path, "cgroup.events")).get("populated", 0) == 1
