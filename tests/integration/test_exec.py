"""`exec`: a new process in a running container (runc-exec(8)), against pyrunc
and runc."""
from __future__ import annotations

import json
import os
import time

import pytest

from helpers import cgroup_dirs_for, proc_alive, wait_gone

NS = ("pid", "mnt", "net", "uts", "ipc", "cgroup", "user")


@pytest.fixture
def running(runtime, bundle, cid):
    """A running container (sleep) with a user namespace so that every
    namespace kind is the container's own."""
    bundle.config["process"]["args"] = ["sleep", "600"]
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000,
                                              "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000,
                                              "size": 65536}]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    return runtime.state(cid)["pid"]


def test_exec_joins_every_namespace(runtime, cid, running):
    script = "for n in " + " ".join(NS) + "; do echo $n $(readlink /proc/self/ns/$n); done"
    res = runtime.run("exec", cid, "sh", "-c", script)
    assert res.returncode == 0, res.stderr
    got = dict(line.split(" ", 1) for line in res.stdout.splitlines())
    for ns in NS:
        assert got[ns] == os.readlink(f"/proc/{running}/ns/{ns}"), ns


def test_exec_is_in_the_container_cgroup_and_pid_namespace(runtime, cid, running):
    res = runtime.run("exec", cid, "sh", "-c", "cat /proc/self/cgroup; echo $$; "
                      "cat /proc/1/cmdline")
    lines = res.stdout.splitlines()
    with open(f"/proc/{running}/cgroup") as f:
        init_cgroups = f.read().splitlines()
    assert lines[:len(init_cgroups)] == [line.rsplit(":", 1)[0] + ":/" for line in
                                         init_cgroups] or lines[:len(init_cgroups)] == \
        init_cgroups
    assert lines[len(init_cgroups)] != "1"  # not the container's init
    assert lines[-1].startswith("sleep")


def test_exec_exit_status(runtime, cid, running):
    assert runtime.run("exec", cid, "sh", "-c", "exit 42").returncode == 42


def test_exec_many_in_a_row(runtime, bundle, cid):
    """Back-to-back execs of a quick program all succeed (a race between the
    exec'd process's first message and its pid once failed ~1 in 10)."""
    bundle.config["process"]["args"] = ["sleep", "600"]
    runtime.run_container(bundle, cid, "--detach", check=True)
    for i in range(100):
        res = runtime.run("exec", cid, "true")
        assert res.returncode == 0, f"exec {i}: {res.stderr}"


def test_exec_own_env_cwd_user(runtime, cid, running):
    res = runtime.run("exec", "--env", "FOO=bar", "--env", "HOME=/tmp", "--cwd", "/tmp",
                      "--user", "1000:1000", "--additional-gids", "5", cid,
                      "sh", "-c", "echo $FOO $HOME; pwd; id -u; id -g; id -G")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["bar /tmp", "/tmp", "1000", "1000", "1000 5"]


def test_exec_capabilities(runtime, cid, running):
    """--cap adds a capability to the exec'd process's bounding set (and effective and
    permitted; tests/security/test_exec_privileges.py checks every set)."""
    base = runtime.run("exec", cid, "grep", "CapBnd", "/proc/self/status").stdout
    added = runtime.run("exec", "--cap", "CAP_SYS_ADMIN", cid, "grep", "CapBnd",
                        "/proc/self/status").stdout
    assert not int(base.split()[1], 16) & (1 << 21)
    assert int(added.split()[1], 16) & (1 << 21)


def test_exec_no_new_privs(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "600"]
    bundle.config["process"]["noNewPrivileges"] = False
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    plain = runtime.run("exec", cid, "grep", "NoNewPrivs", "/proc/self/status").stdout
    nnp = runtime.run("exec", "--no-new-privs", cid, "grep", "NoNewPrivs",
                      "/proc/self/status").stdout
    assert plain.split()[1] == "0" and nnp.split()[1] == "1"


def test_exec_process_json(runtime, cid, running, tmp_path):
    proc = {"args": ["sh", "-c", "echo $A; pwd; id -u"], "env": ["A=from-json", "PATH=/bin"],
            "cwd": "/dev", "user": {"uid": 7, "gid": 7}, "terminal": False}
    path = tmp_path / "process.json"
    path.write_text(json.dumps(proc))
    res = runtime.run("exec", "--process", str(path), cid)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["from-json", "/dev", "7"]


def test_exec_detach_and_pid_file(runtime, cid, running, tmp_path):
    pidfile = tmp_path / "exec.pid"
    res = runtime.run("exec", "--detach", "--pid-file", str(pidfile), cid, "sleep", "300")
    assert res.returncode == 0, res.stderr
    text = pidfile.read_text()
    assert text.isdigit()
    pid = int(text)
    assert proc_alive(pid)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"300"]
    assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{running}/ns/pid")


def test_exec_gets_the_container_seccomp(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "600"]
    bundle.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    res = runtime.run("exec", cid, "sh", "-c", "grep Seccomp: /proc/self/status; /bin/pwd -P")
    assert "Seccomp:\t2" in res.stdout
    assert "Operation not permitted" in res.stderr


def test_exec_in_created_container(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "600"]
    runtime.create(bundle, cid, check=True)
    res = runtime.run("exec", cid, "echo", "ok")
    assert (res.returncode, res.stdout) == (0, "ok\n"), res.stderr


def test_exec_refuses_stopped_container(runtime, bundle, cid):
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    res = runtime.run("exec", cid, "true")
    assert res.returncode == 255
    assert "cannot exec in a stopped container" in res.stderr


def test_exec_paused_needs_ignore_paused(runtime, cid, running):
    """In a paused container exec is refused; with --ignore-paused the new
    process joins the frozen cgroup and runs once the container resumes."""
    import subprocess

    runtime.run("pause", cid, check=True)
    try:
        res = runtime.run("exec", cid, "true")
        assert res.returncode == 255 and "paused" in res.stderr
        proc = subprocess.Popen(runtime.cmd("exec", "--ignore-paused", cid, "echo", "thawed"),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1.0)
        assert proc.poll() is None  # frozen with the rest of the container
    finally:
        runtime.run("resume", cid)
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (0, "thawed\n")


def test_exec_signals_are_forwarded(runtime, cid, running):
    proc = __import__("subprocess").Popen(
        runtime.cmd("exec", cid, "sh", "-c", "trap 'exit 9' USR1; while true; do sleep 0.05; "
                    "done"), stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
    time.sleep(1.5)
    proc.send_signal(10)
    assert proc.wait(20) == 9


@pytest.mark.parametrize("args,needle", [
    (["nosuchbinary"], 'exec: "nosuchbinary": executable file not found in $PATH'),
    (["--user", "x:y", "true"], "--user"),
])
def test_exec_errors(pyrunc, bundle, cid, args, needle):
    bundle.config["process"]["args"] = ["sleep", "600"]
    pyrunc.create(bundle, cid, check=True)
    res = pyrunc.run("exec", *args[:-1], cid, args[-1]) if args[0].startswith("-") else \
        pyrunc.run("exec", cid, *args)
    assert res.returncode == 255
    assert needle in res.stderr.replace('\\"', '"'), res.stderr


def test_exec_malformed_process_json(runtime, cid, running, tmp_path):
    path = tmp_path / "process.json"
    path.write_text('{"args": ["sh"], "cwd": 7}')
    res = runtime.run("exec", "--process", str(path), cid)
    assert res.returncode == 255
    if runtime.name == "pyrunc":
        assert "process.cwd" in res.stderr
    path.write_text("{not json")
    res = runtime.run("exec", "--process", str(path), cid)
    assert res.returncode == 255
    res = runtime.run("exec", "--process", str(tmp_path / "missing.json"), cid)
    assert res.returncode == 255


def test_exec_leaves_no_process_on_failure(pyrunc, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "600"]
    pyrunc.create(bundle, cid, check=True)
    pid = pyrunc.state(cid)["pid"]
    before = set(_children_in_cgroup(pid))
    res = pyrunc.run("exec", cid, "nosuchbinary")
    assert res.returncode == 255
    time.sleep(0.2)
    assert set(_children_in_cgroup(pid)) == before


def _children_in_cgroup(init_pid: int) -> list[int]:
    with open(f"/proc/{init_pid}/cgroup") as f:
        pids_line = next(x for x in f if ":pids:" in x or x.startswith("0::"))
    path = pids_line.rstrip("\n").split(":", 2)[2]
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        procs = os.path.join(base + path, "cgroup.procs")
        if os.path.exists(procs):
            with open(procs) as f:
                return [int(x) for x in f.read().split()]
    return []


def test_exec_detached_process_lives_on(runtime, cid, running, tmp_path):
    pidfile = tmp_path / "p.pid"
    runtime.run("exec", "-d", "--pid-file", str(pidfile), cid, "sleep", "2", check=True)
    pid = int(pidfile.read_text())
    assert proc_alive(pid)
    assert wait_gone(pid, 15)


def _cgroup_paths(text: str) -> dict[str, str]:
    """/proc/PID/cgroup as {hierarchy key: path}, for the hierarchies this
    host has mounted (a hierarchy left unmounted shows up with "/")."""
    from pyrunc.cgroups.hierarchy import detect

    mounted = {h.key for h in detect()}
    out = {}
    for line in text.splitlines():
        _, key, path = line.split(":", 2)
        if key in mounted:
            out[key] = path
    return out


def test_exec_into_a_sub_cgroup(runtime, cid, running):
    """exec --cgroup SUB (and CONTROLLER:SUB) places the process in a
    sub-cgroup of the container's on every hierarchy (or that controller's
    one); '..', a missing sub-cgroup or an unknown controller are errors
    (exit 255, runc's words after the flag)."""
    dirs = cgroup_dirs_for(cid)
    for d in dirs:
        os.mkdir(os.path.join(d, "sub"))
        for name in ("cpuset.cpus", "cpuset.mems"):  # v1 cpuset starts empty
            if os.path.exists(os.path.join(d, "sub", name)):
                with open(os.path.join(d, name)) as src:
                    value = src.read()
                with open(os.path.join(d, "sub", name), "w") as dst:
                    dst.write(value)
    try:
        # The container has a cgroup namespace: its cgroup shows as "/".
        res = runtime.run("exec", "--cgroup", "sub", cid, "cat", "/proc/self/cgroup")
        assert res.returncode == 0, res.stderr
        paths = _cgroup_paths(res.stdout)
        assert paths and set(paths.values()) == {"/sub"}, res.stdout
        res = runtime.run("exec", "--cgroup", "pids:sub", cid, "cat", "/proc/self/cgroup")
        assert res.returncode == 0, res.stderr
        paths = _cgroup_paths(res.stdout)
        assert paths["pids"] == "/sub" and paths["memory"] == "/", res.stdout
        for bad, words in (("..", "bad sub cgroup path"), ("nonexistent", "adding pid"),
                           ("whaaat:/", "unknown controller")):
            res = runtime.run("exec", "--cgroup", bad, cid, "true")
            assert res.returncode == 255, (bad, res.stderr)
            if runtime.name == "pyrunc":
                assert words in res.stderr, res.stderr
    finally:
        for d in dirs:
            os.rmdir(os.path.join(d, "sub"))
