"""A real caller: containerd 1.6 with its runc v2 shim, driven by `ctr run
--runc-binary` (runtime-callers.md; the way a CRI runtime handler with
`BinaryName` calls a runtime). The same checks run with runc as the binary.

A private containerd (own root, state and socket) is started for the module;
the container's rootfs is the busybox directory (`ctr run --rootfs`), so no
image is needed. Skipped with a reason when containerd is not installed
(tests/setup.sh installs it)."""
from __future__ import annotations

import os
import pty
import select
import shlex
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from helpers import pyrunc_argv

CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")
pytestmark = pytest.mark.skipif(not (CONTAINERD and CTR),
                                reason="containerd is not installed (tests/setup.sh installs it)")


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    top = tmp_path_factory.mktemp("containerd")
    sock = str(top / "containerd.sock")
    config = subprocess.run([CONTAINERD, "config", "default"], capture_output=True, text=True,
                            check=True).stdout
    config = (config.replace('root = "/var/lib/containerd"', f'root = "{top}/root"')
              .replace('state = "/run/containerd"', f'state = "{top}/state"')
              .replace('address = "/run/containerd/containerd.sock"', f'address = "{sock}"'))
    (top / "config.toml").write_text(config)
    log = open(top / "containerd.log", "w")
    proc = subprocess.Popen([CONTAINERD, "--config", str(top / "config.toml")],
                            stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 30
    while subprocess.run([CTR, "-a", sock, "version"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("containerd did not start: " + (top / "containerd.log").read_text())
        time.sleep(0.2)
    yield sock
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(params=["pyrunc", "runc"])
def binary(request, tmp_path):
    """What containerd's shim is told to run: an executable file, so for the
    pyrunc under test a small script around its command line."""
    if request.param == "runc":
        path = shutil.which("runc")
        if path is None:
            pytest.fail("runc is not installed")
        return path
    wrapper = tmp_path / "pyrunc"
    wrapper.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in pyrunc_argv())
                       + ' "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def ctr(sock: str, *args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([CTR, "-a", sock, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def ctr_run(sock: str, binary: str, rootfs: str, cid: str, *args: str, flags=()):
    return ctr(sock, "run", "--runc-binary", binary, "--env", "PATH=/bin", *flags,
               "--rootfs", rootfs, cid, *args)


def task_status(sock: str, cid: str) -> str:
    for line in ctr(sock, "task", "ls").stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid:
            return fields[-1]
    return ""


def _cid() -> str:
    return "c" + uuid.uuid4().hex[:10]


def test_ctr_run_output_and_exit_status_runtimeLifecycle(containerd, binary, rootfs):
    cid = _cid()
    res = ctr_run(containerd, binary, rootfs, cid, "sh", "-c", "echo hello; echo $$",
                  flags=("--rm",))
    assert res.returncode == 0, res.stderr
    assert res.stdout == "hello\n1\n"  # PID 1 of its own pid namespace
    res = ctr_run(containerd, binary, rootfs, _cid(), "sh", "-c", "exit 7", flags=("--rm",))
    assert res.returncode == 7, res.stderr


def test_ctr_task_exec_ps_pause_kill_delete(containerd, binary, rootfs):
    cid = _cid()
    res = ctr_run(containerd, binary, rootfs, cid, "sleep", "600", flags=("--detach",))
    assert res.returncode == 0, res.stderr
    try:
        assert task_status(containerd, cid) == "RUNNING"
        res = ctr(containerd, "task", "exec", "--exec-id", "e1", cid, "sh", "-c",
                  "echo in-exec; exit 3")
        assert (res.returncode, res.stdout) == (3, "in-exec\n"), res.stderr
        ps = ctr(containerd, "task", "ps", cid)
        assert ps.returncode == 0, ps.stderr
        assert len(ps.stdout.splitlines()) == 2  # header and the sleep
        assert ctr(containerd, "task", "pause", cid).returncode == 0
        assert task_status(containerd, cid) == "PAUSED"
        assert ctr(containerd, "task", "resume", cid).returncode == 0
        assert task_status(containerd, cid) == "RUNNING"
        assert ctr(containerd, "task", "kill", "-s", "SIGKILL", cid).returncode == 0
        deadline = time.monotonic() + 15
        while task_status(containerd, cid) != "STOPPED":
            assert time.monotonic() < deadline, "task did not stop"
            time.sleep(0.1)
    finally:
        ctr(containerd, "task", "kill", "-s", "SIGKILL", cid)
        for _ in range(50):
            if ctr(containerd, "task", "rm", cid).returncode == 0 or not task_status(
                    containerd, cid):
                break
            time.sleep(0.1)
        ctr(containerd, "container", "rm", cid)
    assert not task_status(containerd, cid)
    assert not any(os.path.exists(f"/sys/fs/cgroup/{c}/default/{cid}")
                   for c in ("pids", "memory", "unified", ""))


def test_ctr_run_with_terminal_configProcess(containerd, binary, rootfs):
    """`ctr run -t`: the shim passes --console-socket and proxies the pty
    master to ctr's own terminal (here a pty of the test)."""
    cid = _cid()
    pid, master = pty.fork()
    if pid == 0:
        os.execv(CTR, [CTR, "-a", containerd, "run", "--rm", "-t", "--runc-binary", binary,
                       "--env", "PATH=/bin", "--rootfs", rootfs, cid, "sh", "-c",
                       "tty; [ -t 0 ] && echo stdin-is-a-tty; echo done"])
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(master)
    text = out.decode(errors="replace").replace("\r", "")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "/dev/pts/" in text and "stdin-is-a-tty" in text and "done" in text, text
