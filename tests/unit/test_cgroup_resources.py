"""linux.resources (config-linux.md#configLinuxControlGroups) without root:
the v1 and v2 translations to cgroup files, apply() against a fake cgroupfs
tree in tmp_path, the `events` statistics in runc's JSON shape, and the
validation of a LinuxResources document (`update -r`).

Expected values are runc's (libcontainer/cgroups/fs and fs2, runc 1.1):
the formulas are written out here rather than imported from pyrunc."""
from __future__ import annotations

import os

import pytest

from pyrunc import bundle
from pyrunc.cgroups import CgroupManager, files, stats, v1, v2
from pyrunc.cgroups import apply as apply_mod
from pyrunc.cgroups.resources import Write
from pyrunc.errors import ConfigError


def res(doc: dict):
    return bundle.parse_resources(doc)


def no_files(_controller: str, _name: str) -> bool:
    return False


def triples(writes: list[Write]) -> list[tuple[str, str, str]]:
    return [(w.controller, w.file, w.value) for w in writes]


def runc_cpu_weight(shares: int) -> int:
    """runc ConvertCPUSharesToCgroupV2Value."""
    return 1 + ((shares - 2) * 9999) // 262142


def runc_io_weight(weight: int) -> int:
    """runc ConvertBlkIOToIOWeightValue."""
    return 1 + ((weight - 10) * 9999) // 990


# --- v1 translations ----------------------------------------------------------------

def test_v1_memory_files_configLinuxMemory():
    ws = v1.writes(res({"memory": {"limit": 67108864, "reservation": 33554432,
                                   "swap": 134217728, "kernelTCP": 8388608,
                                   "swappiness": 10, "disableOOMKiller": True}}), no_files)
    assert sorted(triples(ws)) == sorted([
        ("memory", "memory.limit_in_bytes", "67108864"),
        ("memory", "memory.memsw.limit_in_bytes", "134217728"),
        ("memory", "memory.soft_limit_in_bytes", "33554432"),
        ("memory", "memory.kmem.tcp.limit_in_bytes", "8388608"),
        ("memory", "memory.swappiness", "10"),
        ("memory", "memory.oom_control", "1"),
    ])
    fields = {w.file: w.field for w in ws}
    assert fields["memory.memsw.limit_in_bytes"] == "memory.swap"
    assert fields["memory.oom_control"] == "memory.disableOOMKiller"


def test_v1_memory_unlimited_configLinuxMemory():
    """-1 is "unlimited"; the v1 files take -1 as it is."""
    ws = v1.writes(res({"memory": {"limit": -1, "swap": -1}}), no_files)
    assert sorted(triples(ws)) == [("memory", "memory.limit_in_bytes", "-1"),
                                   ("memory", "memory.memsw.limit_in_bytes", "-1")]


def test_v1_swappiness_out_of_range_configLinuxMemory():
    with pytest.raises(ConfigError, match=r"memory\.swappiness"):
        v1.writes(res({"memory": {"swappiness": 101}}), no_files)


def test_v1_disable_oom_killer_false_writes_nothing_configLinuxMemory():
    assert v1.writes(res({"memory": {"disableOOMKiller": False}}), no_files) == []


def test_v1_zero_memory_values_are_unset_like_runc_configLinuxMemory():
    """runc (fs/memory.go) treats 0 for limit, swap, reservation and the
    kernel limits as "not set": a config with "swap": 0 next to a limit
    (a Go zero value some callers send) works with runc. Writing 0 into
    memory.memsw.limit_in_bytes fails (below the memory limit), and a
    soft limit of 0 changes reclaim behaviour."""
    ws = v1.writes(res({"memory": {"limit": 67108864, "swap": 0, "reservation": 0,
                                   "kernelTCP": 0}}), no_files)
    assert triples(ws) == [("memory", "memory.limit_in_bytes", "67108864")]


@pytest.mark.parametrize("writes", [v1.writes, v2.writes], ids=["v1", "v2"])
def test_zero_memory_limit_leaves_the_limit_alone_configLinuxMemory(writes):
    """`docker update --cpus 0.5` sends the whole resources document with
    "memory": {"limit": 0, ...} (Go zero values) to `update`: runc leaves the
    memory limit as it is then; writing 0 would fail (EBUSY) or kill."""
    doc = {"memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
           "cpu": {"shares": 0, "quota": 50000, "period": 100000, "cpus": "", "mems": ""},
           "blockIO": {"weight": 0}}
    files = sorted(w.file for w in writes(res(doc), no_files))
    assert not [f for f in files if f.startswith("memory")], files
    assert files in (["cpu.cfs_period_us", "cpu.cfs_quota_us"], ["cpu.max"]), files


def test_v1_cpu_files_configLinuxCPU():
    ws = v1.writes(res({"cpu": {"shares": 512, "quota": 20000, "period": 50000,
                                "burst": 10000, "realtimePeriod": 500000,
                                "realtimeRuntime": 10000, "cpus": "0-1", "mems": "0",
                                "idle": 1}}), no_files)
    got = triples(ws)
    assert sorted(got) == sorted([
        ("cpu", "cpu.shares", "512"),
        ("cpu", "cpu.cfs_quota_us", "20000"),
        ("cpu", "cpu.cfs_period_us", "50000"),
        ("cpu", "cpu.cfs_burst_us", "10000"),
        ("cpu", "cpu.rt_period_us", "500000"),
        ("cpu", "cpu.rt_runtime_us", "10000"),
        ("cpu", "cpu.idle", "1"),
        ("cpuset", "cpuset.cpus", "0-1"),
        ("cpuset", "cpuset.mems", "0"),
    ])
    files = [f for _, f, _ in got]
    # The kernel checks a quota against the current period and a realtime
    # runtime against the current realtime period: the periods go first.
    assert files.index("cpu.cfs_period_us") < files.index("cpu.cfs_quota_us")
    assert files.index("cpu.rt_period_us") < files.index("cpu.rt_runtime_us")


def test_v1_cpu_zero_is_unset_configLinuxCPU():
    assert v1.writes(res({"cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "",
                                  "mems": ""}}), no_files) == []


@pytest.mark.parametrize("limit,value", [(17, "17"), (-1, "max")])
def test_v1_pids_configLinuxPIDS(limit, value):
    assert triples(v1.writes(res({"pids": {"limit": limit}}), no_files)) == [
        ("pids", "pids.max", value)]


def test_v1_pids_zero_is_a_limit_configLinuxPIDS():
    """config-linux.md#configLinuxPIDS: "0 is a valid limit value ... and
    SHOULD be treated as such by runtimes" (runc >= 1.4 writes pids.max 0;
    runc 1.1 treated it as unset)."""
    assert triples(v1.writes(res({"pids": {"limit": 0}}), no_files)) == [
        ("pids", "pids.max", "0")]


def _bfq(controller: str, name: str) -> bool:
    return name in ("blkio.bfq.weight", "io.bfq.weight")


def _cfq(controller: str, name: str) -> bool:
    return name == "blkio.weight"


BLOCK_IO = {"weight": 300, "leafWeight": 200,
            "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                             {"major": 8, "minor": 16, "weight": 400}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
            "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 700}],
            "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 80}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 90}]}


def test_v1_blkio_cfq_configLinuxBlockIO():
    ws = v1.writes(res({"blockIO": BLOCK_IO}), _cfq)
    assert sorted(triples(ws)) == sorted([
        ("blkio", "blkio.weight", "300"),
        ("blkio", "blkio.leaf_weight", "200"),
        ("blkio", "blkio.weight_device", "8:0 500"),
        ("blkio", "blkio.leaf_weight_device", "8:0 300"),
        ("blkio", "blkio.weight_device", "8:16 400"),
        ("blkio", "blkio.throttle.read_bps_device", "8:0 600"),
        ("blkio", "blkio.throttle.write_bps_device", "8:0 700"),
        ("blkio", "blkio.throttle.read_iops_device", "8:16 80"),
        ("blkio", "blkio.throttle.write_iops_device", "8:16 90"),
    ])
    assert {w.field for w in ws if "throttle" in w.file} == {
        "blockIO.throttleReadBpsDevice", "blockIO.throttleWriteBpsDevice",
        "blockIO.throttleReadIOPSDevice", "blockIO.throttleWriteIOPSDevice"}


def test_v1_blkio_bfq_configLinuxBlockIO():
    """Kernels without CFQ (5.0+) have BFQ's blkio.bfq.weight{,_device} instead."""
    ws = v1.writes(res({"blockIO": {"weight": 300, "weightDevice": [
        {"major": 8, "minor": 0, "weight": 500}]}}), _bfq)
    assert triples(ws) == [("blkio", "blkio.bfq.weight", "300"),
                           ("blkio", "blkio.bfq.weight_device", "8:0 500")]


def test_v1_hugetlb_network_rdma():
    """configLinuxHugePageLimits, configLinuxNetwork, configLinuxRDMA on v1."""
    ws = v1.writes(res({"hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
                        "network": {"classID": 1048577,
                                    "priorities": [{"name": "eth0", "priority": 500}]},
                        "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000},
                                 "mlx4_0": {"hcaObjects": 1000}}}), no_files)
    assert sorted(triples(ws)) == sorted([
        ("hugetlb", "hugetlb.2MB.limit_in_bytes", "209715200"),
        ("net_cls", "net_cls.classid", "1048577"),
        ("net_prio", "net_prio.ifpriomap", "eth0 500"),
        ("rdma", "rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"),
        ("rdma", "rdma.max", "mlx4_0 hca_object=1000"),
    ])


def test_v1_unified_goes_to_cgroup2_configLinuxUnified():
    """On a hybrid host unified entries go to the cgroup2 hierarchy as given."""
    ws = v1.writes(res({"unified": {"hugetlb.2MB.max": "max"}}), no_files)
    assert triples(ws) == [("", "hugetlb.2MB.max", "max")]
    assert ws[0].field == "unified.hugetlb.2MB.max"


@pytest.mark.parametrize("key", ["cgroup.procs", "cgroup.subtree_control", "../cgroup.procs",
                                 "sub/memory.max"])
def test_v1_unified_refuses_non_controller_files_configLinuxUnified(key):
    """The hybrid path must refuse what the v2 path refuses: a unified key is
    a controller file of the container's own cgroup, never cgroup.procs (which
    would move an arbitrary pid, e.g. "1" = the host's init, into the
    container's cgroup) nor a path leaving the directory."""
    with pytest.raises(ConfigError, match=r"unified\."):
        v1.writes(res({"unified": {key: "1"}}), no_files)


# --- v2 translations ----------------------------------------------------------------

def test_v2_memory_configLinuxMemory():
    ws = v2.writes(res({"memory": {"limit": 67108864, "reservation": 33554432,
                                   "swap": 100663296}}), no_files)
    assert sorted(triples(ws)) == sorted([
        ("", "memory.max", "67108864"),
        ("", "memory.low", "33554432"),
        # v1's swap is memory + swap; v2's memory.swap.max is swap alone
        ("", "memory.swap.max", str(100663296 - 67108864)),
    ])


def test_v2_memory_unlimited_configLinuxMemory():
    ws = v2.writes(res({"memory": {"limit": -1, "swap": -1}}), no_files)
    assert sorted(triples(ws)) == [("", "memory.max", "max"), ("", "memory.swap.max", "max")]


@pytest.mark.parametrize("memory,match", [
    ({"swap": 1000}, r"memory\.swap"),                       # no memory limit
    ({"limit": 2000, "swap": 1000}, r"memory\.swap"),        # swap < limit
    ({"kernel": 1000}, r"memory\.kernel"),
    ({"kernelTCP": 1000}, r"memory\.kernel"),
    ({"swappiness": 10}, r"memory\.swappiness"),
    ({"disableOOMKiller": True}, r"memory\.disableOOMKiller"),
])
def test_v2_memory_errors_configLinuxMemory(memory, match):
    with pytest.raises(ConfigError, match=match):
        v2.writes(res({"memory": memory}), no_files)


@pytest.mark.parametrize("shares", [2, 100, 512, 1024, 262144])
def test_v2_cpu_weight_formula_configLinuxCPU(shares):
    assert triples(v2.writes(res({"cpu": {"shares": shares}}), no_files)) == [
        ("", "cpu.weight", str(runc_cpu_weight(shares)))]


def test_v2_cpu_weight_known_values_configLinuxCPU():
    assert v2.shares_to_weight(1024) == 39
    assert v2.shares_to_weight(2) == 1 and v2.shares_to_weight(262144) == 10000


@pytest.mark.parametrize("cpu,value", [
    ({"quota": 20000, "period": 100000}, "20000 100000"),
    ({"quota": -1, "period": 100000}, "max 100000"),
    ({"quota": 20000}, "20000"),
    ({"period": 50000}, "max 50000"),
])
def test_v2_cpu_max_configLinuxCPU(cpu, value):
    assert triples(v2.writes(res({"cpu": cpu}), no_files)) == [("", "cpu.max", value)]


def test_v2_cpu_other_files_configLinuxCPU():
    ws = v2.writes(res({"cpu": {"burst": 1000, "idle": 1, "cpus": "0", "mems": "0"}}),
                   no_files)
    assert sorted(triples(ws)) == sorted([("", "cpu.max.burst", "1000"), ("", "cpu.idle", "1"),
                                          ("", "cpuset.cpus", "0"), ("", "cpuset.mems", "0")])


@pytest.mark.parametrize("cpu", [{"realtimeRuntime": 1000}, {"realtimePeriod": 100000}])
def test_v2_realtime_is_an_error_configLinuxCPU(cpu):
    with pytest.raises(ConfigError, match=r"linux\.resources\.cpu\.realtime"):
        v2.writes(res({"cpu": cpu}), no_files)


@pytest.mark.parametrize("limit,value", [(30, "30"), (-1, "max")])
def test_v2_pids_configLinuxPIDS(limit, value):
    assert triples(v2.writes(res({"pids": {"limit": limit}}), no_files)) == [
        ("", "pids.max", value)]


def test_v2_io_without_bfq_configLinuxBlockIO():
    doc = dict(BLOCK_IO)
    del doc["leafWeight"]
    doc["weightDevice"] = [{"major": 8, "minor": 0, "weight": 500}]
    ws = v2.writes(res({"blockIO": doc}), no_files)
    assert sorted(triples(ws)) == sorted([
        ("", "io.weight", f"default {runc_io_weight(300)}"),
        ("", "io.weight", f"8:0 {runc_io_weight(500)}"),
        ("", "io.max", "8:0 rbps=600"),
        ("", "io.max", "8:0 wbps=700"),
        ("", "io.max", "8:16 riops=80"),
        ("", "io.max", "8:16 wiops=90"),
    ])
    assert runc_io_weight(500) == 4950


def test_v2_io_with_bfq_configLinuxBlockIO():
    """BFQ takes the v1 weight range (1..1000) as it is (runc)."""
    ws = v2.writes(res({"blockIO": {"weight": 300, "weightDevice": [
        {"major": 8, "minor": 0, "weight": 500}]}}), _bfq)
    assert triples(ws) == [("", "io.bfq.weight", "300"), ("", "io.bfq.weight", "8:0 500")]


def test_v2_leaf_weight_is_an_error_configLinuxBlockIO():
    with pytest.raises(ConfigError, match=r"blockIO\.leafWeight"):
        v2.writes(res({"blockIO": {"leafWeight": 100}}), no_files)


def test_v2_hugetlb_configLinuxHugePageLimits():
    ws = v2.writes(res({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304},
                                           {"pageSize": "1GB", "limit": 1073741824}]}), no_files)
    assert sorted(triples(ws)) == [("", "hugetlb.1GB.max", "1073741824"),
                                   ("", "hugetlb.2MB.max", "4194304")]


def _rsvd(_controller: str, name: str) -> bool:
    return ".rsvd." in name


@pytest.mark.parametrize("writes,controller,suffix", [(v1.writes, "hugetlb", "limit_in_bytes"),
                                                      (v2.writes, "", "max")], ids=["v1", "v2"])
def test_hugetlb_reservation_limit_where_the_kernel_has_it_configLinuxHugePageLimits(
        writes, controller, suffix):
    """config-linux.md#configLinuxHugePageLimits: "By default if supported by
    the kernel, hugepageLimits defines the hugepage sizes and limits for
    HugeTLB controller reservation accounting" (hugetlb.SIZE.rsvd.*); the
    page-fault limit is set as well (as runc does)."""
    ws = writes(res({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}), _rsvd)
    assert sorted(triples(ws)) == [(controller, f"hugetlb.2MB.{suffix}", "4194304"),
                                   (controller, f"hugetlb.2MB.rsvd.{suffix}", "4194304")]


@pytest.mark.parametrize("network", [{"classID": 1}, {"priorities": [{"name": "eth0",
                                                                      "priority": 1}]}])
def test_v2_network_is_an_error_configLinuxNetwork(network):
    with pytest.raises(ConfigError, match=r"linux\.resources\.network"):
        v2.writes(res({"network": network}), no_files)


def test_v2_rdma_configLinuxRDMA():
    ws = v2.writes(res({"rdma": {"mlx5_1": {"hcaHandles": 3}}}), no_files)
    assert triples(ws) == [("", "rdma.max", "mlx5_1 hca_handle=3")]


def test_v2_unified_written_last_and_as_given_configLinuxUnified():
    ws = v2.writes(res({"memory": {"limit": 1000000}, "unified": {"memory.max": "2000000",
                                                                 "io.max": "8:0 rbps=1"}}),
                   no_files)
    got = triples(ws)
    assert got[0] == ("", "memory.max", "1000000")
    assert got[1:] == [("", "memory.max", "2000000"), ("", "io.max", "8:0 rbps=1")]
    assert ws[1].field == "unified.memory.max"


@pytest.mark.parametrize("key", ["cgroup.procs", "cgroup.subtree_control", "../memory.max",
                                 "a/b"])
def test_v2_unified_refuses_non_controller_files_configLinuxUnified(key):
    with pytest.raises(ConfigError, match=r"unified\."):
        v2.writes(res({"unified": {key: "1"}}), no_files)


def test_v2_controllers_needed():
    ws = v2.writes(res({"memory": {"limit": 1}, "pids": {"limit": 2},
                        "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
                        "unified": {"io.max": "8:0 rbps=1"}}), no_files)
    assert v2.controllers_needed(ws) == {"memory", "pids", "hugetlb", "io"}


# --- apply() on a fake cgroupfs -----------------------------------------------------

V1_FILES = {
    "memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
               "memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control",
               "memory.usage_in_bytes"],
    "cpu": ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
    "cpuset": ["cpuset.cpus", "cpuset.mems"],
    "pids": ["pids.max"],
    "blkio": ["blkio.bfq.weight", "blkio.throttle.read_bps_device"],
}


def _touch(path: str, content: str = "") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(content)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def fake_v1(tmp_path, files=V1_FILES, unified: bool = False) -> tuple[CgroupManager, dict]:
    """A v1 (or hybrid) tree: <tmp>/<controller>/ctr with empty control files."""
    dirs, paths = [], {}
    for ctrl, names in files.items():
        mount = str(tmp_path / ctrl)
        path = os.path.join(mount, "ctr")
        for name in names:
            _touch(os.path.join(path, name))
        dirs.append({"key": ctrl, "path": path, "version": 1, "mountpoint": mount})
        paths[ctrl] = path
    mode = "v1"
    if unified:
        mount = str(tmp_path / "unified")
        path = os.path.join(mount, "ctr")
        _touch(os.path.join(mount, "cgroup.controllers"), "hugetlb\n")
        _touch(os.path.join(mount, "cgroup.subtree_control"))
        _touch(os.path.join(path, "cgroup.controllers"), "hugetlb\n")
        _touch(os.path.join(path, "hugetlb.2MB.max"))
        dirs.append({"key": "", "path": path, "version": 2, "mountpoint": mount})
        paths[""] = path
        mode = "hybrid"
    return CgroupManager.from_record({"mode": mode, "dirs": dirs}), paths


def test_apply_v1_writes_files_configLinuxControlGroups(tmp_path):
    m, p = fake_v1(tmp_path)
    apply_mod.apply(m, res({"memory": {"limit": 67108864, "swap": 134217728,
                                       "swappiness": 10},
                            "cpu": {"shares": 512, "quota": 20000, "period": 50000,
                                    "cpus": "0", "mems": "0"},
                            "pids": {"limit": 20},
                            "blockIO": {"weight": 300, "throttleReadBpsDevice": [
                                {"major": 254, "minor": 0, "rate": 1048576}]}}))
    assert _read(f"{p['memory']}/memory.limit_in_bytes") == "67108864"
    assert _read(f"{p['memory']}/memory.memsw.limit_in_bytes") == "134217728"
    assert _read(f"{p['memory']}/memory.swappiness") == "10"
    assert _read(f"{p['cpu']}/cpu.shares") == "512"
    assert _read(f"{p['cpu']}/cpu.cfs_quota_us") == "20000"
    assert _read(f"{p['cpu']}/cpu.cfs_period_us") == "50000"
    assert _read(f"{p['cpuset']}/cpuset.cpus") == "0"
    assert _read(f"{p['pids']}/pids.max") == "20"
    assert _read(f"{p['blkio']}/blkio.bfq.weight") == "300"
    assert _read(f"{p['blkio']}/blkio.throttle.read_bps_device") == "254:0 1048576"


def test_apply_missing_file_names_the_field(tmp_path):
    m, _ = fake_v1(tmp_path)
    with pytest.raises(ConfigError, match=r"linux\.resources\.cpu\.idle") as err:
        apply_mod.apply(m, res({"cpu": {"idle": 1}}))
    assert "cpu.idle" in str(err.value)


def test_apply_missing_controller_names_the_field(tmp_path):
    files = {k: v for k, v in V1_FILES.items() if k != "pids"}
    m, _ = fake_v1(tmp_path, files)
    with pytest.raises(ConfigError, match=r"linux\.resources\.pids\.limit"):
        apply_mod.apply(m, res({"pids": {"limit": 5}}))


def test_apply_hybrid_hugetlb_goes_to_cgroup2_configLinuxHugePageLimits(tmp_path):
    """hugetlb bound to the cgroup2 hierarchy of a hybrid host: the limit is
    written as hugetlb.<size>.max there, and the controller enabled in each
    ancestor's cgroup.subtree_control."""
    m, p = fake_v1(tmp_path, {"memory": ["memory.limit_in_bytes"]}, unified=True)
    apply_mod.apply(m, res({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}))
    assert _read(f"{p['']}/hugetlb.2MB.max") == "4194304"
    assert _read(str(tmp_path / "unified" / "cgroup.subtree_control")).split() == ["+hugetlb"]


class _Recorder:
    def __init__(self, monkeypatch) -> None:
        self.calls: list[str] = []
        real = files.write

        def record(path: str, value: str) -> None:
            self.calls.append(os.path.basename(path))
            real(path, value)

        monkeypatch.setattr(files, "write", record)


@pytest.mark.parametrize("current,limit,swap,first", [
    ("67108864", 268435456, 536870912, "memory.memsw.limit_in_bytes"),    # growing
    ("268435456", 33554432, 67108864, "memory.limit_in_bytes"),           # shrinking
    ("268435456", 33554432, -1, "memory.memsw.limit_in_bytes"),           # swap unlimited
    ("9223372036854771712", 33554432, 67108864, "memory.limit_in_bytes"),  # from unlimited
])
def test_apply_v1_memory_swap_order_configLinuxMemory(tmp_path, monkeypatch, current, limit,
                                                      swap, first):
    """v1 requires memory.memsw.limit_in_bytes >= memory.limit_in_bytes at
    every moment: a growing limit needs the swap limit raised first, a
    shrinking one the memory limit lowered first."""
    m, p = fake_v1(tmp_path)
    _touch(f"{p['memory']}/memory.limit_in_bytes", current)
    rec = _Recorder(monkeypatch)
    apply_mod.apply(m, res({"memory": {"limit": limit, "swap": swap}}))
    order = [c for c in rec.calls if c.startswith("memory.") and "limit" in c]
    assert order[0] == first and len(order) == 2


def test_memory_order_function_configLinuxMemory(tmp_path):
    d = str(tmp_path)
    _touch(f"{d}/memory.limit_in_bytes", "1000")
    lim = Write("memory", "memory.limit_in_bytes", "4000", "memory.limit")
    swp = Write("memory", "memory.memsw.limit_in_bytes", "8000", "memory.swap")
    other = Write("memory", "memory.swappiness", "1", "memory.swappiness")
    assert apply_mod._memory_order([(d, lim), (d, other), (d, swp)]) == [
        (d, swp), (d, lim), (d, other)]
    _touch(f"{d}/memory.limit_in_bytes", "9000")
    assert apply_mod._memory_order([(d, lim), (d, swp)]) == [(d, lim), (d, swp)]


def test_apply_check_before_update_configLinuxMemory(tmp_path):
    """memory.checkBeforeUpdate: a limit below the current usage is refused."""
    m, p = fake_v1(tmp_path)
    _touch(f"{p['memory']}/memory.usage_in_bytes", "104857600")
    with pytest.raises(ConfigError, match=r"memory\.limit"):
        apply_mod.apply(m, res({"memory": {"limit": 52428800, "checkBeforeUpdate": True}}))
    assert _read(f"{p['memory']}/memory.limit_in_bytes") == ""
    apply_mod.apply(m, res({"memory": {"limit": 209715200, "checkBeforeUpdate": True}}))
    assert _read(f"{p['memory']}/memory.limit_in_bytes") == "209715200"


def fake_v2(tmp_path, available="cpuset cpu io memory hugetlb pids") -> tuple[CgroupManager,
                                                                           str, str]:
    """A cgroup2 mount <tmp>/cg2 with an intermediate cgroup a/ and the
    container's a/ctr; empty subtree_control everywhere."""
    mount = str(tmp_path / "cg2")
    mid = os.path.join(mount, "a")
    ctr = os.path.join(mid, "ctr")
    for d in (mount, mid, ctr):
        _touch(os.path.join(d, "cgroup.controllers"), available + "\n")
        _touch(os.path.join(d, "cgroup.subtree_control"))
    for name in ("memory.max", "memory.swap.max", "memory.low", "pids.max", "cpu.weight",
                 "cpu.max", "io.weight", "io.max", "hugetlb.2MB.max"):
        _touch(os.path.join(ctr, name))
    m = CgroupManager.from_record({"mode": "v2", "dirs": [
        {"key": "", "path": ctr, "version": 2, "mountpoint": mount}]})
    return m, mount, ctr


def test_apply_v2_writes_and_enables_controllers_configLinuxUnified(tmp_path):
    """The runtime MUST ensure that the needed cgroup controllers are enabled
    (config-linux.md#configLinuxUnified): "+ctrl" in each ancestor's
    cgroup.subtree_control, not in the container's own."""
    m, mount, ctr = fake_v2(tmp_path)
    apply_mod.apply(m, res({"memory": {"limit": 67108864}, "pids": {"limit": 30},
                            "cpu": {"shares": 1024, "quota": 20000, "period": 100000}}))
    assert _read(f"{ctr}/memory.max") == "67108864"
    assert _read(f"{ctr}/pids.max") == "30"
    assert _read(f"{ctr}/cpu.weight") == "39"
    assert _read(f"{ctr}/cpu.max") == "20000 100000"
    for d in (mount, os.path.join(mount, "a")):
        assert set(_read(f"{d}/cgroup.subtree_control").split()) == {"+memory", "+pids",
                                                                     "+cpu"}
    assert _read(f"{ctr}/cgroup.subtree_control") == ""


def test_apply_v2_unavailable_controller_is_an_error_configLinuxUnified(tmp_path):
    """A controller the hierarchy does not offer: its files are missing, and
    the error names the field."""
    m, _mount, ctr = fake_v2(tmp_path, available="cpu memory pids")
    os.unlink(f"{ctr}/io.max")
    with pytest.raises(ConfigError, match=r"unified\.io\.max"):
        apply_mod.apply(m, res({"unified": {"io.max": "8:0 rbps=1"}}))


def test_enable_controllers_skips_already_enabled(tmp_path, monkeypatch):
    m, mount, ctr = fake_v2(tmp_path)
    _touch(os.path.join(mount, "cgroup.subtree_control"), "memory pids")
    writes: list[tuple[str, str]] = []
    monkeypatch.setattr(files, "write", lambda path, value: writes.append((path, value)))
    apply_mod.enable_controllers(mount, ctr, {"memory", "pids", "cpu"})
    assert writes[0] == (os.path.join(mount, "cgroup.subtree_control"), "+cpu")
    assert writes[1][0] == os.path.join(mount, "a", "cgroup.subtree_control")
    assert set(writes[1][1].split()) == {"+memory", "+pids", "+cpu"}
    assert len(writes) == 2


# --- stats (runc's `events` JSON) ------------------------------------------------------

def test_stats_v1_shape(tmp_path):
    files = {
        "cpu": {"cpu.stat": "nr_periods 10\nnr_throttled 3\nthrottled_time 5000\n"},
        "cpuacct": {"cpuacct.usage": "123456789\n", "cpuacct.usage_percpu": "100 200\n",
                    "cpuacct.usage_percpu_sys": "10 20\n",
                    "cpuacct.usage_percpu_user": "90 180\n",
                    "cpuacct.stat": "user 50\nsystem 25\n"},
        "cpuset": {"cpuset.cpus": "0-1\n", "cpuset.mems": "0\n", "cpuset.cpu_exclusive": "0\n",
                   "cpuset.sched_relax_domain_level": "-1\n"},
        "memory": {"memory.stat": "cache 4096\nrss 8192\n",
                   "memory.limit_in_bytes": "67108864\n", "memory.usage_in_bytes": "1000\n",
                   "memory.max_usage_in_bytes": "2000\n", "memory.failcnt": "2\n",
                   "memory.memsw.limit_in_bytes": "9223372036854771712\n",
                   "memory.memsw.usage_in_bytes": "1000\n", "memory.memsw.failcnt": "0\n",
                   "memory.kmem.limit_in_bytes": "9223372036854771712\n",
                   "memory.kmem.usage_in_bytes": "0\n", "memory.kmem.failcnt": "0\n",
                   "memory.kmem.tcp.limit_in_bytes": "9223372036854771712\n"},
        "pids": {"pids.current": "3\n", "pids.max": "max\n"},
        "blkio": {"blkio.throttle.io_service_bytes_recursive":
                  "8:16 Read 4096\n8:16 Write 8192\nTotal 12288\n",
                  "blkio.throttle.io_serviced_recursive": "8:16 Read 1\n8:16 Write 2\n"},
    }
    dirs = []
    for ctrl, content in files.items():
        path = str(tmp_path / ctrl / "ctr")
        for name, text in content.items():
            _touch(os.path.join(path, name), text)
        dirs.append({"key": ctrl, "path": path, "version": 1, "mountpoint": str(tmp_path / ctrl)})
    m = CgroupManager.from_record({"mode": "v1", "dirs": dirs})
    data = stats.collect(m)
    assert set(data) >= {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt",
                         "network_interfaces"}
    usage = data["cpu"]["usage"]
    assert usage["total"] == 123456789
    assert usage["percpu"] == [100, 200]
    assert usage["percpu_kernel"] == [10, 20] and usage["percpu_user"] == [90, 180]
    ticks = os.sysconf("SC_CLK_TCK")
    assert usage["user"] == 50 * 10**9 // ticks and usage["kernel"] == 25 * 10**9 // ticks
    assert data["cpu"]["throttling"] == {"periods": 10, "throttledPeriods": 3,
                                         "throttledTime": 5000}
    assert data["cpuset"]["cpus"] == [0, 1] and data["cpuset"]["mems"] == [0]
    assert data["cpuset"]["sched_relax_domain_level"] == -1
    mem = data["memory"]
    assert mem["cache"] == 4096
    assert mem["usage"] == {"limit": 67108864, "usage": 1000, "max": 2000, "failcnt": 2}
    assert mem["swap"]["limit"] == 9223372036854771712
    # kernelTCP has no usage: omitempty leaves usage and max out, never limit/failcnt
    assert mem["kernelTCP"] == {"limit": 9223372036854771712, "failcnt": 0}
    assert mem["raw"] == {"cache": 4096, "rss": 8192}
    # pids.max "max" is limit 0, which omitempty leaves out
    assert data["pids"] == {"current": 3}
    assert data["blkio"]["ioServiceBytesRecursive"] == [
        {"major": 8, "minor": 16, "op": "Read", "value": 4096},
        {"major": 8, "minor": 16, "op": "Write", "value": 8192}]
    assert len(data["blkio"]["ioServicedRecursive"]) == 2
    assert data["intel_rdt"] == {} and data["network_interfaces"] is None


def test_stats_v1_empty_values_omitted(tmp_path):
    """Go's omitempty: a zero cpu total, empty throttling counters, an idle
    cgroup's memory usage, and a zero blkio minor or value are left out
    (runc types/events.go: BlkioEntry fields are all omitempty)."""
    files = {"cpu": {"cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"},
             "cpuacct": {"cpuacct.usage": "0\n", "cpuacct.stat": "user 0\nsystem 0\n"},
             "memory": {"memory.limit_in_bytes": "1000\n", "memory.usage_in_bytes": "0\n"},
             "pids": {"pids.current": "0\n", "pids.max": "max\n"},
             "blkio": {"blkio.throttle.io_service_bytes_recursive": "254:0 Write 0\n"}}
    dirs = []
    for ctrl, content in files.items():
        path = str(tmp_path / ctrl / "ctr")
        for name, text in content.items():
            _touch(os.path.join(path, name), text)
        dirs.append({"key": ctrl, "path": path, "version": 1, "mountpoint": str(tmp_path / ctrl)})
    data = stats.collect(CgroupManager.from_record({"mode": "v1", "dirs": dirs}))
    assert data["cpu"]["usage"] == {"kernel": 0, "user": 0}
    assert data["cpu"]["throttling"] == {}
    assert data["memory"]["usage"] == {"limit": 1000, "failcnt": 0}
    assert "cache" not in data["memory"] and "raw" not in data["memory"]
    assert data["pids"] == {}
    assert data["blkio"]["ioServiceBytesRecursive"] == [{"major": 254, "op": "Write"}]


def _v2_stats_tree(tmp_path, overrides: dict | None = None) -> CgroupManager:
    ctr = str(tmp_path / "cg2" / "ctr")
    content = {
        "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\n"
                    "nr_throttled 2\nthrottled_usec 300\n",
        "memory.stat": "anon 8192\nfile 4096\n",
        "memory.current": "12288\n", "memory.max": "67108864\n", "memory.peak": "20000\n",
        "memory.events": "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n",
        "memory.swap.current": "0\n", "memory.swap.max": "33554432\n",
        "pids.current": "2\n", "pids.max": "30\n",
        "io.stat": "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
        "cpuset.cpus.effective": "0-1\n", "cpuset.mems.effective": "0\n",
    }
    content.update(overrides or {})
    for name, text in content.items():
        if text is not None:
            _touch(os.path.join(ctr, name), text)
    return CgroupManager.from_record({"mode": "v2", "dirs": [
        {"key": "", "path": ctr, "version": 2, "mountpoint": str(tmp_path / "cg2")}]})


def test_stats_v2_shape(tmp_path):
    data = stats.collect(_v2_stats_tree(tmp_path))
    assert data["cpu"]["usage"] == {"total": 1500000, "user": 1000000, "kernel": 500000}
    assert data["cpu"]["throttling"] == {"periods": 4, "throttledPeriods": 2,
                                         "throttledTime": 300000}
    mem = data["memory"]
    assert mem["cache"] == 4096
    assert mem["usage"]["limit"] == 67108864 and mem["usage"]["usage"] == 12288
    assert mem["usage"]["failcnt"] == 5
    # v1 compatibility (runc fs2): swap reported as memory + swap
    assert mem["swap"]["limit"] == 33554432 + 67108864
    assert mem["swap"]["usage"] == 12288
    assert mem["raw"] == {"anon": 8192, "file": 4096}
    assert data["pids"] == {"current": 2, "limit": 30}
    assert {(e["op"], e["value"]) for e in data["blkio"]["ioServiceBytesRecursive"]} == {
        ("Read", 4096), ("Write", 8192)}
    assert {(e["op"], e["value"]) for e in data["blkio"]["ioServicedRecursive"]} == {
        ("Read", 1), ("Write", 2)}
    assert data["cpuset"]["cpus"] == [0, 1] and data["cpuset"]["mems"] == [0]
    assert data["network_interfaces"] is None


def test_stats_v2_unlimited_memory_is_maxuint64(tmp_path):
    """runc fs2 (GetCgroupParamUint) reports "max" in memory.max and
    memory.swap.max as MaxUint64, and leaves an unlimited swap limit at
    MaxUint64 (not added to the memory limit); pids.max "max" becomes 0."""
    m = _v2_stats_tree(tmp_path, {"memory.max": "max\n", "memory.swap.max": "max\n",
                                  "pids.max": "max\n"})
    data = stats.collect(m)
    assert data["memory"]["usage"]["limit"] == 2**64 - 1
    assert data["memory"]["swap"]["limit"] == 2**64 - 1
    assert data["pids"] == {"current": 2}


# --- the LinuxResources document of `update -r` -----------------------------------------

@pytest.mark.parametrize("doc,path", [
    ({"memory": {"limit": "1G"}}, "resources.memory.limit"),
    ({"cpu": {"shares": -1}}, "resources.cpu.shares"),
    ({"cpu": {"cpus": 3}}, "resources.cpu.cpus"),
    ({"pids": {"limit": 1.5}}, "resources.pids.limit"),
    ({"memory": {"swappiness": 200}}, "resources.memory.swappiness"),
    ({"blockIO": {"weightDevice": [{"major": 8}]}}, "resources.blockIO.weightDevice[0]"),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0}]}},
     "resources.blockIO.throttleReadBpsDevice[0]"),
    ({"hugepageLimits": [{"pageSize": "2MB"}]}, "resources.hugepageLimits[0]"),
    ({"unified": {"memory.max": 5}}, "resources.unified.memory.max"),
    ({"memory": []}, "resources.memory"),
])
def test_load_resources_rejects_with_path(doc, path):
    with pytest.raises(ConfigError) as err:
        bundle.load_resources(doc, "resources")
    assert path in str(err.value)


@pytest.mark.parametrize("doc", [[], "x", 5, None])
def test_load_resources_rejects_non_object(doc):
    with pytest.raises(ConfigError):
        bundle.load_resources(doc, "resources")


def test_load_resources_accepts_spec_example():
    """The examples of config-linux.md (memory, cpu, blockIO, hugepageLimits,
    network, pids, rdma, unified) form a valid LinuxResources document."""
    doc = {
        "memory": {"limit": 536870912, "reservation": 536870912, "swap": 536870912,
                   "kernel": -1, "kernelTCP": -1, "swappiness": 0, "disableOOMKiller": False},
        "cpu": {"shares": 1024, "quota": 1000000, "burst": 1000000, "period": 500000,
                "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "2-3",
                "mems": "0-7", "idle": 0},
        "blockIO": {"weight": 10, "leafWeight": 10,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                                     {"major": 8, "minor": 16, "weight": 500}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200},
                           {"pageSize": "64KB", "limit": 1000000}],
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
        "pids": {"limit": 32771},
        "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
        "unified": {"io.max": "259:0 rbps=2097152 wiops=120"},
    }
    r = bundle.load_resources(doc, "resources")
    assert r.memory.limit == 536870912 and r.cpu.realtime_period == 1000000
    assert r.block_io.weight_device == [(8, 0, 500, 300), (8, 16, 500, None)]
    assert r.block_io.throttle_write_iops == [(8, 16, 300)]
    assert r.hugepage_limits == [("2MB", 209715200), ("64KB", 1000000)]
    assert r.net_priorities == [("eth0", 500)] and r.pids_limit == 32771
    assert r.rdma == {"mlx5_1": (3, 10000)}
    assert r.unified == {"io.max": "259:0 rbps=2097152 wiops=120"}


def test_v1_unlimited_memory_lifts_the_swap_limit_too_configLinuxMemory():
    """memory.limit -1 without a swap limit: memsw goes to -1 as well (runc),
    first, since the kernel keeps memsw >= memory (`update --memory -1` after
    a swap limit was set failed with EINVAL)."""
    ws = v1.writes(res({"memory": {"limit": -1}}),
                   lambda _c, name: name == "memory.memsw.limit_in_bytes")
    assert sorted(triples(ws)) == [("memory", "memory.limit_in_bytes", "-1"),
                                   ("memory", "memory.memsw.limit_in_bytes", "-1")]
    assert triples(v1.writes(res({"memory": {"limit": -1}}), no_files)) == [
        ("memory", "memory.limit_in_bytes", "-1")]
