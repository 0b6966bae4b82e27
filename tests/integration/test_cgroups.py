"""linux.resources (config-linux.md#configLinuxControlGroups) and the cgroup
commands (update, pause, resume, kill --all, ps, events, delete), against
pyrunc and runc, read back from the host side of the container's cgroups.

Device rules are in test_device_cgroup.py. Tests marked v2 read the right
files for either layout (v1/hybrid: the controller's own hierarchy; pure v2:
/sys/fs/cgroup) and also run in the cgroup v2 VM."""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
import uuid

import pytest

from helpers import assert_nothing_left, cgroup_dirs_for, own_cgroup, proc_alive, wait_gone

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")  # pure cgroup v2 host
UNIFIED = "/sys/fs/cgroup" if V2 else "/sys/fs/cgroup/unified"
HYBRID = not V2 and os.path.ismount(UNIFIED)
UNLIMITED_V1 = "9223372036854771712"
MiB = 1 << 20


# --- where the container's cgroup files are ------------------------------------------

def cg_dir(cid: str, controller: str = "") -> str:
    """The container's directory for a controller (default cgroupsPath): its
    v1 hierarchy if one is mounted, else the cgroup2 hierarchy."""
    if not V2 and controller:
        mount = os.path.realpath(f"/sys/fs/cgroup/{controller}")
        if os.path.ismount(mount):
            return os.path.join(mount, own_cgroup(controller).lstrip("/"), cid)
    return os.path.join(UNIFIED, own_cgroup("").lstrip("/"), cid)


def cg_read(cid: str, controller: str, name: str) -> str:
    with open(os.path.join(cg_dir(cid, controller), name)) as f:
        return f.read().strip()


def cg_kv(cid: str, controller: str, name: str) -> dict[str, int]:
    out = {}
    for line in cg_read(cid, controller, name).splitlines():
        key, _, value = line.partition(" ")
        out[key] = int(value)
    return out


def procs(cid: str) -> list[int]:
    with open(os.path.join(cg_dir(cid, "pids"), "cgroup.procs")) as f:
        return [int(x) for x in f.read().split()]


def memory_limit_file() -> str:
    return "memory.max" if V2 else "memory.limit_in_bytes"


def blkio_weight_file(cid: str) -> str:
    d = cg_dir(cid, "blkio")
    for name in ("blkio.weight", "blkio.bfq.weight"):
        if os.path.exists(os.path.join(d, name)):
            return name
    pytest.fail(f"no blkio weight file in {d}")


def wait_for(cond, timeout: float = 10, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def start(runtime, bundle, cid, resources: dict | None = None,
          args: tuple[str, ...] = ("sleep", "30")) -> None:
    bundle.config["linux"]["resources"].update(resources or {})
    bundle.config["process"]["args"] = list(args)
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)


def skip_runc(runtime, reason: str) -> None:
    if runtime.name == "runc":
        pytest.skip(f"runc divergence: {reason}")


def bind_out(bundle, tmp_path) -> str:
    out = tmp_path / "out"
    out.mkdir()
    bundle.config["mounts"].append({"destination": "/out", "type": "bind",
                                    "source": str(out), "options": ["rbind", "rw"]})
    return str(out)


def block_device() -> tuple[int, int]:
    """A real disk of this host (vda here) for blkio throttling."""
    for name in sorted(os.listdir("/sys/block")):
        if name.startswith(("loop", "ram", "zram", "nbd")):
            continue
        try:
            with open(f"/sys/block/{name}/dev") as f:
                major, minor = f.read().strip().split(":")
            return int(major), int(minor)
        except OSError:
            continue
    pytest.fail("no block device in /sys/block")


@pytest.fixture
def bfq_device():
    """blkio.bfq.weight_device takes only devices scheduled by BFQ: an
    unattached loop device is switched to bfq for the test, then back."""
    for name in sorted(os.listdir("/sys/block"), reverse=True):
        sched = f"/sys/block/{name}/queue/scheduler"
        if not name.startswith("loop") or os.path.exists(f"/sys/block/{name}/loop/backing_file"):
            continue
        try:
            with open(sched) as f:
                text = f.read()
        except OSError:
            continue
        if "bfq" not in text:
            continue
        old = re.search(r"\[(\S+)\]", text).group(1)
        with open(sched, "w") as f:
            f.write("bfq")
        with open(f"/sys/block/{name}/dev") as f:
            major, minor = (int(x) for x in f.read().strip().split(":"))
        try:
            yield major, minor
        finally:
            with open(sched, "w") as f:
                f.write(old)
        return
    pytest.fail("no unattached loop device with the bfq scheduler available")


# --- resources land in the right files ---------------------------------------------------

def test_memory_configLinuxMemory(runtime, bundle, cid):
    start(runtime, bundle, cid, {"memory": {
        "limit": 64 * MiB, "reservation": 32 * MiB, "swap": 96 * MiB, "swappiness": 10,
        "disableOOMKiller": True}})
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(64 * MiB)
    assert cg_read(cid, "memory", "memory.soft_limit_in_bytes") == str(32 * MiB)
    assert cg_read(cid, "memory", "memory.memsw.limit_in_bytes") == str(96 * MiB)
    assert cg_read(cid, "memory", "memory.swappiness") == "10"
    assert cg_kv(cid, "memory", "memory.oom_control")["oom_kill_disable"] == 1


def test_memory_kernel_tcp_configLinuxMemory(runtime, bundle, cid):
    skip_runc(runtime, "runc 1.1 ignores kernel memory settings with a warning")
    start(runtime, bundle, cid, {"memory": {"kernelTCP": 8 * MiB}})
    assert cg_read(cid, "memory", "memory.kmem.tcp.limit_in_bytes") == str(8 * MiB)


def test_zero_values_mean_unset_like_runc_configLinuxMemory(runtime, bundle, cid):
    """runc treats 0 as "not set" for the memory limits, swap, reservation,
    shares, quota, period and blkio weight (Go zero values callers send):
    such a config starts, and those files keep the kernel's defaults."""
    start(runtime, bundle, cid, {
        "memory": {"limit": 64 * MiB, "swap": 0, "reservation": 0},
        "cpu": {"shares": 0, "quota": 0, "period": 0}, "blockIO": {"weight": 0}})
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(64 * MiB)
    assert cg_read(cid, "memory", "memory.memsw.limit_in_bytes") == UNLIMITED_V1
    assert cg_read(cid, "memory", "memory.soft_limit_in_bytes") == UNLIMITED_V1
    assert cg_read(cid, "cpu", "cpu.shares") == "1024"
    assert cg_read(cid, "cpu", "cpu.cfs_quota_us") == "-1"


@pytest.mark.v2
def test_resources_both_layouts_configLinuxMemory_configLinuxCPU_configLinuxPIDS(
        runtime, bundle, cid, tmp_path):
    """memory.limit -> memory.limit_in_bytes (v1) / memory.max (v2); pids.limit
    -> pids.max; cpu.shares -> cpu.shares (v1) / cpu.weight = 1 +
    ((shares-2)*9999)/262142 (v2, runc's formula); quota/period ->
    cpu.cfs_quota_us (v1) / cpu.max "quota period" (v2). The container sees
    the memory and pids limits in its own cgroup mount."""
    limit_file = memory_limit_file()
    inside = (f"/sys/fs/cgroup/{limit_file}" if V2
              else f"/sys/fs/cgroup/memory/{limit_file}")
    pids_inside = "/sys/fs/cgroup/pids.max" if V2 else "/sys/fs/cgroup/pids/pids.max"
    out = bind_out(bundle, tmp_path)
    start(runtime, bundle, cid, {"memory": {"limit": 48 * MiB}, "pids": {"limit": 33},
                                 "cpu": {"shares": 512, "quota": 25000, "period": 100000}},
          ("sh", "-c", f"cat {inside} {pids_inside} > /out/v.tmp; mv /out/v.tmp /out/v; "
                       "sleep 30"))
    assert cg_read(cid, "memory", limit_file) == str(48 * MiB)
    assert cg_read(cid, "pids", "pids.max") == "33"
    if V2:
        assert cg_read(cid, "cpu", "cpu.weight") == str(1 + ((512 - 2) * 9999) // 262142)
        assert cg_read(cid, "cpu", "cpu.max") == "25000 100000"
    else:
        assert cg_read(cid, "cpu", "cpu.shares") == "512"
        assert cg_read(cid, "cpu", "cpu.cfs_quota_us") == "25000"
    assert wait_for(lambda: os.path.exists(f"{out}/v"), 20)
    with open(f"{out}/v") as f:
        assert f.read().split() == [str(48 * MiB), "33"]


def test_cpu_configLinuxCPU(runtime, bundle, cid):
    cpus = "1" if os.cpu_count() > 1 else "0"
    start(runtime, bundle, cid, {"cpu": {
        "shares": 512, "quota": 20000, "period": 50000, "cpus": cpus, "mems": "0",
        "realtimePeriod": 500000, "realtimeRuntime": 10000}})
    assert cg_read(cid, "cpu", "cpu.shares") == "512"
    assert cg_read(cid, "cpu", "cpu.cfs_quota_us") == "20000"
    assert cg_read(cid, "cpu", "cpu.cfs_period_us") == "50000"
    assert cg_read(cid, "cpu", "cpu.rt_period_us") == "500000"
    assert cg_read(cid, "cpu", "cpu.rt_runtime_us") == "10000"
    assert cg_read(cid, "cpuset", "cpuset.cpus") == cpus
    assert cg_read(cid, "cpuset", "cpuset.mems") == "0"
    # and the container's process is confined to those cpus
    with open(f"/proc/{runtime.state(cid)['pid']}/status") as f:
        allowed = re.search(r"Cpus_allowed_list:\s*(\S+)", f.read()).group(1)
    assert allowed == cpus


def test_cpu_burst_configLinuxCPU(runtime, bundle, cid):
    skip_runc(runtime, "runc 1.1.5 predates cpu.burst (ignored)")
    start(runtime, bundle, cid, {"cpu": {"quota": 20000, "period": 100000, "burst": 10000}})
    assert cg_read(cid, "cpu", "cpu.cfs_burst_us") == "10000"


def test_cpu_idle_configLinuxCPU(runtime, bundle, cid):
    skip_runc(runtime, "runc 1.1.5 predates cpu.idle (ignored)")
    start(runtime, bundle, cid, {"cpu": {"idle": 1}})
    assert cg_read(cid, "cpu", "cpu.idle") == "1"


def test_delete_removes_sub_cgroups_the_container_made_runtimeDelete(runtime, bundle, cid,
                                                                      tmp_path):
    """A container may make cgroups inside its own (delegated, or a writable
    cgroupfs) and put processes there: delete --force kills them and removes
    those cgroups too, deepest first, then the container's."""
    start(runtime, bundle, cid, args=("sleep", "60"))
    runtime.run("exec", "-d", "--pid-file", str(tmp_path / "pid"), cid, "sleep", "61",
                check=True)
    pid = int((tmp_path / "pid").read_text())
    for controller in ("memory", "pids"):
        sub = os.path.join(cg_dir(cid, controller), "made-inside", "deeper")
        os.makedirs(sub, exist_ok=True)  # one directory on cgroup v2
        with open(os.path.join(sub, "cgroup.procs"), "w") as f:
            f.write(str(pid))
    res = runtime.run("delete", "--force", cid)
    assert res.returncode == 0, res.stderr
    assert wait_gone(pid, 5)
    assert_nothing_left(runtime, cid)


def test_update_cpu_idle_flag_runcUpdate(runtime, bundle, cid):
    """update --cpu-idle (runc 1.2+) sets cpu.idle both ways."""
    skip_runc(runtime, "runc 1.1.5 predates cpu.idle and --cpu-idle")
    start(runtime, bundle, cid)
    for value in ("1", "0"):
        runtime.run("update", "--cpu-idle", value, cid, check=True)
        assert cg_read(cid, "cpu", "cpu.idle") == value


@pytest.mark.parametrize("kind", ["cfs", "rt"])
def test_update_shorter_period_with_its_quota_runcUpdate(runtime, bundle, cid, kind):
    """A shorter period with a smaller quota (or rt runtime): the kernel
    checks each write against the other's current value, so the period first
    is refused (EINVAL); the quota then goes first (runc retries the same)."""
    if kind == "cfs":
        quota, period, files = "quota", "period", ("cpu.cfs_quota_us", "cpu.cfs_period_us")
        flags = ("--cpu-period", "10000", "--cpu-quota", "3000")
    else:
        quota, period, files = ("realtimeRuntime", "realtimePeriod",
                                ("cpu.rt_runtime_us", "cpu.rt_period_us"))
        flags = ("--cpu-rt-period", "10000", "--cpu-rt-runtime", "3000")
    if not os.path.exists(os.path.join(cg_dir("", "cpu"), files[1])):
        pytest.skip(f"no {files[1]} on this host")
    start(runtime, bundle, cid, {"cpu": {quota: 500000, period: 1000000}})
    res = runtime.run("update", *flags, cid)
    if runtime.name == "runc" and res.returncode != 0 and kind == "rt":
        pytest.skip("runc 1.1.5 writes the rt period first and fails (runc 1.2 retries)")
    assert res.returncode == 0, res.stderr
    assert (cg_read(cid, "cpu", files[0]), cg_read(cid, "cpu", files[1])) == ("3000", "10000")


@pytest.mark.parametrize("limit,value", [(17, "17"), (-1, "max")])
def test_pids_limit_configLinuxPIDS(runtime, bundle, cid, limit, value):
    start(runtime, bundle, cid, {"pids": {"limit": limit}})
    assert cg_read(cid, "pids", "pids.max") == value


def test_pids_limit_zero_configLinuxPIDS(runtime, bundle, cid):
    """"0 is a valid limit value ... and SHOULD be treated as such by runtimes"."""
    skip_runc(runtime, "runc 1.1 treats pids.limit 0 as unset (fixed in runc 1.4, #4949)")
    bundle.config["linux"]["resources"]["pids"] = {"limit": 0}
    runtime.create(bundle, cid, check=True)
    assert cg_read(cid, "pids", "pids.max") == "0"


def test_blkio_weight_and_throttle_configLinuxBlockIO(runtime, bundle, cid):
    major, minor = block_device()
    dev = f"{major}:{minor}"
    start(runtime, bundle, cid, {"blockIO": {
        "weight": 300,
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
        "throttleWriteBpsDevice": [{"major": major, "minor": minor, "rate": 2097152}],
        "throttleReadIOPSDevice": [{"major": major, "minor": minor, "rate": 100}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 200}]}})
    assert cg_read(cid, "blkio", blkio_weight_file(cid)).split()[-1] == "300"
    assert cg_read(cid, "blkio", "blkio.throttle.read_bps_device") == f"{dev} 1048576"
    assert cg_read(cid, "blkio", "blkio.throttle.write_bps_device") == f"{dev} 2097152"
    assert cg_read(cid, "blkio", "blkio.throttle.read_iops_device") == f"{dev} 100"
    assert cg_read(cid, "blkio", "blkio.throttle.write_iops_device") == f"{dev} 200"


def test_blkio_weight_device_configLinuxBlockIO(runtime, bundle, cid, bfq_device):
    major, minor = bfq_device
    start(runtime, bundle, cid, {"blockIO": {"weightDevice": [
        {"major": major, "minor": minor, "weight": 400}]}})
    lines = cg_read(cid, "blkio", blkio_weight_file(cid) + "_device").splitlines()
    assert f"{major}:{minor} 400" in lines


def test_hugepage_limits_configLinuxHugePageLimits(runtime, bundle, cid):
    """On this hybrid host hugetlb is bound to the cgroup2 hierarchy: the
    limit goes to hugetlb.2MB.max there, and the container is placed in it.
    Where the kernel has reservation accounting, the limit is also the
    reservation limit (hugetlb.2MB.rsvd.max), which the spec prefers."""
    if HYBRID:
        skip_runc(runtime, "runc cannot apply hugepageLimits when hugetlb is on the "
                  "cgroup2 side of a hybrid host ('container could not join or create "
                  "cgroup')")
    if not os.path.exists("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        pytest.skip("no 2MB huge pages on this kernel")
    start(runtime, bundle, cid, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MiB}]})
    assert cg_read(cid, "hugetlb", "hugetlb.2MB.max") == str(4 * MiB)
    if os.path.exists(os.path.join(cg_dir(cid, "hugetlb"), "hugetlb.2MB.rsvd.max")):
        assert cg_read(cid, "hugetlb", "hugetlb.2MB.rsvd.max") == str(4 * MiB)
    with open(f"/proc/{runtime.state(cid)['pid']}/cgroup") as f:
        unified_line = [line for line in f.read().splitlines() if line.startswith("0::")]
    assert unified_line and unified_line[0].endswith("/" + cid)


def test_unified_on_hybrid_configLinuxUnified(runtime, bundle, cid):
    """unified entries are written as given into the cgroup2 directory, and
    win over the v1-style setting of the same file."""
    if not HYBRID:
        pytest.skip("hybrid host only")
    skip_runc(runtime, "runc refuses unified on a v1/hybrid host ('cannot use unified on "
              "cgroup v1')")
    start(runtime, bundle, cid, {
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MiB}],
        "unified": {"hugetlb.2MB.max": str(8 * MiB), "hugetlb.1GB.max": str(1 << 30)}})
    assert cg_read(cid, "", "hugetlb.2MB.max") == str(8 * MiB)
    assert cg_read(cid, "", "hugetlb.1GB.max") == str(1 << 30)


def test_unified_unknown_file_is_an_error_configLinuxUnified(runtime, bundle, cid):
    """"The runtime MUST generate an error when the configuration refers to a
    cgroup controller that is not present or that cannot be enabled"."""
    bundle.config["linux"]["resources"]["unified"] = {"nosuchctl.max": "5"}
    res = runtime.create(bundle, cid)
    assert res.returncode == 1
    if runtime.name == "pyrunc":  # runc on hybrid: "cannot use unified on cgroup v1"
        assert "unified.nosuchctl.max" in res.stderr
    assert_nothing_left(runtime, cid)


# --- the limits take effect -------------------------------------------------------------

OOM_ALLOC = 'a=$(head -c 80000000 /dev/zero | tr "\\0" x)'


def test_memory_limit_oom_kills_configLinuxMemory(runtime, bundle, cid):
    """limit 32 MiB (swap the same: none), a shell holding 80 MB in a
    variable: the OOM killer ends it (SIGKILL: run exits 137)."""
    bundle.config["linux"]["resources"]["memory"] = {"limit": 32 * MiB, "swap": 32 * MiB}
    bundle.config["process"]["args"] = ["sh", "-c", OOM_ALLOC + "; echo survived"]
    res = runtime.run_container(bundle, cid, "--keep", timeout=60)
    assert res.returncode == 137, res.stdout + res.stderr
    assert "survived" not in res.stdout
    if V2:
        assert cg_kv(cid, "memory", "memory.events")["oom_kill"] >= 1
    else:
        assert cg_kv(cid, "memory", "memory.oom_control")["oom_kill"] >= 1


def test_pids_limit_stops_fork_bomb_configLinuxPIDS(runtime, bundle, cid, tmp_path):
    out = bind_out(bundle, tmp_path)
    # busybox sh exits when a fork fails: the loop runs in a subshell, and the
    # shell then becomes a sleep without forking (exec)
    script = ("(for i in $(seq 50); do sleep 30 & done) 2>/out/err; "
              "echo done > /out/done; exec sleep 30")
    start(runtime, bundle, cid, {"pids": {"limit": 20}}, ("sh", "-c", script))
    assert wait_for(lambda: os.path.exists(f"{out}/done"), 20)
    with open(f"{out}/err") as f:
        err = f.read()
    assert "can't fork" in err or "Resource temporarily unavailable" in err, err
    current = int(cg_read(cid, "pids", "pids.current"))
    assert 2 <= current <= 20
    assert len(procs(cid)) <= 20
    assert cg_kv(cid, "pids", "pids.events")["max"] > 0


def test_cpu_quota_throttles_configLinuxCPU(runtime, bundle, cid):
    """quota 10 ms per 100 ms period: a busy loop gets ~10% of a cpu."""
    start(runtime, bundle, cid, {"cpu": {"quota": 10000, "period": 100000}},
          ("sh", "-c", "while :; do :; done"))

    def usage_ns() -> int:
        if V2:
            return cg_kv(cid, "cpu", "cpu.stat")["usage_usec"] * 1000
        return int(cg_read(cid, "cpuacct", "cpuacct.usage"))

    before = usage_ns()
    t0 = time.monotonic()
    time.sleep(1.0)
    used = (usage_ns() - before) / 1e9
    elapsed = time.monotonic() - t0
    assert cg_kv(cid, "cpu", "cpu.stat")["nr_throttled"] > 0
    assert 0 < used < 0.35 * elapsed, f"{used:.3f}s of cpu in {elapsed:.3f}s"


# --- update -----------------------------------------------------------------------------

UPDATE_FILES = [("memory", "memory.limit_in_bytes"), ("memory", "memory.memsw.limit_in_bytes"),
                ("pids", "pids.max"), ("cpu", "cpu.shares"), ("cpu", "cpu.cfs_quota_us"),
                ("cpu", "cpu.cfs_period_us"), ("cpuset", "cpuset.cpus")]


def snapshot(cid: str) -> dict[str, str]:
    return {name: cg_read(cid, ctrl, name) for ctrl, name in UPDATE_FILES}


def test_update_flags_runcUpdate(runtime, bundle, cid):
    start(runtime, bundle, cid, {"memory": {"limit": 100 * MiB}})
    runtime.run("update", "--memory", "50M", "--pids-limit", "30", "--cpu-share", "256",
                "--cpu-quota", "20000", "--cpu-period", "100000", "--cpuset-cpus", "0",
                "--blkio-weight", "200", cid, check=True)
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(50 * MiB)
    assert cg_read(cid, "pids", "pids.max") == "30"
    assert cg_read(cid, "cpu", "cpu.shares") == "256"
    assert cg_read(cid, "cpu", "cpu.cfs_quota_us") == "20000"
    assert cg_read(cid, "cpu", "cpu.cfs_period_us") == "100000"
    assert cg_read(cid, "cpuset", "cpuset.cpus") == "0"
    assert cg_read(cid, "blkio", blkio_weight_file(cid)).split()[-1] == "200"
    assert runtime.state(cid)["status"] == "running"


@pytest.mark.v2
def test_update_resources_stdin_and_file_runcUpdate(runtime, bundle, cid, tmp_path):
    """update -r - (containerd, Docker, CRI) and -r FILE (Podman): a
    LinuxResources document; then -1 sets unlimited again."""
    start(runtime, bundle, cid, {"memory": {"limit": 100 * MiB}})
    doc = {"memory": {"limit": 64 * MiB}, "pids": {"limit": 25}, "cpu": {"shares": 300}}
    runtime.run("update", "-r", "-", cid, input=json.dumps(doc), check=True)
    assert cg_read(cid, "memory", memory_limit_file()) == str(64 * MiB)
    assert cg_read(cid, "pids", "pids.max") == "25"
    weight = (cg_read(cid, "cpu", "cpu.weight") if V2 else cg_read(cid, "cpu", "cpu.shares"))
    assert weight == (str(1 + (298 * 9999) // 262142) if V2 else "300")
    path = tmp_path / "res.json"
    path.write_text(json.dumps({"memory": {"limit": -1}, "pids": {"limit": -1}}))
    runtime.run("update", "-r", str(path), cid, check=True)
    assert cg_read(cid, "memory", memory_limit_file()) in ("max", UNLIMITED_V1)
    assert cg_read(cid, "pids", "pids.max") == "max"
    assert runtime.state(cid)["status"] == "running"


def test_update_memory_and_swap_grow_and_shrink_configLinuxMemory(runtime, bundle, cid):
    """v1 keeps memsw >= memory at every moment: growing needs the swap limit
    raised first, shrinking the memory limit lowered first."""
    start(runtime, bundle, cid, {"memory": {"limit": 64 * MiB, "swap": 128 * MiB}})
    runtime.run("update", "-r", "-", cid, check=True,
                input=json.dumps({"memory": {"limit": 256 * MiB, "swap": 512 * MiB}}))
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(256 * MiB)
    assert cg_read(cid, "memory", "memory.memsw.limit_in_bytes") == str(512 * MiB)
    runtime.run("update", "-r", "-", cid, check=True,
                input=json.dumps({"memory": {"limit": 32 * MiB, "swap": 64 * MiB}}))
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(32 * MiB)
    assert cg_read(cid, "memory", "memory.memsw.limit_in_bytes") == str(64 * MiB)
    runtime.run("update", "-r", "-", cid, check=True,
                input=json.dumps({"memory": {"limit": -1, "swap": -1}}))
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == UNLIMITED_V1
    assert cg_read(cid, "memory", "memory.memsw.limit_in_bytes") == UNLIMITED_V1
    # `update --memory -1` alone, under a swap limit, lifts that too (runc).
    runtime.run("update", "--memory", "64M", "--memory-swap", "96M", cid, check=True)
    runtime.run("update", "--memory", "-1", cid, check=True)
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == UNLIMITED_V1
    assert cg_read(cid, "memory", "memory.memsw.limit_in_bytes") == UNLIMITED_V1


def test_update_persists_runcUpdate(runtime, bundle, cid):
    """A later update of one field keeps the earlier updates (the container's
    config, not the bundle's, is the base)."""
    start(runtime, bundle, cid, {"memory": {"limit": 100 * MiB}, "pids": {"limit": 50}})
    runtime.run("update", "--memory", "50M", cid, check=True)
    runtime.run("update", "--pids-limit", "30", cid, check=True)
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(50 * MiB)
    assert cg_read(cid, "pids", "pids.max") == "30"
    runtime.run("update", "-r", "-", cid, input=json.dumps({"cpu": {"shares": 700}}),
                check=True)
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(50 * MiB)
    assert cg_read(cid, "pids", "pids.max") == "30"
    assert cg_read(cid, "cpu", "cpu.shares") == "700"


def test_update_stopped_is_an_error_runcUpdate(runtime, bundle, cid):
    bundle.config["linux"]["resources"]["pids"] = {"limit": 50}
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    before = cg_read(cid, "pids", "pids.max")
    res = runtime.run("update", "--pids-limit", "10", cid)
    assert res.returncode == 1
    assert re.search(r"stopped|not running", res.stderr), res.stderr
    assert cg_read(cid, "pids", "pids.max") == before == "50"


@pytest.mark.parametrize("args,stdin,match,runc_skip", [
    (["-r", "-"], '{"memory": {"limit": ', r".", ""),
    (["-r", "-"], '{"cpu": {"shares": -5}}', r"cpu\.shares", ""),
    (["-r", "-"], '{"memory": {"limit": "1G"}}', r"memory\.limit", ""),
    (["-r", "-"], '{"pids": {"limit": "x"}}', r"pids\.limit", ""),
    (["-r", "-"], '{"memory": {"swappiness": 200}}', r"swappiness",
     "runc 1.1's update ignores memory.swappiness (exit 0)"),
    (["--memory", "abc"], None, r"memory", ""),
    (["--cpu-share", "-1"], None, r"cpu[-.]share", ""),
    (["--pids-limit", "lots"], None, r"pids", ""),
], ids=["malformed-json", "negative-shares", "string-limit", "string-pids", "swappiness-200",
        "memory-flag", "negative-share-flag", "pids-flag"])
def test_update_invalid_changes_nothing_runcUpdate(runtime, bundle, cid, args, stdin, match,
                                                   runc_skip):
    if runc_skip:
        skip_runc(runtime, runc_skip)
    start(runtime, bundle, cid, {"memory": {"limit": 100 * MiB}, "pids": {"limit": 50}})
    before = snapshot(cid)
    res = runtime.run("update", *args, cid, input=stdin)
    assert res.returncode == 1
    assert re.search(match, res.stderr), res.stderr
    assert snapshot(cid) == before
    assert runtime.state(cid)["status"] == "running"


# --- pause / resume -----------------------------------------------------------------------

def _counter(path: str) -> int:
    for _ in range(50):
        try:
            with open(path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.01)
    raise AssertionError(f"no counter in {path}")


@pytest.mark.v2
def test_pause_freezes_and_resume_thaws_runcPause(runtime, bundle, cid, tmp_path):
    # The counter is replaced by rename: a freeze between the truncate and
    # the write of `echo > c` left an empty file (a flaky failure in CI).
    out = bind_out(bundle, tmp_path)
    start(runtime, bundle, cid, args=("sh", "-c", "i=0; while :; do i=$((i+1)); "
                                      "echo $i > /out/t; mv /out/t /out/c; sleep 0.02; "
                                      "done"))
    counter = f"{out}/c"
    assert wait_for(lambda: os.path.exists(counter) and _counter(counter) > 3)
    runtime.run("pause", cid, check=True)
    assert runtime.state(cid)["status"] == "paused"
    if V2:
        assert cg_read(cid, "", "cgroup.freeze") == "1"
        assert cg_kv(cid, "", "cgroup.events")["frozen"] == 1
    else:
        assert cg_read(cid, "freezer", "freezer.state") == "FROZEN"
    frozen_at = _counter(counter)
    time.sleep(0.4)
    assert _counter(counter) == frozen_at
    runtime.run("resume", cid, check=True)
    assert runtime.state(cid)["status"] == "running"
    assert wait_for(lambda: _counter(counter) > frozen_at + 2, 5)
    if not V2:
        assert cg_read(cid, "freezer", "freezer.state") == "THAWED"


def test_pause_stopped_and_resume_running_are_errors_runcPause(runtime, bundle, cid):
    start(runtime, bundle, cid)
    res = runtime.run("resume", cid)
    assert res.returncode == 1 and "container not paused" in res.stderr
    assert runtime.state(cid)["status"] == "running"
    runtime.run("kill", cid, "KILL", check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    res = runtime.run("pause", cid)
    assert res.returncode == 1 and "container not running" in res.stderr


# --- kill --all ---------------------------------------------------------------------------

def test_kill_all_signals_every_process_runtimeKill(runtime, bundle, cid):
    """PID 1 of the container ignores SIGTERM (no handler), its children do
    not: kill --all TERM reaches them all; kill --all 9 ends everything."""
    start(runtime, bundle, cid, args=("sh", "-c", "sleep 100 & sleep 101 & "
                                      "while :; do sleep 0.1; done"))
    init = runtime.state(cid)["pid"]
    assert wait_for(lambda: len(procs(cid)) >= 3)
    children = [p for p in procs(cid) if p != init]
    runtime.run("kill", "--all", cid, "TERM", check=True)
    for pid in children:
        assert wait_gone(pid, 5), f"pid {pid} survived kill --all TERM"
    assert proc_alive(init) and runtime.state(cid)["status"] == "running"
    runtime.run("kill", "--all", cid, "9", check=True)
    assert wait_gone(init, 5)
    assert runtime.wait_status(cid, "stopped") == "stopped"


def test_kill_all_paused_container_runtimeKill(runtime, bundle, cid):
    start(runtime, bundle, cid, args=("sh", "-c", "sleep 100 & sleep 101 & wait"))
    assert wait_for(lambda: len(procs(cid)) >= 3)
    pids = procs(cid)
    runtime.run("pause", cid, check=True)
    runtime.run("kill", "--all", cid, "9", check=True)
    for pid in pids:
        assert wait_gone(pid, 5), f"pid {pid} survived kill --all 9 while paused"
    assert runtime.wait_status(cid, "stopped") == "stopped"


def test_kill_signal_zero_probes_runtimeKill(runtime, bundle, cid):
    """Signal 0 is kill(2)'s existence probe (runc's bats use it): it succeeds
    while the container runs, sends nothing, and fails once it stopped."""
    start(runtime, bundle, cid, args=("sh", "-c", "trap 'exit 7' TERM USR1 HUP; "
                                      "while :; do sleep 0.1; done"))
    assert runtime.run("kill", cid, "0").returncode == 0
    time.sleep(0.3)
    assert runtime.state(cid)["status"] == "running"
    runtime.run("kill", cid, "KILL", check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    res = runtime.run("kill", cid, "0")
    assert res.returncode == 1 and "container not running" in res.stderr


def test_kill_KILL_without_pid_namespace_kills_the_cgroup_runtimeKill(runtime, bundle, cid,
                                                                     runc_bug):
    """Sharing the host's pid namespace, the init's death takes nobody with it
    (pid_namespaces(7)): kill KILL ends every process of the container's
    cgroup, as runc 1.2+ does, so none outlives its container."""
    runc_bug("kill KILL signals only the init when the pid namespace is shared "
             "(signalAllProcesses came with runc 1.2)")
    bundle.config["linux"]["namespaces"] = [
        ns for ns in bundle.config["linux"]["namespaces"] if ns["type"] != "pid"]
    start(runtime, bundle, cid, args=("sh", "-c", "sleep 100 & sleep 101 & wait"))
    assert wait_for(lambda: len(procs(cid)) >= 3)
    pids = procs(cid)
    runtime.run("kill", cid, "KILL", check=True)
    survivors = [pid for pid in pids if not wait_gone(pid, 5)]
    assert survivors == []
    assert runtime.wait_status(cid, "stopped") == "stopped"


# --- ps -----------------------------------------------------------------------------------

def test_ps_table_and_json_runcPs(runtime, bundle, cid):
    start(runtime, bundle, cid, args=("sh", "-c", "sleep 100 & sleep 101 & wait"))
    assert wait_for(lambda: len(procs(cid)) == 3)
    members = procs(cid)
    table = runtime.run("ps", cid, check=True).stdout.splitlines()
    header = table[0].split()
    assert "PID" in header and "CMD" in header
    column = header.index("PID")
    assert sorted(int(line.split()[column]) for line in table[1:]) == sorted(members)
    out = runtime.run("ps", "--format", "json", cid, check=True).stdout
    assert out.endswith("\n")
    got = json.loads(out)
    assert isinstance(got, list) and sorted(got) == sorted(members)


def test_ps_options_passed_to_ps_runcPs(runtime, bundle, cid):
    start(runtime, bundle, cid, args=("sh", "-c", "sleep 100 & wait"))
    assert wait_for(lambda: len(procs(cid)) == 2)
    lines = runtime.run("ps", cid, "-o", "pid,comm", check=True).stdout.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"]
    rows = {int(line.split()[0]): line.split()[1] for line in lines[1:]}
    assert sorted(rows) == sorted(procs(cid))
    assert sorted(rows.values()) == ["sh", "sleep"]


# --- events -------------------------------------------------------------------------------

@pytest.mark.v2
def test_events_stats_runcEvents(runtime, bundle, cid):
    start(runtime, bundle, cid, {"memory": {"limit": 100 * MiB}, "pids": {"limit": 50}},
          ("sh", "-c", "sleep 100 & wait"))
    assert wait_for(lambda: len(procs(cid)) == 2)
    out = runtime.run("events", "--stats", cid, check=True).stdout
    assert out.endswith("\n") and len(out.splitlines()) == 1
    event = json.loads(out)
    assert event["type"] == "stats" and event["id"] == cid
    data = event["data"]
    assert data["memory"]["usage"]["limit"] == int(cg_read(cid, "memory", memory_limit_file()))
    assert data["pids"] == {"current": int(cg_read(cid, "pids", "pids.current")), "limit": 50}
    assert data["pids"]["current"] == 2
    total = data["cpu"]["usage"]["total"]
    if V2:
        now = cg_kv(cid, "cpu", "cpu.stat")["usage_usec"] * 1000
    else:
        now = int(cg_read(cid, "cpuacct", "cpuacct.usage"))
    assert 0 < total <= now


def test_events_stopped_is_an_error_runcEvents(runtime, bundle, cid):
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    res = runtime.run("events", "--stats", cid)
    assert res.returncode == 1
    assert f"container with id {cid} is not running" in res.stderr


def _stream_events(runtime, bundle, cid, interval: str) -> list[dict]:
    """Run `events --interval` from before start until the container stops.
    pyrunc's exits by itself when the container stops; runc 1.1's only when
    the cgroup goes away (its OOM notifier closes), so runc's is ended by
    deleting the container: a documented divergence."""
    runtime.create(bundle, cid, check=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        ev = subprocess.Popen(runtime.cmd("events", "--interval", interval, cid),
                              stdout=out, stderr=err)
        try:
            time.sleep(0.3)
            runtime.run("start", cid, check=True)
            assert runtime.wait_status(cid, "stopped", 30) == "stopped"
            if runtime.name == "runc":
                runtime.run("delete", cid, check=True)
            rc = ev.wait(timeout=10)
        finally:
            if ev.poll() is None:
                ev.kill()
                ev.wait()
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    assert rc == 0, errors
    return [json.loads(line) for line in text.splitlines()]


def test_events_interval_streams_until_stop_runcEvents(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "1.5"]
    events = _stream_events(runtime, bundle, cid, "200ms")
    stats = [e for e in events if e["type"] == "stats"]
    assert len(stats) >= 3
    assert all(e["id"] == cid and "memory" in e["data"] for e in stats)


def test_events_oom_runcEvents(runtime, bundle, cid):
    """An OOM kill in the container is an {"type":"oom","id":ID} event (no data)."""
    bundle.config["linux"]["resources"]["memory"] = {"limit": 32 * MiB, "swap": 32 * MiB}
    bundle.config["process"]["args"] = ["sh", "-c", f"sleep 0.5; sh -c '{OOM_ALLOC}'; "
                                        "sleep 0.5"]
    events = _stream_events(runtime, bundle, cid, "1s")
    assert {"type": "oom", "id": cid} in events, events


# --- delete and cgroupsPath ---------------------------------------------------------------

@pytest.mark.v2
def test_delete_removes_every_cgroup_configLinuxCgroupsPath(runtime, bundle, cid):
    start(runtime, bundle, cid, {"memory": {"limit": 64 * MiB}, "pids": {"limit": 40}},
          ("sh", "-c", "sleep 100 & wait"))
    dirs = cgroup_dirs_for(cid)
    assert cg_dir(cid, "") in dirs  # the cgroup2 hierarchy too (hybrid and v2)
    assert cg_dir(cid, "memory") in dirs and cg_dir(cid, "pids") in dirs
    runtime.run("delete", "--force", cid, check=True)
    assert [d for d in dirs if os.path.exists(d)] == []
    assert cgroup_dirs_for(cid) == []


def _hierarchy_mounts() -> list[str]:
    if V2:
        return ["/sys/fs/cgroup"]
    base = "/sys/fs/cgroup"
    return [os.path.join(base, n) for n in sorted(os.listdir(base))
            if os.path.ismount(os.path.join(base, n))]


def _remove_tree(top: str) -> None:
    for mount in _hierarchy_mounts():
        for dirpath, _dirs, _files in sorted(os.walk(os.path.join(mount, top)),
                                             key=lambda x: -x[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


@pytest.fixture
def abs_top():
    top = f"pyrunc-test-{uuid.uuid4().hex[:12]}"
    yield top
    _remove_tree(top)


def test_absolute_cgroups_path_created_and_removed_configLinuxCgroupsPath(runtime, bundle,
                                                                          cid, abs_top):
    """An absolute cgroupsPath is relative to each hierarchy's mount point;
    the nested directories are created, and delete removes the container's."""
    bundle.config["linux"]["cgroupsPath"] = f"/{abs_top}/a/ctr"
    start(runtime, bundle, cid, {"pids": {"limit": 40}})
    pid = runtime.state(cid)["pid"]
    with open(f"/proc/{pid}/cgroup") as f:
        lines = f.read().splitlines()
    assert all(line.endswith(f":/{abs_top}/a/ctr") for line in lines), lines
    for mount in _hierarchy_mounts():
        assert os.path.isdir(os.path.join(mount, abs_top, "a", "ctr")), mount
    mount = os.path.realpath("/sys/fs/cgroup/pids") if not V2 else "/sys/fs/cgroup"
    with open(os.path.join(mount, abs_top, "a", "ctr", "pids.max")) as f:
        assert f.read().strip() == "40"
    runtime.run("delete", "--force", cid, check=True)
    for mount in _hierarchy_mounts():
        assert not os.path.exists(os.path.join(mount, abs_top, "a", "ctr")), mount


def test_absolute_cgroups_path_parents_removed_configLinuxCgroupsPath(runtime, bundle, cid,
                                                                      abs_top):
    """The parents the runtime created for the container go with it."""
    skip_runc(runtime, "runc 1.1 removes only the container's own directory, leaving "
              "the parents it created")
    bundle.config["linux"]["cgroupsPath"] = f"/{abs_top}/a/ctr"
    start(runtime, bundle, cid)
    runtime.run("delete", "--force", cid, check=True)
    for mount in _hierarchy_mounts():
        assert not os.path.exists(os.path.join(mount, abs_top)), mount


def _mkdir_parent(mount: str, path: str, cpuset: bool) -> None:
    os.mkdir(path)
    if cpuset and os.path.exists(os.path.join(path, "cpuset.cpus")):
        # what an administrator does before using a v1 cpuset cgroup
        for name in ("cpuset.cpus", "cpuset.mems"):
            with open(os.path.join(mount, name)) as src, open(os.path.join(path, name), "w") as dst:
                dst.write(src.read().strip())


def test_preexisting_parent_is_kept_configLinuxCgroupsPath(runtime, bundle, cid, abs_top):
    for mount in _hierarchy_mounts():
        _mkdir_parent(mount, os.path.join(mount, abs_top), cpuset=True)
    bundle.config["linux"]["cgroupsPath"] = f"/{abs_top}/ctr"
    start(runtime, bundle, cid)
    runtime.run("delete", "--force", cid, check=True)
    for mount in _hierarchy_mounts():
        assert os.path.isdir(os.path.join(mount, abs_top)), mount
        assert not os.path.exists(os.path.join(mount, abs_top, "ctr")), mount


def test_preexisting_unconfigured_cpuset_parent_configLinuxCgroupsPath(runtime, bundle, cid,
                                                                       abs_top):
    """A v1 cpuset parent made with a plain mkdir has empty cpuset.cpus and
    cpuset.mems; runc (fs/cpuset.go ensureParent) fills every empty ancestor
    from its own parent, so the container can join."""
    if V2:
        pytest.skip("v1 cpuset only")
    for mount in _hierarchy_mounts():
        _mkdir_parent(mount, os.path.join(mount, abs_top), cpuset=False)
    bundle.config["linux"]["cgroupsPath"] = f"/{abs_top}/ctr"
    start(runtime, bundle, cid, {"cpu": {"cpus": "0"}})
    mount = os.path.realpath("/sys/fs/cgroup/cpuset")
    with open(os.path.join(mount, abs_top, "ctr", "cpuset.cpus")) as f:
        assert f.read().strip() == "0"
    runtime.run("delete", "--force", cid, check=True)
    assert os.path.isdir(os.path.join(mount, abs_top))


# --- bad input ----------------------------------------------------------------------------

BAD = [
    # (id, linux.resources or {"cgroupsPath": ...}, stderr regex, runc skip reason)
    ("cgroupspath-dotdot", {"cgroupsPath": "../escape"}, r"cgroupsPath",
     "runc cleans '..' out of a relative cgroupsPath instead of refusing it"),
    ("memory-limit-string", {"memory": {"limit": "1G"}}, r"memory\.limit", ""),
    ("memory-limit-below-usage", {"memory": {"limit": 1024}}, r"memory", ""),
    ("swap-below-limit", {"memory": {"limit": 32 * MiB, "swap": 16 * MiB}}, r"swap|memsw", ""),
    ("shares-negative", {"cpu": {"shares": -2}}, r"cpu\.shares", ""),
    ("swappiness-200", {"memory": {"swappiness": 200}}, r"swappiness", ""),
    ("pids-float", {"pids": {"limit": 1.5}}, r"pids\.limit", ""),
    ("pids-string", {"pids": {"limit": "10"}}, r"pids\.limit", ""),
    ("cpus-invalid", {"cpu": {"cpus": "abc"}}, r"cpu\.cpus|cpuset\.cpus", ""),
    ("period-too-small", {"cpu": {"quota": 1000, "period": 100}}, r"period", ""),
    ("blkio-weight-range", {"blockIO": {"weight": 5000}}, r"weight", ""),
    ("weight-device-empty", {"blockIO": {"weightDevice": [{"major": 7, "minor": 0}]}},
     r"blockIO\.weightDevice", "runc accepts a weightDevice entry with neither weight "
     "(the spec's MUST is on the config author)"),
    ("hugepage-size", {"hugepageLimits": [{"pageSize": "3MB", "limit": 4096}]},
     r"hugepageLimits|hugetlb", ""),
    ("network-classid", {"network": {"classID": 1}}, r"network|net_cls", ""),
    ("unified-cgroup-procs", {"unified": {"cgroup.procs": "0"}}, r"unified", ""),
    # the value is the parent's current one, so a runtime that does escape
    # writes nothing new outside the container's cgroup
    ("unified-dotdot", {"unified": {"../cgroup.max.descendants": "SAME"}}, r"unified", ""),
]


@pytest.mark.parametrize("resources,match,runc_skip", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_resources_rejected_configLinuxControlGroups(runtime, bundle, cid, resources,
                                                         match, runc_skip):
    """exit 1, a message naming the field, nothing left behind."""
    if runc_skip:
        skip_runc(runtime, runc_skip)
    if "network" in resources:
        from pyrunc.cgroups.hierarchy import detect

        if any("net_cls" in h.controllers for h in detect()):
            pytest.skip("this host has net_cls mounted: classID can be applied")
    resources = json.loads(json.dumps(resources))
    for key, value in resources.get("unified", {}).items():
        if value == "SAME":
            parent = os.path.dirname(cg_dir(cid, ""))
            with open(os.path.join(parent, key.split("/")[-1])) as f:
                resources["unified"][key] = f.read().strip()
    if "cgroupsPath" in resources:
        bundle.config["linux"]["cgroupsPath"] = resources["cgroupsPath"] + cid
    else:
        bundle.config["linux"]["resources"].update(resources)
    res = runtime.create(bundle, cid)
    assert res.returncode == 1, res.stderr
    assert re.search(match, res.stderr), res.stderr
    assert_nothing_left(runtime, cid)
