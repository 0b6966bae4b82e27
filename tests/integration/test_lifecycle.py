"""runtime.md#runtimeLifecycle through the command line, against pyrunc and runc."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from helpers import ConsoleReceiver, assert_nothing_left, cgroup_dirs_for, proc_alive, wait_gone


@pytest.mark.v2
def test_create_start_state_delete_runtimeLifecycle(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(bundle, cid, check=True)
    st = runtime.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid and st["bundle"] == bundle.path
    assert st["pid"] > 0 and proc_alive(st["pid"])
    runtime.run("start", cid, check=True)
    assert runtime.state(cid)["status"] == "running"
    runtime.run("kill", cid, "KILL", check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    assert runtime.state(cid)["pid"] == 0
    runtime.run("delete", cid, check=True)
    assert runtime.status(cid) == "absent"
    assert cgroup_dirs_for(cid) == []


def test_state_output_format_runtimeState(runtime, bundle, cid):
    """2-space JSON, no trailing newline, RFC3339 created, owner present."""
    bundle.config["process"]["args"] = ["sleep", "30"]
    bundle.config["annotations"] = {"com.example.key": "value"}
    runtime.create(bundle, cid, check=True)
    out = runtime.run("state", cid, check=True).stdout
    assert not out.endswith("\n")
    assert out.startswith('{\n  "ociVersion"')
    st = json.loads(out)
    for key in ("ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"):
        assert key in st
    assert st["annotations"] == {"com.example.key": "value"}
    assert st["created"].endswith("Z") and "T" in st["created"]


def test_process_runs_only_at_start_runtimeCreate(runtime, bundle, cid, tmp_path):
    """process.args MUST NOT be applied until start."""
    marker = tmp_path / "out"
    marker.mkdir()
    bundle.config["mounts"].append({"destination": "/out", "type": "bind",
                                    "source": str(marker), "options": ["rbind", "rw"]})
    bundle.config["process"]["args"] = ["sh", "-c", "touch /out/ran; sleep 30"]
    runtime.create(bundle, cid, check=True)
    time.sleep(0.3)
    assert not (marker / "ran").exists()
    runtime.run("start", cid, check=True)
    deadline = time.monotonic() + 5
    while not (marker / "ran").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (marker / "ran").exists()


def test_start_twice_is_an_error_runtimeStart(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    again = runtime.run("start", cid)
    assert again.returncode == 1
    assert "cannot start an already running container" in again.stderr
    assert runtime.state(cid)["status"] == "running"


def test_start_stopped_is_an_error_runtimeStart(runtime, bundle, cid):
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    again = runtime.run("start", cid)
    assert again.returncode == 1
    assert "cannot start a container that has stopped" in again.stderr


def test_start_without_process_is_an_error_runtimeStart(runtime, bundle, cid):
    """config.md#configProcess: process is REQUIRED only "when start is
    called"; runtime.md#runtimeStart: "Attempting to start a container that
    does not have process set MUST generate an error". So create succeeds,
    start fails, and the container is stopped, then deleted with nothing left."""
    del bundle.config["process"]
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and res.returncode != 0:
        assert_nothing_left(runtime, cid)
        pytest.skip("runc refuses a config without process at create ('process property "
                    "must not be empty'); the spec asks for the error at start")
    assert res.returncode == 0, res.stderr
    assert runtime.state(cid)["status"] == "created"
    res = runtime.run("start", cid)
    assert res.returncode == 1 and "process" in res.stderr, res.stderr
    assert runtime.wait_status(cid, "stopped") == "stopped"
    runtime.run("delete", cid, check=True)
    assert_nothing_left(runtime, cid)


def test_created_container_dies_of_sigterm_runtimeKill(runtime, bundle, cid):
    """kill TERM before start ends a created container (runc's init dies of
    it): as PID 1 of its namespace the waiting init would otherwise ignore
    every signal it has no handler for."""
    bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    runtime.run("kill", cid, "TERM", check=True)
    assert wait_gone(pid, 5)
    assert runtime.wait_status(cid, "stopped") == "stopped"


@pytest.mark.parametrize("command", ["create", "run", "exec"])
def test_pidfd_socket_receives_the_process(runtime, bundle, cid, tmp_path, command):
    """--pidfd-socket (runc 1.2+): a pidfd of the init (create, run -d) or of
    the exec'd process arrives on the socket, and signals that process."""
    if runtime.name == "runc":
        pytest.skip("runc 1.1 has no --pidfd-socket (added in runc 1.2)")
    bundle.config["process"]["args"] = ["sleep", "30"]
    sock = str(tmp_path / "pidfd.sock")
    receiver = ConsoleReceiver(sock)
    try:
        if command == "exec":
            runtime.create(bundle, cid, check=True)
            runtime.run("start", cid, check=True)
            runtime.run("exec", "-d", "--pid-file", str(tmp_path / "pid"), "--pidfd-socket",
                        sock, cid, "sleep", "40", check=True)
            pid = int((tmp_path / "pid").read_text())
        elif command == "run":
            bundle.write()
            runtime.run("run", "-d", "--bundle", bundle.path, "--pidfd-socket", sock, cid,
                        check=True)
            pid = runtime.state(cid)["pid"]
        else:
            runtime.create(bundle, cid, "--pidfd-socket", sock, check=True)
            pid = runtime.state(cid)["pid"]
        pidfd = receiver.master()
        assert receiver.name
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        os.close(pidfd)
        assert wait_gone(pid, 5)
    finally:
        receiver.close()


def test_pidfd_socket_missing_is_an_error_and_leaves_nothing(pyrunc, bundle, cid, tmp_path):
    res = pyrunc.create(bundle, cid, "--pidfd-socket", str(tmp_path / "missing.sock"))
    assert res.returncode == 1 and "--pidfd-socket" in res.stderr, res.stderr
    assert_nothing_left(pyrunc, cid)


def test_kill_stopped_is_an_error_runtimeKill(runtime, bundle, cid):
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    res = runtime.run("kill", cid, "9")
    assert res.returncode == 1
    assert "container not running" in res.stderr


@pytest.mark.v2
def test_kill_all_stopped_succeeds(runtime, bundle, cid):
    """CRI runs `kill --all ID 9` on every exit: it must succeed when stopped."""
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    assert runtime.run("kill", "--all", cid, "9").returncode == 0


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15"])
def test_kill_signal_spellings_runtimeKill(runtime, bundle, cid, sig):
    # PID 1 of a namespace gets only signals it has a handler for: trap TERM.
    bundle.config["process"]["args"] = ["sh", "-c", "trap 'exit 3' TERM; "
                                        "while true; do sleep 0.05; done"]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    runtime.run("kill", cid, sig, check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"


def test_kill_created_container_runtimeKill(runtime, bundle, cid):
    """kill is allowed on a created container (created or running)."""
    runtime.create(bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    runtime.run("kill", cid, "KILL", check=True)
    assert wait_gone(pid)
    assert runtime.wait_status(cid, "stopped") == "stopped"


def test_delete_running_is_an_error_runtimeDelete(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    res = runtime.run("delete", cid)
    assert res.returncode == 1
    assert f"cannot delete container {cid} that is not stopped: running" in res.stderr
    assert runtime.state(cid)["status"] == "running"


@pytest.mark.v2
def test_delete_created_kills_it(runtime, bundle, cid):
    """runc deletes a created container (kills its init) without --force."""
    runtime.create(bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    runtime.run("delete", cid, check=True)
    assert wait_gone(pid)
    assert runtime.status(cid) == "absent"
    assert cgroup_dirs_for(cid) == []


@pytest.mark.v2
def test_delete_force_running(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    pid = runtime.state(cid)["pid"]
    runtime.run("delete", "--force", cid, check=True)
    assert wait_gone(pid)
    assert runtime.status(cid) == "absent"
    assert cgroup_dirs_for(cid) == []


def test_delete_force_missing_succeeds(runtime, cid):
    assert runtime.run("delete", "--force", cid).returncode == 0


@pytest.mark.parametrize("op", [("state",), ("start",), ("kill", "9"), ("delete",)])
def test_missing_container_errors_runtimeQueryState(runtime, cid, op):
    res = runtime.run(op[0], cid, *op[1:])
    assert res.returncode == 1
    assert "does not exist" in res.stderr


def test_same_id_twice_is_an_error_runtimeCreate(runtime, bundle, cid):
    runtime.create(bundle, cid, check=True)
    res = runtime.create(bundle, cid)
    assert res.returncode == 1
    assert "exists" in res.stderr
    assert runtime.state(cid)["status"] == "created"


def test_id_reusable_after_delete_runtimeDelete(runtime, bundle, cid):
    runtime.create(bundle, cid, check=True)
    runtime.run("delete", cid, check=True)
    runtime.create(bundle, cid, check=True)
    assert runtime.state(cid)["status"] == "created"


def test_pid_file_bare_digits(runtime, bundle, cid, tmp_path):
    pidfile = tmp_path / "init.pid"
    runtime.create(bundle, cid, "--pid-file", str(pidfile), check=True)
    text = pidfile.read_text()
    assert text.isdigit(), repr(text)
    assert int(text) == runtime.state(cid)["pid"]


def test_config_changes_after_create_do_not_matter_runtimeCreate(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(bundle, cid, check=True)
    bundle.config["process"]["args"] = ["/nonexistent"]
    bundle.write()
    runtime.run("start", cid, check=True)
    assert runtime.state(cid)["status"] == "running"


def test_init_is_the_user_process(runtime, bundle, cid):
    """The pid in state and the pid file is the process that execs the program."""
    bundle.config["process"]["args"] = ["sleep", "31"]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    pid = runtime.state(cid)["pid"]
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"31"]


def test_no_runtime_process_left_after_create(runtime, bundle, cid):
    """When create returns, only the init is left (it holds no pipe of the caller
    other than its own stdio)."""
    runtime.create(bundle, cid, check=True, stdin=subprocess.DEVNULL)
    pid = runtime.state(cid)["pid"]
    children = [p for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == pid]
    assert children == []


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return -1


def _keyrings(runtime, bundle, cid, *flags):
    bundle.config["linux"]["maskedPaths"] = [p for p in bundle.config["linux"]["maskedPaths"]
                                             if p != "/proc/keys"]
    bundle.config["process"]["args"] = ["cat", "/proc/keys"]
    res = runtime.run_container(bundle, cid, *flags)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_new_session_keyring(runtime, bundle, cid):
    """Without --no-new-keyring the container gets a session keyring of its
    own, named _ses.<id> as runc names it."""
    out = _keyrings(runtime, bundle, cid)
    assert any(line.split()[-2:-1] == [f"_ses.{cid}:"] for line in out.splitlines()), out


def test_no_new_keyring(runtime, bundle, cid):
    out = _keyrings(runtime, bundle, cid, "--no-new-keyring")
    assert cid not in out


def test_no_pivot(runtime, bundle, cid):
    """--no-pivot: move the rootfs onto / and chroot (for rootfs on ramfs)."""
    bundle.config["process"]["args"] = ["sh", "-c", "ls /bin/busybox && cat /proc/self/mountinfo"]
    res = runtime.run_container(bundle, cid, "--no-pivot")
    assert res.returncode == 0, res.stderr
    assert "/bin/busybox" in res.stdout


def test_no_pivot_leaves_no_full_procfs_to_mount_again(runtime, bundle, cid):
    """With --no-pivot the host's mounts stay in the container's namespace
    (under the chroot): a full procfs among them would let a process in a
    new user namespace mount a fresh, unmasked procfs. They are detached
    first, so that mount is refused (as runc does)."""
    caps = bundle.config["process"]["capabilities"]
    for name in ("bounding", "permitted", "effective"):
        caps[name] = caps[name] + ["CAP_SETFCAP", "CAP_SYS_ADMIN"]
    bundle.config["process"]["args"] = [
        "unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo MOUNTED"]
    res = runtime.run_container(bundle, cid, "--no-pivot")
    assert "MOUNTED" not in res.stdout, res.stdout
    assert res.returncode != 0 and "denied" in res.stderr.lower(), res.stderr


def test_no_pivot_rootfs_on_ramfs(runtime, bundle, cid, tmp_path):
    """--no-pivot is for a rootfs on ramfs/initramfs: move + chroot."""
    import shutil
    import subprocess

    mnt = tmp_path / "ram"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "ramfs", "ramfs", str(mnt)], check=True)
    try:
        subprocess.run(["cp", "-a", bundle.rootfs, str(mnt / "rootfs")], check=True)
        bundle.config["root"]["path"] = str(mnt / "rootfs")
        bundle.config["process"]["args"] = ["sh", "-c", "grep ' / ' /proc/self/mountinfo"]
        res = runtime.run_container(bundle, cid, "--no-pivot")
        assert res.returncode == 0, res.stderr
        assert "ramfs" in res.stdout
    finally:
        runtime.run("delete", "--force", cid)
        subprocess.run(["umount", "-l", str(mnt)])
        shutil.rmtree(mnt, ignore_errors=True)
