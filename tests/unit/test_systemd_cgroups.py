"""pyrunc.cgroups.systemd: cgroupsPath `slice:prefix:name`, slice expansion,
the unit and its cgroup, and the unit properties for StartTransientUnit and
for resources. Expected values are runc's (opencontainers/cgroups systemd/,
devices/systemd.go; runc's specconv) and what the systemd VM showed
(/work/notes/systemd-brief.md), written out here rather than computed."""
from __future__ import annotations

import pytest

from pyrunc import bundle
from pyrunc.cgroups import systemd
from pyrunc.cgroups.devices import DEFAULT_ALLOWED, Rule, effective_rules
from pyrunc.errors import ConfigError

INF = 2**64 - 1


def res(doc: dict):
    return bundle.parse_resources(doc)


# --- cgroupsPath --------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "slice_", "unit", "cgroup"), [
    ("", "system.slice", "runc-c1.scope", "/system.slice/runc-c1.scope"),
    ("system.slice:docker:abc", "system.slice", "docker-abc.scope",
     "/system.slice/docker-abc.scope"),
    # empty parts: only the slice has a default (seen in the VM with runc)
    ("::n", "system.slice", "-n.scope", "/system.slice/-n.scope"),
    ("system.slice::n2", "system.slice", "-n2.scope", "/system.slice/-n2.scope"),
    ("system.slice:p:", "system.slice", "p-.scope", "/system.slice/p-.scope"),
    (":foo:ghi", "system.slice", "foo-ghi.scope", "/system.slice/foo-ghi.scope"),
    ("a-b-c.slice:x:y", "a-b-c.slice", "x-y.scope", "/a.slice/a-b.slice/a-b-c.slice/x-y.scope"),
    ("kubepods-burstable-pod1234.slice:cri-containerd:cafe", "kubepods-burstable-pod1234.slice",
     "cri-containerd-cafe.scope",
     "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
     "cri-containerd-cafe.scope"),
    ("machine.slice:libpod:f00", "machine.slice", "libpod-f00.scope",
     "/machine.slice/libpod-f00.scope"),
    ("-.slice:p:n", "-.slice", "p-n.scope", "/p-n.scope"),
])
def test_parse_cgroups_path(path, slice_, unit, cgroup):
    u = systemd.parse_cgroups_path(path, "c1")
    assert (u.slice, u.unit, u.kind) == (slice_, unit, "Scope")
    assert u.cgroup() == cgroup
    assert u.cgroup_dir() == "/sys/fs/cgroup" + cgroup


def test_default_unit_and_rootless():
    u = systemd.parse_cgroups_path("", "ctr")
    assert (u.slice, u.prefix, u.name, u.unit) == ("system.slice", "runc", "ctr", "runc-ctr.scope")
    r = systemd.parse_cgroups_path("", "ctr", rootless=True)
    assert (r.slice, r.unit) == ("user.slice", "runc-ctr.scope")
    assert r.cgroup("/user.slice/user-1000.slice/user@1000.service") == \
        "/user.slice/user-1000.slice/user@1000.service/user.slice/runc-ctr.scope"
    assert systemd.parse_cgroups_path("::x", "c", rootless=True).slice == "user.slice"


def test_slice_unit():
    # runc: a name ending in .slice is the unit itself, the prefix ignored
    u = systemd.parse_cgroups_path("system.slice:runc:test-sub.slice", "c1")
    assert (u.unit, u.kind) == ("test-sub.slice", "Slice")
    assert u.cgroup() == "/system.slice/test-sub.slice"  # runc's path


@pytest.mark.parametrize(("path", "message"), [
    ("foo:bar", 'linux.cgroupsPath: expected cgroupsPath to be of format "slice:prefix:name" '
                'for systemd cgroups, got "foo:bar" instead'),
    ("/abs/path", 'linux.cgroupsPath: expected cgroupsPath to be of format "slice:prefix:name" '
                  'for systemd cgroups, got "/abs/path" instead'),
    ("a:b:c:d", 'got "a:b:c:d" instead'),
    ("bad/slice:x:y", "linux.cgroupsPath: invalid slice name: bad/slice"),
    ("a--b.slice:p:n", "linux.cgroupsPath: invalid slice name: a--b.slice"),
    ("-a.slice:p:n", "invalid slice name: -a.slice"),
    ("a-.slice:p:n", "invalid slice name: a-.slice"),
    (".slice:p:n", "invalid slice name: .slice"),
    ("system:p:n", "invalid slice name: system"),
    ("system.slice:p:../../x", 'linux.cgroupsPath: invalid unit name "p-../../x.scope"'),
    ("system.slice:a/b:n", 'invalid unit name "a/b-n.scope"'),
])
def test_parse_cgroups_path_errors(path, message):
    with pytest.raises(ConfigError) as err:
        systemd.parse_cgroups_path(path, "c1")
    assert message in str(err.value)


def test_expand_slice():
    assert systemd.expand_slice("-.slice") == "/"
    assert systemd.expand_slice("system.slice") == "/system.slice"
    assert systemd.expand_slice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice"
    for bad in ("slice", "a.scope", "a/b.slice", "a--b.slice", "-.slice.slice", "--.slice"):
        with pytest.raises(ValueError, match=f"^invalid slice name: {bad}$"):
            systemd.expand_slice(bad)


def test_parse_version():
    assert systemd.parse_version("252.38-1~deb12u1") == 252
    assert systemd.parse_version("v245.4-1.fc32") == 245
    assert systemd.parse_version('"v239"') == 239
    assert systemd.parse_version("") == -1
    assert systemd.parse_version("x1") == -1


# --- StartTransientUnit ------------------------------------------------------------------------

def test_start_properties_scope():
    u = systemd.parse_cgroups_path("system.slice:docker:abc", "ignored")
    assert systemd.start_properties(u, 4242, {}, 252) == [
        ("Description", ("s", "libcontainer container abc")),
        ("Slice", ("s", "system.slice")),
        ("Delegate", ("b", True)),
        ("PIDs", ("au", [4242])),
        ("MemoryAccounting", ("b", True)),
        ("CPUAccounting", ("b", True)),
        ("IOAccounting", ("b", True)),
        ("TasksAccounting", ("b", True)),
        ("DefaultDependencies", ("b", False)),
    ]


def test_start_properties_slice_and_oom_policy():
    u = systemd.parse_cgroups_path("system.slice:x:sub.slice", "c")
    props = systemd.start_properties(u, -1, {"memory.oom.group": "1"}, 253)
    assert props[1] == ("Wants", ("as", ["system.slice"]))
    assert "Delegate" not in dict(props) and "PIDs" not in dict(props)
    assert props[-1] == ("OOMPolicy", ("s", "kill"))
    scope = systemd.parse_cgroups_path("", "c")
    assert systemd.start_properties(scope, 1, {"memory.oom.group": " 0"}, 253)[-1] == \
        ("OOMPolicy", ("s", "continue"))
    assert "OOMPolicy" not in dict(systemd.start_properties(scope, 1,
                                                            {"memory.oom.group": "1"}, 252))
    assert "OOMPolicy" not in dict(systemd.start_properties(scope, 1,
                                                            {"memory.oom.group": "2"}, 253))
    with pytest.raises(ConfigError, match="linux.resources.unified.memory.oom.group: 'x'"):
        systemd.start_properties(scope, 1, {"memory.oom.group": "x"}, 253)


# --- resources -----------------------------------------------------------------------------

def props_of(doc: dict, version: int = 252, rules: list | None = None):
    return systemd.resource_properties(res(doc), version, rules or [])


def test_memory():
    props, quota = props_of({"memory": {"limit": 67108864, "reservation": 33554432,
                                        "swap": 134217728}})
    assert props == [("MemoryMax", ("t", 67108864)), ("MemoryLow", ("t", 33554432)),
                     ("MemorySwapMax", ("t", 67108864))]
    assert quota is None
    # -1 is infinity; unlimited memory with no swap given means unlimited swap
    assert props_of({"memory": {"limit": -1}})[0] == [("MemoryMax", ("t", INF)),
                                                      ("MemorySwapMax", ("t", INF))]
    assert props_of({"memory": {"limit": -1, "swap": 1000}})[0][1] == \
        ("MemorySwapMax", ("t", 1000))
    assert props_of({"memory": {"limit": 100, "swap": -1}})[0][1] == \
        ("MemorySwapMax", ("t", INF))
    assert props_of({"memory": {"limit": 100, "swap": 100}})[0] == [("MemoryMax", ("t", 100))]


@pytest.mark.parametrize(("memory", "message"), [
    ({"swap": 1000}, "linux.resources.memory.swap: unable to set swap limit without memory "
                     "limit"),
    ({"limit": 1000, "swap": 10}, "linux.resources.memory.swap: memory+swap limit (10) should "
                                  "be >= memory limit (1000)"),
    ({"limit": -5, "swap": 10}, "linux.resources.memory.limit: invalid memory value: -5"),
])
def test_memory_swap_errors(memory, message):
    with pytest.raises(ConfigError) as err:
        props_of({"memory": memory})
    assert str(err.value) == message


def test_cpu_weight_and_idle():
    # 512 shares -> 20, pyrunc's cgroupfs formula (runc 1.1.5's: the VM showed CPUWeight=20)
    assert props_of({"cpu": {"shares": 512}})[0] == [("CPUWeight", ("t", 20))]
    assert props_of({"cpu": {"shares": 1024}})[0] == [("CPUWeight", ("t", 39))]
    assert props_of({"cpu": {"shares": 512, "idle": 1}})[0] == [("CPUWeight", ("t", 0))]
    # systemd < 252 cannot express cpu.idle; cgroupfs still gets it
    assert props_of({"cpu": {"shares": 512, "idle": 1}}, version=251)[0] == \
        [("CPUWeight", ("t", 20))]


@pytest.mark.parametrize(("quota", "period", "version", "props", "cgroupfs_quota"), [
    # the VM: update --cpu-quota 20000 --cpu-period 100000
    (20000, 100000, 252, [("CPUQuotaPeriodUSec", ("t", 100000)),
                          ("CPUQuotaPerSecUSec", ("t", 200000))], 20000),
    # not a whole percent: rounded up, and cgroupfs gets the rounded quota
    (12345, 100000, 252, [("CPUQuotaPeriodUSec", ("t", 100000)),
                          ("CPUQuotaPerSecUSec", ("t", 130000))], 13000),
    (5000, 50000, 252, [("CPUQuotaPeriodUSec", ("t", 50000)),
                        ("CPUQuotaPerSecUSec", ("t", 100000))], 5000),
    (1, 0, 252, [("CPUQuotaPerSecUSec", ("t", 10000))], 1000),  # default period
    (-1, 0, 252, [("CPUQuotaPerSecUSec", ("t", INF))], -1),
    (0, 200000, 252, [("CPUQuotaPeriodUSec", ("t", 200000)),
                      ("CPUQuotaPerSecUSec", ("t", INF))], 0),
    (50000, 100000, 241, [("CPUQuotaPerSecUSec", ("t", 500000))], 50000),  # no period < 242
])
def test_cpu_quota(quota, period, version, props, cgroupfs_quota):
    cpu = {"quota": quota}
    if period:
        cpu["period"] = period
    got, q = props_of({"cpu": cpu}, version)
    assert (got, q) == (props, cgroupfs_quota)


def test_pids_limit():
    assert props_of({"pids": {"limit": 50}})[0] == [("TasksMax", ("t", 50))]
    assert props_of({"pids": {"limit": -1}})[0] == [("TasksMax", ("t", INF))]
    assert props_of({"pids": {"limit": 0}})[0] == [("TasksMax", ("t", 1))]


def test_cpuset():
    doc = {"cpu": {"cpus": "1,3-5", "mems": "0"}}
    assert props_of(doc, 244)[0] == [("AllowedCPUs", ("ay", b"\x3a")),
                                     ("AllowedMemoryNodes", ("ay", b"\x01"))]
    assert props_of(doc, 243)[0] == []
    with pytest.raises(ConfigError, match=r"linux.resources.cpu.cpus: '3-1' as a systemd "
                                          "CPU set: invalid range: 3-1"):
        props_of({"cpu": {"cpus": "3-1"}})


def test_order_matches_runc():
    props, _ = props_of({"memory": {"limit": 100}, "cpu": {"shares": 512, "quota": 20000,
                                                          "period": 100000, "cpus": "0"},
                         "pids": {"limit": 7}, "unified": {"memory.high": "50"}},
                        rules=[Rule(True)])
    assert [name for name, _v in props] == [
        "DeviceAllow", "DevicePolicy", "MemoryMax", "CPUWeight", "CPUQuotaPeriodUSec",
        "CPUQuotaPerSecUSec", "TasksMax", "AllowedCPUs", "MemoryHigh"]


def test_not_translated_on_v2():
    props, _ = props_of({"blockIO": {"weight": 500, "throttleReadBpsDevice": [
        {"major": 8, "minor": 0, "rate": 1000}]}, "hugepageLimits": [
        {"pageSize": "2MB", "limit": 0}]})
    assert props == []


@pytest.mark.parametrize(("bits_of", "expected"), [
    ("0", b"\x01"), ("1,3-5", b"\x3a"), ("8", b"\x00\x01"), (" 0 , ,2 ", b"\x05"),
    ("0-15", b"\xff\xff"), ("63", b"\x00" * 7 + b"\x80"),
])
def test_range_to_bits(bits_of, expected):
    assert systemd.range_to_bits(bits_of) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty value"), (",", "empty value"), ("3-1", "invalid range"), ("a", "invalid number"),
    ("-1", "invalid number"), ("1-", "invalid number"), ("1 - 2", "invalid number"),
    ("+1", "invalid number"), ("70000", "past the largest"),
])
def test_range_to_bits_errors(text, message):
    with pytest.raises(ValueError, match=message):
        systemd.range_to_bits(text)


def test_unified():
    props = systemd.unified_properties({
        "cpu.max": "50000 100000", "cpu.weight": " 30 ", "cpuset.cpus": "0-1",
        "cpuset.mems": "0", "memory.high": "max", "memory.low": "1", "memory.min": "2",
        "memory.max": "3", "memory.swap.max": "4", "pids.max": "0", "memory.oom.group": "1",
        "io.weight": "default 100"}, 252)
    assert props == [
        ("CPUQuotaPeriodUSec", ("t", 100000)), ("CPUQuotaPerSecUSec", ("t", 500000)),
        ("CPUWeight", ("t", 30)), ("AllowedCPUs", ("ay", b"\x03")),
        ("AllowedMemoryNodes", ("ay", b"\x01")), ("MemoryHigh", ("t", INF)),
        ("MemoryLow", ("t", 1)), ("MemoryMin", ("t", 2)), ("MemoryMax", ("t", 3)),
        ("MemorySwapMax", ("t", 4)), ("TasksMax", ("t", 1))]
    # cpu.max "max": no quota; the default period is still sent (runc)
    assert systemd.unified_properties({"cpu.max": "max"}, 252) == [
        ("CPUQuotaPeriodUSec", ("t", 100000)), ("CPUQuotaPerSecUSec", ("t", INF))]
    # cpu.idle=1 wins over cpu.weight
    assert systemd.unified_properties({"cpu.weight": "30", "cpu.idle": "1"}, 252) == [
        ("CPUWeight", ("t", 0))]
    assert systemd.unified_properties({"cpu.weight": "30", "cpu.idle": "1"}, 251) == [
        ("CPUWeight", ("t", 30))]
    assert systemd.unified_properties({"cpuset.cpus": "0"}, 243) == []
    assert systemd.unified_properties({"pids.max": "max"}, 252) == [("TasksMax", ("t", INF))]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("a/b", "1", "linux.resources.unified.a/b: must be a file name (no slashes)"),
    ("cpu", "1", "linux.resources.unified.cpu: must be in the form CONTROLLER.PARAMETER"),
    (".x", "1", "must be in the form CONTROLLER.PARAMETER"),
    ("cpu.max", "1 2 3", "linux.resources.unified.cpu.max: '1 2 3' is not \"QUOTA [PERIOD]\""),
    ("cpu.max", "x", "linux.resources.unified.cpu.max: 'x' is not a number"),
    ("cpu.max", "1 -2", "linux.resources.unified.cpu.max: '-2' is not an unsigned number"),
    ("memory.max", "-1", "linux.resources.unified.memory.max: '-1' is not an unsigned number"),
    ("cpuset.cpus", "x", "linux.resources.unified.cpuset.cpus: 'x' as a systemd CPU set"),
])
def test_unified_errors(key, value, message):
    with pytest.raises(ConfigError) as err:
        systemd.unified_properties({key: value}, 252)
    assert message in str(err.value)


# --- devices ---------------------------------------------------------------------------------

def test_devices_default_rules():
    rules = effective_rules([Rule(False)])
    assert systemd.device_properties(rules, 252) == [
        ("DeviceAllow", ("a(ss)", [])),
        ("DevicePolicy", ("s", "strict")),
        # runc's order: (major, minor, type), wildcards first
        ("DeviceAllow", ("a(ss)", [
            ("block-*", "m"), ("char-*", "m"),
            ("/dev/char/1:3", "rwm"), ("/dev/char/1:5", "rwm"), ("/dev/char/1:7", "rwm"),
            ("/dev/char/1:8", "rwm"), ("/dev/char/1:9", "rwm"), ("/dev/char/5:0", "rwm"),
            ("/dev/char/5:2", "rwm"), ("/dev/char/10:200", "rwm"), ("char-136", "rwm")])),
    ]
    assert len(DEFAULT_ALLOWED) == 11


def test_devices_allow_all_and_deny_lists():
    allow_all = [("DeviceAllow", ("a(ss)", [])), ("DevicePolicy", ("s", "auto"))]
    assert systemd.device_properties([Rule(True)], 252) == allow_all
    assert systemd.device_properties([Rule(False), Rule(True, "a", 1, 3)], 252) == allow_all
    # a deny list systemd cannot express: deny everything, eBPF does the rest
    assert systemd.device_properties([Rule(True), Rule(False, "c", 1, 3)], 252) == [
        ("DeviceAllow", ("a(ss)", [])), ("DevicePolicy", ("s", "strict"))]


def test_devices_merging_and_removal():
    rules = [Rule(False), Rule(True, "c", 1, 3, "r"), Rule(True, "c", 1, 3, "mw"),
             Rule(True, "b", 8, 0, "rw"), Rule(False, "b", 8, 0, "w"),
             Rule(True, "c", 4, 1, "r"), Rule(False, "c", 4, 1, "r"),
             Rule(True, "c", None, 5, "r")]  # *:5 has no systemd form
    assert systemd.device_properties(rules, 252)[2] == (
        "DeviceAllow", ("a(ss)", [("/dev/char/1:3", "rwm"), ("/dev/block/8:0", "r")]))


def test_devices_hole_in_a_wildcard_is_refused():
    rules = [Rule(False), Rule(True, "c", None, None, "rwm"), Rule(False, "c", 1, 3, "r")]
    with pytest.raises(ConfigError, match=r"linux.resources.devices\[2\]: cannot remove access "
                                          r"from c 1:3 inside the wider rule c \*:\*"):
        systemd.device_properties(rules, 252)


def test_devices_old_systemd():
    proc_devices = "Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n\nBlock devices:\n" \
                   "  8 sd\n"
    rules = [Rule(False), Rule(True, "c", 136, None, "rwm"), Rule(True, "b", 8, None, "r"),
             Rule(True, "c", 99, None, "r"), Rule(True, "c", 1, 3), Rule(True, "c", 10, 200)]
    props = systemd.device_properties(rules, 239, proc_devices,
                                      exists=lambda p: p == "/dev/char/1:3")
    assert props[2] == ("DeviceAllow", ("a(ss)", [
        ("/dev/char/1:3", "rwm"), ("block-sd", "r"), ("char-pts", "rwm")]))
