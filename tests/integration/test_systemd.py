"""--systemd-cgroup: the container in a transient systemd scope, as runc
puts it (config-linux.md#configLinuxCgroupsPath leaves the path's meaning to
the runtime; runc's systemd driver reads it as `slice:prefix:name`).

These need systemd as PID 1 on a cgroup v2 host: CI runs them with
`-m systemd` in `../shared/tools/cgv2-vm --systemd`. Elsewhere they skip.
Every case runs against pyrunc and runc alike; the host is checked through
systemctl and the cgroup files, not only through exit codes.
"""
from __future__ import annotations

import os
import subprocess

import pytest

pytestmark = [
    pytest.mark.systemd,
    # CI sets PYRUNC_REQUIRE_SYSTEMD in the VM, where a skip would hide a
    # VM without systemd.
    pytest.mark.skipif(not os.path.isdir("/run/systemd/system")
                       and not os.environ.get("PYRUNC_REQUIRE_SYSTEMD"),
                       reason="needs systemd as PID 1 (../shared/tools/cgv2-vm --systemd)"),
]

SYSTEMD = "--systemd-cgroup"


def _show(unit: str, *props: str) -> dict[str, str]:
    out = subprocess.run(["systemctl", "show", unit, *(f"--property={p}" for p in props)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _unit_gone(unit: str) -> bool:
    state = _show(unit, "LoadState", "ActiveState")
    return state.get("LoadState") == "not-found" or state.get("ActiveState") == "inactive"


def _cgroup_of(pid: int) -> str:
    with open(f"/proc/{pid}/cgroup") as f:
        return f.read().strip()


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _sleeping(bundle, path: str | None = None):
    bundle.config["process"]["args"] = ["sleep", "600"]
    if path is not None:
        bundle.config["linux"]["cgroupsPath"] = path
    return bundle


def test_scope_in_slice_with_limits_configLinuxCgroupsPath(runtime, bundle, cid):
    """slice:prefix:name -> the scope prefix-name.scope under the slice, with
    Delegate=yes, the limits both as unit properties and in the files, and
    delete (without the flag: callers' later commands do not repeat it)
    stops the unit and leaves no cgroup."""
    _sleeping(bundle, f"system.slice:pyrunc-test:{cid}")
    bundle.config["linux"]["resources"] = {
        "memory": {"limit": 64 << 20, "reservation": 32 << 20},
        "pids": {"limit": 50},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}}
    unit = f"pyrunc-test-{cid}.scope"
    runtime.run(SYSTEMD, "create", "--bundle", bundle.write().path, cid, check=True)
    pid = runtime.state(cid)["pid"]
    assert _cgroup_of(pid) == f"0::/system.slice/{unit}"
    props = _show(unit, "Delegate", "MemoryMax", "MemoryLow", "TasksMax", "ActiveState",
                  "Slice", "CPUWeight", "CPUQuotaPerSecUSec", "AllowedCPUs")
    assert props == {"Delegate": "yes", "MemoryMax": str(64 << 20),
                     "MemoryLow": str(32 << 20), "TasksMax": "50", "ActiveState": "active",
                     "Slice": "system.slice", "CPUWeight": "20",
                     "CPUQuotaPerSecUSec": "500ms", "AllowedCPUs": "0"}
    d = f"/sys/fs/cgroup/system.slice/{unit}"
    files = {name: _read(f"{d}/{name}") for name in
             ("memory.max", "memory.low", "pids.max", "cpu.weight", "cpu.max", "cpuset.cpus")}
    assert files == {"memory.max": str(64 << 20), "memory.low": str(32 << 20),
                     "pids.max": "50", "cpu.weight": "20", "cpu.max": "50000 100000",
                     "cpuset.cpus": "0"}
    runtime.run("delete", "--force", cid, check=True)
    assert _unit_gone(unit), _show(unit, "LoadState", "ActiveState")
    assert not os.path.exists(d)


def test_default_unit_without_path_configLinuxCgroupsPath(runtime, bundle, cid):
    """No cgroupsPath: runc's runc-<id>.scope in system.slice."""
    _sleeping(bundle)
    bundle.config["linux"].pop("cgroupsPath", None)
    runtime.run(SYSTEMD, "create", "--bundle", bundle.write().path, cid, check=True)
    pid = runtime.state(cid)["pid"]
    assert _cgroup_of(pid) == f"0::/system.slice/runc-{cid}.scope"
    runtime.run("delete", "--force", cid, check=True)
    assert _unit_gone(f"runc-{cid}.scope")


def test_nested_slice_two_containers(runtime, bundle, cid):
    """A dashed slice name expands to nested slices; two containers share it."""
    ids = [f"{cid}-a", f"{cid}-b"]
    for one in ids:
        _sleeping(bundle, f"pyrunc-t.slice:p:{one}")
        runtime.run(SYSTEMD, "create", "--bundle", bundle.write().path, one, check=True)
    for one in ids:
        pid = runtime.state(one)["pid"]
        assert _cgroup_of(pid) == f"0::/pyrunc.slice/pyrunc-t.slice/p-{one}.scope"
    for one in ids:
        runtime.run("delete", "--force", one, check=True)
        assert _unit_gone(f"p-{one}.scope")


def test_update_pause_resume_runtimeLifecycle(runtime, bundle, cid):
    """update sets the unit's property and the file; pause and resume freeze
    the scope's cgroup."""
    _sleeping(bundle, f"system.slice:pyrunc-test:{cid}")
    bundle.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}}
    unit = f"pyrunc-test-{cid}.scope"
    runtime.run(SYSTEMD, "run", "--detach", "--bundle", bundle.write().path, cid, check=True)
    runtime.run("update", "--memory", str(128 << 20), "--pids-limit", "40", cid, check=True)
    assert _show(unit, "MemoryMax", "TasksMax") == {"MemoryMax": str(128 << 20),
                                                   "TasksMax": "40"}
    d = f"/sys/fs/cgroup/system.slice/{unit}"
    assert _read(f"{d}/memory.max") == str(128 << 20) and _read(f"{d}/pids.max") == "40"
    runtime.run("pause", cid, check=True)
    assert runtime.status(cid) == "paused"
    runtime.run("resume", cid, check=True)
    assert runtime.status(cid) == "running"
    runtime.run("kill", cid, "KILL", check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    runtime.run("delete", cid, check=True)
    assert _unit_gone(unit)


def test_failed_create_leaves_no_unit_runtimeErrors(runtime, bundle, cid):
    """runtime.md#runtimeErrors: a create that fails after the unit was
    started stops it again; no state is left."""
    bundle.config["process"]["args"] = ["/does-not-exist"]
    bundle.config["linux"]["cgroupsPath"] = f"system.slice:pyrunc-test:{cid}"
    res = runtime.run(SYSTEMD, "run", "--bundle", bundle.write().path, cid)
    assert res.returncode != 0
    assert _unit_gone(f"pyrunc-test-{cid}.scope")
    assert runtime.status(cid) == "absent"
    assert not os.path.exists(f"/sys/fs/cgroup/system.slice/pyrunc-test-{cid}.scope")


def test_bad_path_names_the_field(runtime, bundle, cid):
    """Not slice:prefix:name: an error naming the format, nothing left."""
    _sleeping(bundle, "only:two")
    res = runtime.run(SYSTEMD, "create", "--bundle", bundle.write().path, cid)
    assert res.returncode == 1
    # The log line is logfmt: the message's quotes come escaped.
    assert "expected cgroupsPath to be of format" in res.stderr
    assert "slice:prefix:name" in res.stderr and "only:two" in res.stderr
    assert runtime.status(cid) == "absent"


def test_exec_ps_events_kill_all_runtimeKill(runtime, bundle, cid):
    """Later commands find the scope through the state: an exec'd process
    joins it, ps and events read it, kill --all signals everything in it."""
    _sleeping(bundle, f"system.slice:pyrunc-test:{cid}")
    unit = f"pyrunc-test-{cid}.scope"
    runtime.run(SYSTEMD, "run", "--detach", "--bundle", bundle.write().path, cid, check=True)
    res = runtime.run("exec", cid, "cat", "/proc/self/cgroup", check=True)
    # The container has its own cgroup namespace (the spec's default config):
    # the scope is its root.
    assert res.stdout.strip() == "0::/"
    runtime.run("exec", "--detach", cid, "sleep", "500", check=True)
    procs = _read(f"/sys/fs/cgroup/system.slice/{unit}/cgroup.procs").split()
    assert len(procs) == 2
    ps = runtime.run("ps", "--format", "json", cid, check=True)
    assert sorted(int(p) for p in procs) == sorted(__import__("json").loads(ps.stdout))
    stats = runtime.run("events", "--stats", cid, check=True)
    assert '"memory"' in stats.stdout
    runtime.run("kill", "--all", cid, "KILL", check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    runtime.run("delete", cid, check=True)
    assert _unit_gone(unit)


def test_unit_with_live_processes_is_refused(runtime, bundle, cid, runc_bug):
    """A second container asking for a unit that already holds a live
    container is an error, and the first one is untouched (runc 1.2+)."""
    _sleeping(bundle, f"system.slice:pyrunc-test:{cid}")
    runtime.run(SYSTEMD, "create", "--bundle", bundle.write().path, cid, check=True)
    res = runtime.run(SYSTEMD, "create", "--bundle", bundle.path, f"{cid}-2")
    if runtime.name == "runc" and res.returncode == 0:
        runtime.run("delete", "--force", f"{cid}-2")
        runc_bug("1.1.5 only warns and puts the second container into the same scope")
        pytest.fail("runc accepted a second container in a busy unit")
    assert res.returncode == 1, res.stderr
    assert runtime.status(f"{cid}-2") == "absent"
    assert runtime.status(cid) == "created"
    assert _show(f"pyrunc-test-{cid}.scope", "ActiveState")["ActiveState"] == "active"
    runtime.run("delete", "--force", cid, check=True)
