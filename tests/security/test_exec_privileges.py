"""Issue 9, class 4 (CVE-2022-29162): `exec` adds no privileges.

`exec --cap X` puts X into the bounding, effective and permitted sets, and
into the ambient set only where the process's config has an inheritable set;
never into the inheritable set (a process with inheritable capabilities
gains a file's inheritable capabilities at execve). An exec'd process holds
nothing outside its bounding set, and nothing is exec'd into a stopped
container.
"""
from __future__ import annotations

import json
import os
import shutil

import pytest

from helpers import processes_of

SYS_ADMIN = 1 << 21
KILL = 1 << 5


def _caps(runtime, cid, *flags) -> dict[str, int]:
    res = runtime.run("exec", *flags, cid, "grep", "^Cap", "/proc/self/status")
    assert res.returncode == 0, res.stderr
    return {line.split(":")[0]: int(line.split()[1], 16) for line in res.stdout.splitlines()}


def _start(runtime, bundle, cid, inheritable):
    caps = bundle.config["process"]["capabilities"]
    if inheritable is None:
        caps.pop("inheritable", None)
    else:
        caps["inheritable"] = inheritable
    bundle.config["process"]["args"] = ["sleep", "600"]
    runtime.run_container(bundle, cid, "--detach", check=True)


def test_exec_cap_never_inheritable_without_config_set(runtime, bundle, cid):
    """No inheritable set in the config: --cap reaches bounding, effective
    and permitted only."""
    _start(runtime, bundle, cid, None)
    got = _caps(runtime, cid, "--cap", "CAP_SYS_ADMIN")
    assert got["CapBnd"] & SYS_ADMIN and got["CapEff"] & SYS_ADMIN and got["CapPrm"] & SYS_ADMIN
    assert got["CapInh"] == 0, got
    assert got["CapAmb"] == 0, got


def test_exec_cap_with_config_inheritable_set(runtime, bundle, cid):
    """With an inheritable set in the config, that set is kept as it is; the
    added capability is not made inheritable (so it cannot be ambient either:
    the kernel needs both)."""
    _start(runtime, bundle, cid, ["CAP_KILL"])
    got = _caps(runtime, cid, "--cap", "CAP_SYS_ADMIN")
    assert got["CapInh"] == KILL, got
    assert not got["CapAmb"] & SYS_ADMIN, got


def test_exec_never_exceeds_its_bounding_set(runtime, bundle, cid, tmp_path):
    """A process.json asking for capabilities its bounding set lacks: the
    process ends with none of them (after execve nothing outside the bounding
    set survives, and the inheritable set cannot hold more)."""
    _start(runtime, bundle, cid, None)
    proc = {"args": ["grep", "^Cap", "/proc/self/status"], "cwd": "/",
            "user": {"uid": 0, "gid": 0},
            "capabilities": {"bounding": ["CAP_CHOWN"],
                             "effective": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
                             "permitted": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
                             "inheritable": ["CAP_CHOWN"]}}
    path = tmp_path / "process.json"
    path.write_text(json.dumps(proc))
    res = runtime.run("exec", "--process", str(path), cid)
    if res.returncode == 0:
        got = {line.split(":")[0]: int(line.split()[1], 16) for line in res.stdout.splitlines()}
        for key in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            assert got[key] & ~got["CapBnd"] == 0, (key, got)
    else:
        assert res.stderr.strip()


@pytest.mark.parametrize("how", ["exited", "killed"])
def test_no_exec_into_a_stopped_container_runtimeState(runtime, bundle, cid, how):
    """runtime.md#runtimeState: a stopped container runs nothing more."""
    if how == "exited":
        bundle.config["process"]["args"] = ["true"]
        runtime.run_container(bundle, cid, "--detach", check=True)
    else:
        bundle.config["process"]["args"] = ["sleep", "600"]
        runtime.run_container(bundle, cid, "--detach", check=True)
        runtime.run("kill", cid, "KILL", check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    res = runtime.run("exec", cid, "sleep", "30")
    assert res.returncode != 0
    assert "stopped" in res.stderr, res.stderr
    assert processes_of(cid) == []


def test_inheritable_outside_bounding_is_a_warning_configProcess(request, runtime, bundle, cid):
    """config.md#configProcess capabilities: one that cannot be granted is a
    warning. An inheritable capability outside the bounding set cannot be
    (capset refuses it), so the process runs without it."""
    if runtime.name == "runc":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="runc 1.1.5 fails the create (unable to apply caps) where "
            "the spec asks for a warning"))
    caps = bundle.config["process"]["capabilities"]
    caps["inheritable"] = ["CAP_CHOWN", "CAP_KILL"]
    bundle.config["process"]["args"] = ["grep", "^CapInh", "/proc/self/status"]
    res = runtime.run_container(bundle, cid, timeout=30)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.split()[1], 16) == KILL
    assert "CAP_CHOWN" in res.stderr and "inheritable" in res.stderr, res.stderr


@pytest.mark.parametrize("dac_override", [False, True])
def test_program_without_x_for_the_user_needs_cap_dac_override_configProcess(
        runtime, hostile, cid, dac_override):
    """The program is judged as execve(2) judges it, with the process's
    effective ids and capabilities: a file only its owner (root) may run is
    refused to uid 1000, unless it holds CAP_DAC_OVERRIDE (runc's
    start_hello.bats)."""
    echo = os.path.join(hostile.rootfs, "bin", "echo")
    os.unlink(echo)
    shutil.copy(os.path.join(hostile.rootfs, "bin", "busybox"), echo)
    os.chmod(echo, 0o744)
    proc = hostile.config["process"]
    proc["user"] = {"uid": 1000, "gid": 100}
    proc["args"] = ["/bin/echo", "ran"]
    if dac_override:
        for name in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            proc["capabilities"].setdefault(name, []).append("CAP_DAC_OVERRIDE")
    res = runtime.run_container(hostile, cid, timeout=30)
    if dac_override:
        assert (res.returncode, res.stdout) == (0, "ran\n"), res.stderr
    else:
        assert res.returncode != 0 and "permission denied" in res.stderr.lower(), res.stderr
