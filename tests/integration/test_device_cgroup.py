"""Device access rules (config-linux.md#configLinuxDeviceAllowedlist): the v1
devices controller in a container, and the cgroup v2 eBPF program loaded for
real and attached to a cgroup of this host's cgroup2 hierarchy."""
from __future__ import annotations

import os
import time

import pytest

from pyrunc.cgroups import ebpf
from pyrunc.cgroups.devices import DEFAULT_ALLOWED, Rule


def _cgroup2_mount() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return fields[4]
    return None


def _open_in_cgroup(cgroup_dir: str, attempts: list[tuple[str, int]]) -> list[str]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
        out = []
        for path, flags in attempts:
            try:
                os.close(os.open(path, flags))
                out.append("ok")
            except OSError as err:
                out.append(err.strerror)
        os.write(w, ",".join(out).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    data = os.read(r, 4096).decode()
    os.close(r)
    return data.split(",")


@pytest.mark.v2
def test_ebpf_device_program_attached_to_cgroup2(tmp_path):
    mount = _cgroup2_mount()
    if mount is None:
        pytest.fail("no cgroup2 hierarchy on this host")
    d = os.path.join(mount, f"pyrunc-ebpf-test-{os.getpid()}")
    os.mkdir(d)
    try:
        rules = [Rule(False)] + list(DEFAULT_ALLOWED) + [Rule(False, "c", 1, 3, "w")]
        ebpf.apply(d, rules)
        got = _open_in_cgroup(d, [("/dev/null", os.O_RDONLY), ("/dev/null", os.O_WRONLY),
                                  ("/dev/zero", os.O_RDWR), ("/dev/kmsg", os.O_RDONLY)])
        assert got == ["ok", "Operation not permitted", "ok", "Operation not permitted"]
    finally:
        for _ in range(100):
            try:
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.02)


@pytest.mark.v2
def test_denied_device_in_container(runtime, bundle, cid):
    """The default config denies everything but the default devices: a
    device node the container makes for /dev/loop-control (c 10:237, which
    needs no capability to open) cannot be opened."""
    bundle.config["process"]["args"] = ["sh", "-c", "mknod /tmp/lc c 10 237 && "
                                        "head -c 0 /tmp/lc; echo rc=$?"]
    bundle.config["process"]["capabilities"]["bounding"].append("CAP_MKNOD")
    bundle.config["process"]["capabilities"]["effective"].append("CAP_MKNOD")
    bundle.config["process"]["capabilities"]["permitted"].append("CAP_MKNOD")
    bundle.config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["nosuid"]})
    res = runtime.run_container(bundle, cid)
    assert "Operation not permitted" in res.stdout + res.stderr
    assert "rc=1" in res.stdout


@pytest.mark.v2
def test_allowed_device_rule_in_container(runtime, bundle, cid):
    """An explicit allow rule for c 10:237 lets the container open the node."""
    bundle.config["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 10, "minor": 237, "access": "r"})
    bundle.config["linux"]["devices"] = [{"path": "/dev/loop-control", "type": "c",
                                          "major": 10, "minor": 237, "fileMode": 0o444}]
    bundle.config["process"]["args"] = ["sh", "-c", "head -c 0 /dev/loop-control; "
                                        "echo rc=$?"]
    res = runtime.run_container(bundle, cid)
    assert "rc=0" in res.stdout, res.stdout + res.stderr
