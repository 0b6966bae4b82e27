"""The init's setup order, and what it asks of the kernel, against a fake of
linux/syscalls (no root needed): the steps run for real on a temporary rootfs,
every mount(2)-family call is recorded instead of made."""
from __future__ import annotations

import errno
import os

import pytest

from pyrunc import bundle
from pyrunc.container.create import CreateOptions, plan_init
from pyrunc.default_spec import default_spec
from pyrunc.errors import ConfigError, KernelError
from pyrunc.linux import syscalls as sc
from pyrunc.process import init as initmod


class FakeChannel:
    def __init__(self):
        self.sent = []

    def send(self, kind, fd=None, **fields):
        self.sent.append(kind)

    def expect(self, kind):
        self.sent.append(f"<{kind}")
        return {"type": kind}

    def close(self):
        pass


class FakeKernel:
    """Records the calls linux/ makes through the syscalls module."""

    def __init__(self, monkeypatch):
        self.calls = []
        for name in ("umount2", "pivot_root", "unshare", "setns", "mount_setattr", "prctl",
                     "sethostname", "setdomainname", "close_range_cloexec",
                     "keyctl_setperm"):
            monkeypatch.setattr(sc, name, self._recorder(name))
        monkeypatch.setattr(sc, "mount", self.mount)
        monkeypatch.setattr(sc, "join_session_keyring", lambda name: self.calls.append(
            ("join_session_keyring", name)) or 1)

    def _recorder(self, name):
        def call(*args, **kw):
            self.calls.append((name,) + tuple(_show(a) for a in args))
            return 0
        return call

    def mount(self, source, target, fstype, flags, data=None):
        self.calls.append(("mount", source, _show(target), fstype, flags, data))

    def names(self):
        return [c[0] for c in self.calls]

    def mounts(self):
        return [c for c in self.calls if c[0] == "mount"]


def _show(value):
    """A /proc/self/fd/N target is recorded as the path the fd refers to."""
    if isinstance(value, str) and value.startswith("/proc/self/fd/"):
        try:
            return os.readlink(value)
        except OSError:
            return value
    return value


def _spec(tmp_path, **changes):
    root = tmp_path / "rootfs"
    for d in ("bin", "etc", "proc", "dev"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "bin" / "true").write_text("#!/bin/sh\n")
    (root / "bin" / "true").chmod(0o755)
    raw = default_spec(cgroupns=True)
    raw["process"]["terminal"] = False
    raw["process"]["args"] = ["true"]
    raw["root"]["path"] = str(root)
    for key, value in changes.items():
        node = raw
        parts = key.split(".")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return bundle.Spec(raw, str(tmp_path))


def _init(spec, **opts):
    launch = plan_init(spec, "ctr", CreateOptions(**opts), 0)
    return initmod.Init(launch, FakeChannel())


def _names(init):
    return [step.__name__ for step in initmod.steps(init)]


def _before(names, *ordered):
    idx = [names.index(n) for n in ordered]
    assert idx == sorted(idx), f"expected order {ordered} in {names}"


def test_default_order(tmp_path):
    names = _names(_init(_spec(tmp_path)))
    _before(names, "nondumpable", "unshare_cgroupns", "loopback_up", "prepare_root", "mounts",
            "devices", "switch_root", "readonly_root", "hostname", "readonly_paths",
            "masked_paths", "session_keyring", "chdir", "rlimits", "no_new_privileges",
            "drop_bounding", "switch_user", "apply_capabilities", "umask",
            "resolve_executable", "report_ready", "await_start", "exec")
    assert "await_cgroup" not in names  # born in its cgroups: the intermediate was placed


def test_hooks_run_before_pivot_configHooksCreateRuntime(tmp_path):
    hooks = {k: [{"path": "/bin/true"}] for k in bundle.HOOK_KINDS}
    names = _names(_init(_spec(tmp_path, hooks=hooks)))
    _before(names, "mounts", "runtime_hooks", "create_container_hooks", "switch_root")
    _before(names, "await_start", "start_container_hooks", "exec")


def test_optional_steps_only_when_configured(tmp_path):
    spec = _spec(tmp_path)
    spec.hostname = None
    spec.masked_paths = []
    names = _names(_init(spec, no_new_keyring=True))
    for absent in ("hostname", "masked_paths", "session_keyring", "runtime_hooks",
                   "create_container_hooks", "start_container_hooks", "oom_score_adj"):
        assert absent not in names


def test_without_mount_namespace_no_mounts_are_made(tmp_path):
    spec = _spec(tmp_path, mounts=[])
    spec.namespaces = [n for n in spec.namespaces if n.type != "mount"]
    names = _names(_init(spec))
    assert "prepare_root" not in names and "mounts" not in names
    assert "switch_root" in names


def test_without_mount_namespace_mounts_go_to_the_rootfs_not_the_host_root(tmp_path):
    """config-linux.md#configLinuxNamespaces: the runtime's mount namespace is
    inherited; its root is neither made private nor bound onto itself."""
    spec = _spec(tmp_path)
    spec.namespaces = [n for n in spec.namespaces if n.type != "mount"]
    names = _names(_init(spec))
    assert "prepare_root" not in names and "root_propagation" not in names
    assert names.index("open_root") < names.index("mounts") < names.index("switch_root")


def test_launch_carries_plain_values_not_the_config(tmp_path):
    """The init and parent read only what the planner resolved: no field of
    the Launch is the whole Spec or its raw document."""
    spec = _spec(tmp_path, hooks={k: [{"path": "/bin/true"}] for k in bundle.HOOK_KINDS})
    launch = _init(spec).launch
    for name in type(launch).__slots__:
        value = getattr(launch, name)
        assert not isinstance(value, bundle.Spec), name
        assert value is not spec.raw, name
    assert launch.root_path == spec.root_path and launch.mounts == spec.mounts
    assert [h.path for h in launch.create_container_hooks] == ["/bin/true"]
    assert launch.hostname == spec.hostname


def test_hostname_only_with_a_uts_namespace_configLinuxNamespaces(tmp_path):
    """The planner drops hostname and domainname without a UTS namespace of
    the container's own (they would be the host's)."""
    spec = _spec(tmp_path, hostname="box", domainname="example")
    names = _names(_init(spec))
    assert "hostname" in names and "domainname" in names
    spec.namespaces = [n for n in spec.namespaces if n.type != "uts"]
    init = _init(spec)
    assert init.launch.hostname is None and init.launch.domainname is None
    names = _names(init)
    assert "hostname" not in names and "domainname" not in names


def test_without_process_start_fails_runtimeStart(tmp_path):
    spec = _spec(tmp_path)
    spec.process = None
    names = _names(_init(spec))
    assert names[-3:] == ["report_ready", "await_start", "no_process"]
    assert "switch_user" not in names and "exec" not in names


def test_seccomp_step_from_the_planned_profile(tmp_path):
    """Loaded just before ready with noNewPrivileges, before the capabilities
    are dropped without it."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW"}
    names = _names(_init(_spec(tmp_path, **{"linux.seccomp": profile})))
    _before(names, "no_new_privileges", "prepare_fds", "seccomp", "report_ready")
    names = _names(_init(_spec(tmp_path, **{"linux.seccomp": profile,
                                            "process.noNewPrivileges": False})))
    _before(names, "seccomp", "drop_bounding", "switch_user")
    assert "seccomp" not in _names(_init(_spec(tmp_path)))


def test_scheduler_refused_with_allowed_cpus(tmp_path, monkeypatch):
    """sched_setattr's EPERM is explained when linux.resources.cpu.cpus is
    set (the planner passes it as allowed_cpus)."""
    def refuse(_attr):
        raise KernelError("sched_setattr", errno.EPERM)

    monkeypatch.setattr(sc, "sched_setattr", refuse)
    init = _init(_spec(tmp_path, **{"linux.resources": {"cpu": {"cpus": "0"}}}))
    assert init.launch.allowed_cpus == "0"
    with pytest.raises(ConfigError, match="can't be used together with AllowedCPUs"):
        init.scheduler()
    init = _init(_spec(tmp_path))
    with pytest.raises(KernelError):
        init.scheduler()


def test_rootfs_calls_against_fake_kernel_configMounts(tmp_path, monkeypatch):
    """prepare_root, the mounts in order, pivot_root: the recorded calls."""
    kernel = FakeKernel(monkeypatch)
    monkeypatch.setattr(os, "mknod", lambda path, mode, dev, dir_fd=None: open(
        os.open(path, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=dir_fd), "w").close())
    monkeypatch.setattr(os, "chown", lambda *a, **k: None)
    monkeypatch.chdir(tmp_path)
    spec = _spec(tmp_path)
    init = _init(spec)
    for step in (init.prepare_root, init.mounts, init.devices, init.switch_root):
        step()
    root = spec.root_path
    mounts = kernel.mounts()
    # runc's default propagation, then the rootfs bound onto itself for pivot_root.
    assert mounts[0] == ("mount", None, "/", None, sc.MS_SLAVE | sc.MS_REC, None)
    assert mounts[1] == ("mount", root, root, "bind", sc.MS_BIND | sc.MS_REC, None)
    targets = [m[2] for m in mounts[2:]]
    assert targets[:5] == [root + "/proc", root + "/dev", root + "/dev/pts",
                           root + "/dev/shm", root + "/dev/mqueue"]
    dev = next(m for m in mounts if m[2] == root + "/dev")
    assert dev[1:] == ("tmpfs", root + "/dev", "tmpfs",
                       sc.MS_NOSUID | sc.MS_STRICTATIME, "mode=755,size=65536k")
    assert kernel.names()[-2:] == ["mount", "umount2"]
    assert ("pivot_root", ".", ".") in kernel.calls
    assert os.path.islink(os.path.join(root, "dev", "ptmx"))
    assert os.readlink(os.path.join(root, "dev", "ptmx")) == "pts/ptmx"
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        assert os.path.exists(os.path.join(root, "dev", name))


@pytest.mark.parametrize("link,inside", [("/../../../../../tmp", "tmp"), ("../../..", ""),
                                         ("/", ""), ("../../etc/../tmp", "tmp")])
def test_mount_destination_symlink_stays_in_root_configMounts(tmp_path, monkeypatch, link,
                                                              inside):
    """A symlink in the image cannot point a mount at the host."""
    kernel = FakeKernel(monkeypatch)
    spec = _spec(tmp_path, mounts=[{"destination": "/evil/data", "type": "tmpfs",
                                    "source": "tmpfs"}])
    os.symlink(link, os.path.join(spec.root_path, "evil"))
    init = _init(spec)
    init.rootfd = os.open(spec.root_path, os.O_PATH | os.O_DIRECTORY)
    init.mounts()
    (target,) = [m[2] for m in kernel.mounts()]
    expected = os.path.join(spec.root_path, inside, "data").replace("//", "/")
    assert target == expected.rstrip("/")
    assert os.path.isdir(expected)
    assert not os.path.exists("/tmp/data")


def test_proc_destinations_refused(tmp_path, monkeypatch):
    FakeKernel(monkeypatch)
    spec = _spec(tmp_path, mounts=[{"destination": "/proc/sys/kernel", "type": "none",
                                    "source": "/tmp", "options": ["bind"]}])
    init = _init(spec)
    init.rootfd = os.open(spec.root_path, os.O_PATH | os.O_DIRECTORY)
    with pytest.raises(Exception, match="mounts\\[0\\].destination: /proc/sys/kernel"):
        init.mounts()


def test_lookup_uses_container_path(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    exe = tmp_path / "b" / "prog"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = [f"PATH={tmp_path}/a:{tmp_path}/b"]
    assert initmod.lookup("prog", env) == str(exe)
    with pytest.raises(Exception, match='exec: "nope": executable file not found in \\$PATH'):
        initmod.lookup("nope", env)
    (tmp_path / "a" / "prog").write_text("not executable")
    assert initmod.lookup("prog", env) == str(exe)
