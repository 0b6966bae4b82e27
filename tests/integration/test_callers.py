"""Real callers, with pyrunc and with runc as their runtime binary:

- containerd 1.6 with its runc v2 shim, driven by `ctr run --runc-binary`
  (the way a CRI runtime handler with `BinaryName` calls a runtime). A
  private containerd (own root, state and socket) is started for the module;
  the rootfs is the busybox directory (`ctr run --rootfs`), no image needed.
- dockerd 20.10 (a private instance, storage `vfs`, no bridge or iptables)
  with pyrunc added by `--add-runtime` and picked by `docker run --runtime`;
  runc is dockerd's own default runtime.
- podman 4.3 with conmon, `podman --runtime PATH`, with its own storage, a
  file lock (../shared/reference/this-machine.md) and the busybox directory
  imported as an image.

Each is skipped with a reason when not installed (tests/setup.sh installs
them)."""
from __future__ import annotations

import contextlib
import os
import resource
import shlex
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from helpers import pyrunc_argv, run_in_pty

DOCKERD = shutil.which("dockerd")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")
CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")
PODMAN = shutil.which("podman")
needs_containerd = pytest.mark.skipif(
    not (CONTAINERD and CTR), reason="containerd is not installed (tests/setup.sh installs it)")
needs_docker = pytest.mark.skipif(
    not (DOCKERD and DOCKER), reason="docker.io is not installed (tests/setup.sh installs it)")
needs_podman = pytest.mark.skipif(
    not PODMAN, reason="podman is not installed (tests/setup.sh installs it)")


def _parent_cgroups(name: str) -> list[str]:
    """The engine's parent cgroup (containerd's namespace, podman's
    libpod_parent) in every hierarchy. The runtime creates it as part of a
    nested cgroupsPath and, like runc, leaves it when the container goes."""
    base = "/sys/fs/cgroup"
    if os.path.exists(os.path.join(base, "cgroup.controllers")):
        return [os.path.join(base, name)]
    return [os.path.join(base, h, name) for h in os.listdir(base)
            if os.path.ismount(os.path.join(base, h))]


@contextlib.contextmanager
def removing_new_parent_cgroups(name: str):
    """Remove the engine's parent cgroups afterwards, if the test made them."""
    before = {d for d in _parent_cgroups(name) if os.path.isdir(d)}
    try:
        yield
    finally:
        for top in _parent_cgroups(name):
            if top in before or not os.path.isdir(top):
                continue
            for d, _subdirs, _files in os.walk(top, topdown=False):  # e.g. podman's conmon
                try:
                    os.rmdir(d)
                except OSError:
                    pass


@contextlib.contextmanager
def running_daemon(name: str, argv: list[str], top, ready, start_timeout: float,
                   stop_timeout: float):
    """An engine's daemon of the test's own, its output in TOP/NAME.log: up
    once ready() is true; stopped (SIGTERM, then SIGKILL) afterwards."""
    log_path = top / f"{name}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        try:
            deadline = time.monotonic() + start_timeout
            while not ready():
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"{name} did not start: " + log_path.read_text())
                time.sleep(0.2)
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def rootfs_tar(rootfs: str, top) -> str:
    """The busybox rootfs as a tarball, for an engine's `import`."""
    tar = str(top / "rootfs.tar")
    subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
    return tar


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    with removing_new_parent_cgroups("default"):
        yield from _containerd(tmp_path_factory)


def _containerd(tmp_path_factory):
    top = tmp_path_factory.mktemp("containerd")
    sock = str(top / "containerd.sock")
    config = subprocess.run([CONTAINERD, "config", "default"], capture_output=True, text=True,
                            check=True).stdout
    config = (config.replace('root = "/var/lib/containerd"', f'root = "{top}/root"')
              .replace('state = "/run/containerd"', f'state = "{top}/state"')
              .replace('address = "/run/containerd/containerd.sock"', f'address = "{sock}"'))
    (top / "config.toml").write_text(config)
    with running_daemon("containerd", [CONTAINERD, "--config", str(top / "config.toml")], top,
                        lambda: subprocess.run([CTR, "-a", sock, "version"],
                                               capture_output=True).returncode == 0,
                        start_timeout=30, stop_timeout=20):
        yield sock
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def pyrunc_binary(tmp_path_factory) -> str:
    """The pyrunc under test as an executable file (engines take a path):
    a small script around its command line."""
    wrapper = tmp_path_factory.mktemp("bin") / "pyrunc"
    wrapper.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in pyrunc_argv())
                       + ' "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.fixture(params=["pyrunc", "runc"])
def binary(request, pyrunc_binary):
    """The runtime binary an engine is told to run: pyrunc, or runc."""
    if request.param == "pyrunc":
        return pyrunc_binary
    path = shutil.which("runc")
    if path is None:
        pytest.fail("runc is not installed")
    return path


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


def ctr_kill_until_stopped(sock: str, cid: str, timeout: float, poll: float) -> None:
    """SIGKILL the task and wait until containerd reports it STOPPED."""
    assert ctr(sock, "task", "kill", "-s", "SIGKILL", cid).returncode == 0
    deadline = time.monotonic() + timeout
    while task_status(sock, cid) != "STOPPED":
        assert time.monotonic() < deadline, "task did not stop"
        time.sleep(poll)


def ctr_remove(sock: str, cid: str, tries: int, poll: float) -> None:
    """Kill the task, remove it (retried while the shim winds down), then
    the container."""
    ctr(sock, "task", "kill", "-s", "SIGKILL", cid)
    for _ in range(tries):
        if ctr(sock, "task", "rm", cid).returncode == 0 or not task_status(sock, cid):
            break
        time.sleep(poll)
    ctr(sock, "container", "rm", cid)


def _cid() -> str:
    return "c" + uuid.uuid4().hex[:10]


@needs_containerd
def test_ctr_run_output_and_exit_status_runtimeLifecycle(containerd, binary, rootfs):
    cid = _cid()
    res = ctr_run(containerd, binary, rootfs, cid, "sh", "-c", "echo hello; echo $$",
                  flags=("--rm",))
    assert res.returncode == 0, res.stderr
    assert res.stdout == "hello\n1\n"  # PID 1 of its own pid namespace
    res = ctr_run(containerd, binary, rootfs, _cid(), "sh", "-c", "exit 7", flags=("--rm",))
    assert res.returncode == 7, res.stderr


@needs_containerd
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
        ctr_kill_until_stopped(containerd, cid, timeout=15, poll=0.1)
    finally:
        ctr_remove(containerd, cid, tries=50, poll=0.1)
    assert not task_status(containerd, cid)
    assert not any(os.path.exists(f"/sys/fs/cgroup/{c}/default/{cid}")
                   for c in ("pids", "memory", "unified", ""))


@needs_containerd
def test_ctr_run_with_terminal_configProcess(containerd, binary, rootfs):
    """`ctr run -t`: the shim passes --console-socket and proxies the pty
    master to ctr's own terminal (here a pty of the test)."""
    text, code = run_in_pty([CTR, "-a", containerd, "run", "--rm", "-t", "--runc-binary",
                             binary, "--env", "PATH=/bin", "--rootfs", rootfs, _cid(), "sh",
                             "-c", TTY_SCRIPT], timeout=60)
    assert code == 0, text
    assert "/dev/pts/" in text and "stdin-is-a-tty" in text and "done" in text, text


TTY_SCRIPT = "tty; [ -t 0 ] && echo stdin-is-a-tty; echo done"

# --- the engines with systemd's cgroups (cgv2-vm --systemd; CI sets
# PYRUNC_REQUIRE_SYSTEMD there, so that a VM without systemd fails) ------------

needs_systemd = pytest.mark.skipif(
    not os.path.isdir("/run/systemd/system") and not os.environ.get("PYRUNC_REQUIRE_SYSTEMD"),
    reason="needs systemd as PID 1 (../shared/tools/cgv2-vm --systemd)")


def systemd_unit_state(unit: str) -> str:
    """ActiveState of a unit, or "gone" when systemd no longer has it."""
    out = subprocess.run(["systemctl", "show", unit, "--property=LoadState",
                          "--property=ActiveState"], capture_output=True, text=True).stdout
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if props.get("LoadState") == "not-found" or props.get("ActiveState") == "inactive":
        return "gone"
    return props.get("ActiveState", "")


@pytest.mark.systemd
@needs_systemd
@needs_containerd
def test_ctr_with_systemd_cgroup(containerd, binary, rootfs):
    """`ctr run --runc-systemd-cgroup` (what containerd's SystemdCgroup option
    does): the runtime gets --systemd-cgroup and slice:prefix:name; the task
    lives in that scope through exec, pause, resume, kill and removal, and
    the scope is gone afterwards. (ctr 1.6 has no `task update`; update is
    covered by the docker and podman cases.)"""
    cid = _cid()
    unit = f"ctr-{cid}.scope"
    res = ctr_run(containerd, binary, rootfs, cid, "sleep", "600",
                  flags=("--detach", "--runc-systemd-cgroup", "--cgroup",
                         f"system.slice:ctr:{cid}"))
    assert res.returncode == 0, res.stderr
    try:
        assert systemd_unit_state(unit) == "active"
        with open(f"/sys/fs/cgroup/system.slice/{unit}/cgroup.procs") as f:
            assert len(f.read().split()) == 1
        res = ctr(containerd, "task", "exec", "--exec-id", "e1", cid, "sh", "-c",
                  "echo in-exec; exit 3")
        assert (res.returncode, res.stdout) == (3, "in-exec\n"), res.stderr
        assert ctr(containerd, "task", "pause", cid).returncode == 0
        assert task_status(containerd, cid) == "PAUSED"
        assert ctr(containerd, "task", "resume", cid).returncode == 0
        assert task_status(containerd, cid) == "RUNNING"
        ctr_kill_until_stopped(containerd, cid, timeout=30, poll=0.2)
    finally:
        ctr_remove(containerd, cid, tries=100, poll=0.2)
    assert systemd_unit_state(unit) == "gone"
    assert not os.path.exists(f"/sys/fs/cgroup/system.slice/{unit}")


# --- podman ---------------------------------------------------------------------------

IMAGE = "localhost/pyrunc-test:busybox"


class Podman:
    def __init__(self, top: str) -> None:
        self.env = dict(os.environ, CONTAINERS_CONF=os.path.join(top, "containers.conf"))
        self.base = [PODMAN, "--root", os.path.join(top, "root"), "--runroot",
                     os.path.join(top, "run"), "--tmpdir", os.path.join(top, "tmp"),
                     "--storage-driver", "vfs"]
        # podman's default nofile (1048576) cannot be granted on this machine.
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        self.limits = ["--ulimit", f"nofile={hard}:{hard}", "--ulimit", "nproc=32768:32768"]

    def argv(self, binary: str, *args: str) -> list[str]:
        return self.base + ["--runtime", binary, *args]

    def __call__(self, binary: str, *args: str, timeout: float = 90):
        return subprocess.run(self.argv(binary, *args), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env=self.env)


@pytest.fixture(scope="module")
def podman(tmp_path_factory, rootfs):
    with removing_new_parent_cgroups("libpod_parent"):
        yield from _podman(tmp_path_factory, rootfs)


def _podman(tmp_path_factory, rootfs):
    top = tmp_path_factory.mktemp("podman")
    (top / "containers.conf").write_text(
        '[engine]\nlock_type = "file"\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
        '[containers]\nnetns = "none"\n')
    pm = Podman(str(top))
    res = subprocess.run(pm.base + ["import", rootfs_tar(rootfs, top), IMAGE],
                         capture_output=True, text=True, env=pm.env, timeout=120)
    assert res.returncode == 0, res.stderr
    yield pm
    subprocess.run(pm.base + ["rm", "--all", "--force", "--time", "0"], capture_output=True,
                   env=pm.env, timeout=120)
    subprocess.run(pm.base + ["system", "reset", "--force"], capture_output=True, env=pm.env,
                   timeout=120)
    shutil.rmtree(top, ignore_errors=True)



@needs_podman
def test_podman_run_output_and_exit_status_runtimeLifecycle(podman, binary):
    res = podman(binary, "run", "--rm", *podman.limits, IMAGE, "sh", "-c", "echo hello; echo $$")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "hello\n1\n"
    res = podman(binary, "run", "--rm", *podman.limits, IMAGE, "sh", "-c", "exit 9")
    assert res.returncode == 9, res.stderr


@needs_podman
def test_podman_exec_top_pause_stop_rm(podman, binary):
    name = _cid()
    res = podman(binary, "run", "--detach", "--name", name, *podman.limits, IMAGE,
                 "sleep", "600")
    assert res.returncode == 0, res.stderr
    try:
        res = podman(binary, "exec", name, "sh", "-c", "echo in-exec; exit 4")
        assert (res.returncode, res.stdout) == (4, "in-exec\n"), res.stderr
        top = podman(binary, "top", name)
        assert top.returncode == 0 and "sleep 600" in top.stdout, top.stderr
        assert podman(binary, "pause", name).returncode == 0
        assert podman(binary, "inspect", name, "--format",
                      "{{.State.Status}}").stdout.strip() == "paused"
        assert podman(binary, "unpause", name).returncode == 0
        assert podman(binary, "inspect", name, "--format",
                      "{{.State.Status}}").stdout.strip() == "running"
        # sleep as PID 1 ignores SIGTERM: podman escalates to SIGKILL.
        assert podman(binary, "stop", "--time", "1", name).returncode == 0
        state = podman(binary, "inspect", name, "--format",
                       "{{.State.Status}} {{.State.ExitCode}}").stdout.split()
        assert state == ["exited", "137"]
    finally:
        res = podman(binary, "rm", "--force", "--time", "0", name)
    assert res.returncode == 0, res.stderr


@pytest.mark.systemd
@needs_systemd
@needs_podman
def test_podman_with_systemd_cgroup_manager(podman, binary):
    """`podman --cgroup-manager systemd` (its default on systemd hosts): the
    runtime gets --systemd-cgroup and machine.slice:libpod:ID; the container
    lives in libpod-ID.scope through exec, pause, update and stop, and rm
    leaves no scope."""
    sd = ("--cgroup-manager", "systemd")
    name = _cid()
    res = podman(binary, *sd, "run", "--detach", "--name", name, *podman.limits, IMAGE,
                 "sleep", "600")
    assert res.returncode == 0, res.stderr
    cid = res.stdout.strip()
    unit = f"libpod-{cid}.scope"
    try:
        assert systemd_unit_state(unit) == "active", podman(binary, "inspect", name).stdout
        res = podman(binary, *sd, "exec", name, "sh", "-c", "echo in-exec; exit 4")
        assert (res.returncode, res.stdout) == (4, "in-exec\n"), res.stderr
        assert podman(binary, *sd, "pause", name).returncode == 0
        assert podman(binary, *sd, "inspect", name, "--format",
                      "{{.State.Status}}").stdout.strip() == "paused"
        assert podman(binary, *sd, "unpause", name).returncode == 0
        res = podman(binary, *sd, "update", "--memory", "96m", name)
        assert res.returncode == 0, res.stderr
        with open(f"/sys/fs/cgroup/machine.slice/{unit}/memory.max") as f:
            assert f.read().strip() == str(96 << 20)
        assert podman(binary, *sd, "stop", "--time", "1", name).returncode == 0
    finally:
        res = podman(binary, *sd, "rm", "--force", "--time", "0", name)
    assert res.returncode == 0, res.stderr
    assert systemd_unit_state(unit) == "gone"


@needs_podman
def test_podman_run_with_terminal_configProcess(podman, binary):
    text, code = run_in_pty(podman.argv(binary, "run", "--rm", "-t", *podman.limits, IMAGE,
                                        "sh", "-c", TTY_SCRIPT), env=podman.env, timeout=60)
    assert code == 0, text
    assert "/dev/pts/" in text and "stdin-is-a-tty" in text and "done" in text, text


# --- docker ---------------------------------------------------------------------------

class Docker:
    def __init__(self, sock: str) -> None:
        self.base = [DOCKER, "-H", "unix://" + sock]

    def __call__(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(self.base + list(args), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def docker(tmp_path_factory, rootfs, pyrunc_binary):
    with removing_new_parent_cgroups("docker"):
        yield from _docker(tmp_path_factory, rootfs, pyrunc_binary)


@pytest.fixture(scope="module")
def docker_systemd(tmp_path_factory, rootfs, pyrunc_binary):
    """A dockerd whose cgroup driver is systemd's (`native.cgroupdriver`)."""
    yield from _docker(tmp_path_factory, rootfs, pyrunc_binary,
                       ("--exec-opt", "native.cgroupdriver=systemd"))


def _docker(tmp_path_factory, rootfs, pyrunc_binary, extra=()):
    top = tmp_path_factory.mktemp("docker")
    sock = str(top / "docker.sock")
    dk = Docker(sock)
    argv = [DOCKERD, "--iptables=false", "--bridge=none", "--ip-forward=false",
            "--ip-masq=false", "-H", "unix://" + sock, "--data-root", str(top / "data"),
            "--exec-root", str(top / "exec"), "--pidfile", str(top / "dockerd.pid"),
            "--storage-driver", "vfs", "--add-runtime", f"pyrunc={pyrunc_binary}", *extra]
    # SIGTERM stops dockerd's own containerd too.
    with running_daemon("dockerd", argv, top, lambda: dk("version").returncode == 0,
                        start_timeout=60, stop_timeout=30):
        res = dk("import", rootfs_tar(rootfs, top), DOCKER_IMAGE, timeout=120)
        assert res.returncode == 0, res.stderr
        yield dk
        dk("rm", "--force", *dk("ps", "-aq").stdout.split())
    shutil.rmtree(top, ignore_errors=True)


DOCKER_IMAGE = "pyrunc-test:busybox"


def _docker_runtime(binary: str) -> str:
    return "runc" if os.path.basename(binary) == "runc" else "pyrunc"


@needs_docker
def test_docker_run_output_exit_status_and_missing_command(docker, binary):
    rt = ["--runtime", _docker_runtime(binary), "--network", "none"]
    res = docker("run", "--rm", *rt, DOCKER_IMAGE, "sh", "-c", "echo hello; echo $$")
    assert (res.returncode, res.stdout) == (0, "hello\n1\n"), res.stderr
    assert docker("run", "--rm", *rt, DOCKER_IMAGE, "sh", "-c", "exit 5").returncode == 5
    # Docker maps the runtime's "executable file not found" error to 127.
    res = docker("run", "--rm", *rt, DOCKER_IMAGE, "nosuchcommand")
    assert res.returncode == 127, res.stderr
    assert "executable file not found" in res.stderr


@needs_docker
def test_docker_exec_top_pause_stats_update_stop(docker, binary):
    name = _cid()
    res = docker("run", "--detach", "--name", name, "--runtime", _docker_runtime(binary),
                 "--network", "none", DOCKER_IMAGE, "sleep", "600")
    assert res.returncode == 0, res.stderr
    try:
        res = docker("exec", name, "sh", "-c", "echo in-exec; exit 6")
        assert (res.returncode, res.stdout) == (6, "in-exec\n"), res.stderr
        top = docker("top", name)
        assert top.returncode == 0 and "sleep 600" in top.stdout, top.stderr
        assert docker("pause", name).returncode == 0
        assert docker("inspect", name, "--format", "{{.State.Status}}").stdout.strip() == "paused"
        assert docker("unpause", name).returncode == 0
        res = docker("update", "--memory", "64m", "--memory-swap", "128m", name)
        assert res.returncode == 0, res.stderr
        stats = docker("stats", "--no-stream", "--format", "{{.MemUsage}} {{.PIDs}}", name)
        assert stats.returncode == 0, stats.stderr
        assert stats.stdout.split()[-2:] == ["64MiB", "1"], stats.stdout
        # Docker sends every field, "memory": {"limit": 0} among them: zero
        # leaves the memory limit as it is (as in runc), it is not written.
        res = docker("update", "--cpus", "0.5", name)
        assert res.returncode == 0, res.stderr
        quota = docker("exec", name, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
        assert quota.stdout.strip() == "50000", (quota.stdout, quota.stderr)
        stats = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name)
        assert stats.stdout.split()[-1:] == ["64MiB"], stats.stdout
        assert docker("stop", "--time", "1", name).returncode == 0
        state = docker("inspect", name, "--format", "{{.State.Status}} {{.State.ExitCode}}")
        assert state.stdout.split() == ["exited", "137"]
    finally:
        res = docker("rm", "--force", name)
    assert res.returncode == 0, res.stderr


@needs_docker
def test_docker_run_with_terminal_configProcess(docker, binary):
    text, code = run_in_pty(docker.base + ["run", "--rm", "-it", "--runtime",
                                           _docker_runtime(binary), "--network", "none",
                                           DOCKER_IMAGE, "sh", "-c", TTY_SCRIPT], timeout=60)
    assert code == 0, text
    assert "/dev/pts/" in text and "stdin-is-a-tty" in text and "done" in text, text


@pytest.mark.systemd
@needs_systemd
@needs_docker
def test_docker_with_systemd_cgroup_driver(docker_systemd, binary):
    """dockerd with `native.cgroupdriver=systemd`: the runtime gets
    --systemd-cgroup and system.slice:docker:ID; the container lives in
    docker-ID.scope through exec, pause, update and stop, and rm leaves no
    scope."""
    dk = docker_systemd
    res = dk("run", "--detach", "--runtime", _docker_runtime(binary), DOCKER_IMAGE,
             "sleep", "600")
    assert res.returncode == 0, res.stderr
    cid = res.stdout.strip()
    unit = f"docker-{cid}.scope"
    try:
        assert systemd_unit_state(unit) == "active"
        res = dk("exec", cid, "sh", "-c", "echo in-exec; exit 5")
        assert (res.returncode, res.stdout) == (5, "in-exec\n"), res.stderr
        assert dk("pause", cid).returncode == 0
        assert dk("unpause", cid).returncode == 0
        res = dk("update", "--memory", "96m", "--memory-swap", "96m", cid)
        assert res.returncode == 0, res.stderr
        with open(f"/sys/fs/cgroup/system.slice/{unit}/memory.max") as f:
            assert f.read().strip() == str(96 << 20)
        assert dk("stop", "--time", "1", cid).returncode == 0
    finally:
        res = dk("rm", "--force", cid)
    assert res.returncode == 0, res.stderr
    assert systemd_unit_state(unit) == "gone"
