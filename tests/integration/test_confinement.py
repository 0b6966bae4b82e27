"""config.md#configLinuxProcess and the rest of config-linux.md outside
cgroups and seccomp, looked at from inside the container, against pyrunc and
runc."""
from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from helpers import assert_nothing_left

CAP = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10,
       "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21, "CAP_AUDIT_WRITE": 29}


def _mask(*names: str) -> int:
    out = 0
    for n in names:
        out |= 1 << CAP[n]
    return out


def _status(runtime, bundle, cid) -> dict[str, str]:
    bundle.config["process"]["args"] = ["cat", "/proc/self/status"]
    res = runtime.run_container(bundle, cid)
    assert res.returncode == 0, res.stderr
    return dict(line.split(":\t", 1) for line in res.stdout.splitlines() if ":\t" in line)


def test_capability_sets_configLinuxProcess(runtime, bundle, cid):
    caps = bundle.config["process"]["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    }
    st = _status(runtime, bundle, cid)
    # execve recomputes the sets (capabilities(7)); for root with no_new_privs
    # (the default config) nothing beyond the permitted set can be gained, and
    # root's effective set becomes its permitted set.
    assert int(st["CapBnd"], 16) == _mask(*caps["bounding"])
    assert int(st["CapInh"], 16) == _mask(*caps["inheritable"])
    assert int(st["CapAmb"], 16) == _mask(*caps["ambient"])
    assert int(st["CapPrm"], 16) == _mask(*caps["permitted"])
    assert int(st["CapEff"], 16) == _mask(*caps["permitted"])


def test_capabilities_for_non_root_user_configLinuxProcess(runtime, bundle, cid):
    """Kept across the switch to uid 1000 (keep-caps), raised as ambient."""
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    caps = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
    bundle.config["process"]["capabilities"] = {k: list(caps) for k in
                                                ("bounding", "permitted", "effective",
                                                 "inheritable", "ambient")}
    st = _status(runtime, bundle, cid)
    assert st["Uid"].split()[0] == "1000"
    assert int(st["CapEff"], 16) == _mask(*caps)
    assert int(st["CapAmb"], 16) == _mask(*caps)


def test_no_capabilities_for_root(runtime, bundle, cid):
    bundle.config["process"]["capabilities"] = {k: [] for k in
                                                ("bounding", "permitted", "effective")}
    st = _status(runtime, bundle, cid)
    assert int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0


def test_no_new_privileges_configLinuxProcess(runtime, bundle, cid):
    bundle.config["process"]["noNewPrivileges"] = False
    assert _status(runtime, bundle, cid)["NoNewPrivs"] == "0"
    bundle.config["process"]["noNewPrivileges"] = True
    assert _status(runtime, bundle, cid + "2")["NoNewPrivs"] == "1"


def test_unknown_capability_is_a_warning_configLinuxProcess(runtime, bundle, cid):
    """config.md: "Any value which cannot be mapped to a relevant kernel
    interface ... MUST be logged as a warning"; the container is created."""
    bundle.config["process"]["capabilities"]["bounding"].append("CAP_FROBNICATE")
    res = runtime.create(bundle, cid)
    assert res.returncode == 0, res.stderr
    assert "level=warning" in res.stderr and "CAP_FROBNICATE" in res.stderr
    if runtime.name == "pyrunc":
        assert "process.capabilities.bounding[3]: unknown capability" in res.stderr


def test_ungrantable_capability_is_a_warning(pyrunc, bundle, cid, tmp_path):
    """config.md: a capability that cannot be granted (here CAP_SYS_RESOURCE,
    which this machine's bounding set lacks) MUST be logged as a warning."""
    with open("/proc/self/status") as f:
        bnd = int(next(x for x in f if x.startswith("CapBnd:")).split()[1], 16)
    if bnd & (1 << 24):
        pytest.skip("this machine can grant CAP_SYS_RESOURCE")
    for key in ("bounding", "permitted", "effective"):
        bundle.config["process"]["capabilities"][key].append("CAP_SYS_RESOURCE")
    log = tmp_path / "log.json"
    bundle.config["process"]["args"] = ["true"]
    bundle.write()
    res = pyrunc.run("--log", str(log), "--log-format", "json", "run", "--bundle",
                     bundle.path, cid, root=True)
    assert res.returncode == 0, res.stderr
    lines = log.read_text().splitlines()
    assert any('"level":"warning"' in x and "CAP_SYS_RESOURCE" in x for x in lines), lines


def test_rlimits_configPOSIXProcess(runtime, bundle, cid):
    bundle.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        {"type": "RLIMIT_MSGQUEUE", "soft": 1024, "hard": 2048},
        {"type": "RLIMIT_STACK", "soft": 8388608, "hard": 18446744073709551615},
    ]
    bundle.config["process"]["args"] = ["cat", "/proc/self/limits"]
    out = runtime.run_container(bundle, cid, check=True).stdout
    rows = {line[:26].strip(): line[26:].split()[:2] for line in out.splitlines()[1:]}
    assert rows["Max open files"] == ["512", "1000"]
    assert rows["Max core file size"] == ["0", "0"]
    assert rows["Max processes"] == ["300", "400"]
    assert rows["Max msgqueue size"] == ["1024", "2048"]
    assert rows["Max stack size"] == ["8388608", "unlimited"]


def test_rlimit_above_hard_is_an_error(runtime, bundle, cid):
    """Raising a hard limit needs CAP_SYS_RESOURCE, which this machine lacks."""
    with open("/proc/self/limits") as f:
        hard = next(x for x in f if x.startswith("Max open files")).split()[4]
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 10,
                                            "hard": int(hard) * 2}]
    res = runtime.create(bundle, cid)
    if res.returncode == 0:
        pytest.skip("this machine lets root raise hard limits")
    if runtime.name == "pyrunc":
        assert "process.rlimits: setting RLIMIT_NOFILE" in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)


def test_unknown_rlimit_type(runtime, bundle, cid):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]
    res = runtime.create(bundle, cid)
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "process.rlimits[0].type" in res.stderr
    assert_nothing_left(runtime, cid)


def test_oom_score_adj_configLinuxProcess(runtime, bundle, cid):
    bundle.config["process"]["oomScoreAdj"] = 500
    bundle.config["process"]["args"] = ["cat", "/proc/self/oom_score_adj"]
    assert runtime.run_container(bundle, cid, check=True).stdout.strip() == "500"


def test_io_priority_configLinuxProcess(runtime, bundle, cid):
    bundle.config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_IDLE", "priority": 4}
    bundle.config["process"]["args"] = ["sh", "-c", "ionice -p $$"]
    res = runtime.run_container(bundle, cid)
    if runtime.name == "runc" and "ioPriority" not in str(res.stderr) and res.stdout.strip() \
            in ("none: prio 0", "best-effort: prio 4", "none: prio 4"):
        pytest.skip("runc 1.1 ignores process.ioPriority (added in runc 1.2)")
    assert res.stdout.strip() == "idle", res.stdout + res.stderr


@pytest.mark.parametrize("policy,nice,expect", [("SCHED_BATCH", 5, "3"),
                                                ("SCHED_IDLE", 0, "5")])
def test_scheduler_configLinuxProcess(runtime, bundle, cid, policy, nice, expect):
    bundle.config["process"]["scheduler"] = {"policy": policy, "nice": nice}
    bundle.config["process"]["args"] = ["sh", "-c", "grep -E '^policy' /proc/self/sched; "
                                        "cut -d' ' -f19 /proc/self/stat"]
    res = runtime.run_container(bundle, cid)
    if runtime.name == "runc" and res.returncode == 0 and f": {expect}" not in res.stdout:
        pytest.skip("runc 1.1 ignores process.scheduler (added in runc 1.2)")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[-1] == expect
    assert lines[1] == str(nice)


def test_deadline_scheduler_with_a_cpuset_is_a_clear_error_configLinuxProcess(pyrunc, bundle,
                                                                             cid):
    """sched_setattr(2) refuses SCHED_DEADLINE to a process whose affinity
    does not span every CPU: with linux.resources.cpu.cpus set that is said
    plainly (runc's words), not as a bare EPERM."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two CPUs")
    bundle.config["linux"]["resources"]["cpu"] = {"cpus": "0"}
    bundle.config["process"]["scheduler"] = {"policy": "SCHED_DEADLINE", "runtime": 42000,
                                             "deadline": 1000000, "period": 1000000}
    res = pyrunc.create(bundle, cid)
    assert res.returncode == 1
    assert "process scheduler can't be used together with AllowedCPUs" in res.stderr, res.stderr
    assert_nothing_left(pyrunc, cid)


def _run_and_exec(runtime, bundle, cid, args):
    """args' output in the container's init and in a process exec'd into it."""
    bundle.config["process"]["args"] = args
    ran = runtime.run_container(bundle, cid, check=True).stdout
    bundle.config["process"]["args"] = ["sleep", "60"]
    runtime.run_container(bundle, f"{cid}-x", "--detach", check=True)
    try:
        return ran, runtime.run("exec", f"{cid}-x", *args, check=True).stdout
    finally:
        runtime.run("delete", "--force", f"{cid}-x")


def test_personality_configLinuxPersonality(runtime, bundle, cid):
    """The init and exec'd processes (as runc 1.2+) run with it."""
    bundle.config["linux"]["personality"] = {"domain": "LINUX32"}
    ran, execd = _run_and_exec(runtime, bundle, cid, ["uname", "-m"])
    if runtime.name == "runc" and ran.strip() == os.uname().machine:
        pytest.skip("runc 1.1 has no linux.personality (added in runc 1.2)")
    assert ran.strip() in ("i686", "armv8l", "armv7l"), ran
    assert execd == ran


def test_memory_policy_configLinuxMemoryPolicy(runtime, bundle, cid):
    """The init and exec'd processes (as runc 1.3+) run with it."""
    bundle.config["linux"]["memoryPolicy"] = {"mode": "MPOL_INTERLEAVE", "nodes": "0",
                                              "flags": ["MPOL_F_STATIC_NODES"]}
    ran, execd = _run_and_exec(runtime, bundle, cid, ["sh", "-c", "head -1 /proc/self/numa_maps"])
    if runtime.name == "runc" and "interleave" not in ran:
        pytest.skip("runc 1.1 has no linux.memoryPolicy (runtime-spec 1.3)")
    assert "interleave=static:0" in ran or "interleave:0" in ran, ran
    assert ran.split()[1] == execd.split()[1], (ran, execd)


def test_bad_memory_policy(pyrunc, bundle, cid):
    bundle.config["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND"}
    res = pyrunc.create(bundle, cid)
    assert res.returncode == 1 and "linux.memoryPolicy.nodes" in res.stderr
    assert_nothing_left(pyrunc, cid)


@pytest.mark.parametrize("field,value,needle", [
    ("process.apparmorProfile", "docker-default", "AppArmor is not enabled"),
    ("process.selinuxLabel", "system_u:system_r:container_t:s0", "SELinux is not enabled"),
    ("linux.mountLabel", "system_u:object_r:container_file_t:s0", "SELinux is not enabled"),
])
def test_lsm_not_available_is_an_error(pyrunc, bundle, cid, field, value, needle):
    """This machine has neither AppArmor nor SELinux: asking for a label is an
    error, not a container running unconfined. (runc 1.1 silently ignores
    SELinux labels when SELinux is off; the test is pyrunc's.)"""
    bundle.set(field, value)
    res = pyrunc.create(bundle, cid)
    assert res.returncode == 1 and needle in res.stderr and field in res.stderr, res.stderr
    assert_nothing_left(pyrunc, cid)


def test_intel_rdt_without_resctrl_configLinuxIntelRdt(runtime, bundle, cid):
    with open("/proc/self/mountinfo") as f:
        if " - resctrl " in f.read():
            pytest.skip("resctrl is mounted here")
    bundle.config["linux"]["intelRdt"] = {"closID": "guaranteed", "l3CacheSchema": "L3:0=ff"}
    res = runtime.create(bundle, cid)
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "linux.intelRdt: no resctrl filesystem is mounted" in res.stderr
    assert_nothing_left(runtime, cid)


# --- sysctl -----------------------------------------------------------------------------

def test_sysctl_configLinuxSysctl(runtime, bundle, cid):
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "4096",
                                        "net.core.somaxconn": "256"}
    bundle.config["process"]["args"] = ["cat", "/proc/sys/net/ipv4/ip_forward",
                                        "/proc/sys/kernel/msgmax",
                                        "/proc/sys/net/core/somaxconn"]
    out = runtime.run_container(bundle, cid, check=True).stdout.split()
    assert out == ["1", "4096", "256"]
    with open("/proc/sys/kernel/msgmax") as f:
        assert f.read().strip() != "4096" or True  # the host's value is its own


@pytest.mark.parametrize("key,drop", [("kernel.panic", None),
                                      ("net.ipv4.ip_forward", "network"),
                                      ("kernel.shmmax", "ipc"),
                                      ("vm.swappiness", None)])
def test_sysctl_outside_container_namespaces_is_an_error(runtime, bundle, cid, key, drop):
    if drop:
        bundle.config["linux"]["namespaces"] = [n for n in bundle.config["linux"]["namespaces"]
                                                if n["type"] != drop]
        bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                                   if m["type"] not in ("sysfs", "mqueue")]
    bundle.config["linux"]["sysctl"] = {key: "1"}
    res = runtime.create(bundle, cid)
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert f"linux.sysctl.{key}" in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)


# --- netDevices -----------------------------------------------------------------------

@pytest.fixture
def veth():
    """A veth pair on the host; the 'c' end carries an address."""
    suffix = uuid.uuid4().hex[:6]
    host, peer = f"ph{suffix}", f"pc{suffix}"
    subprocess.run(["ip", "link", "add", host, "type", "veth", "peer", "name", peer],
                   check=True)
    subprocess.run(["ip", "addr", "add", "10.199.3.2/24", "dev", peer], check=True)
    subprocess.run(["ip", "-6", "addr", "add", "fd00:199::2/64", "dev", peer, "nodad"],
                   check=True)
    yield host, peer
    subprocess.run(["ip", "link", "del", host], capture_output=True)


def test_net_device_moved_and_renamed_configLinuxNetworkDevices(runtime, bundle, cid, veth):
    _host, peer = veth
    bundle.config["linux"]["netDevices"] = {peer: {"name": "eth7"}}
    bundle.config["process"]["args"] = ["sh", "-c", "ip -o addr show dev eth7; "
                                        "cat /sys/class/net/eth7/flags"]
    res = runtime.run_container(bundle, cid)
    if runtime.name == "runc" and "can't find device 'eth7'" in res.stderr:
        pytest.skip("runc 1.1 has no linux.netDevices (added in runc 1.3)")
    assert res.returncode == 0, res.stderr
    assert "inet 10.199.3.2/24" in res.stdout and "inet6 fd00:199::2/64" in res.stdout
    assert int(res.stdout.split()[-1], 16) & 0x1, "not up"
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert peer not in links  # gone from the host (destroyed with the namespace)


def test_net_device_name_template(pyrunc, bundle, cid, veth):
    _host, peer = veth
    bundle.config["linux"]["netDevices"] = {peer: {"name": "net%d"}}
    bundle.config["process"]["args"] = ["sh", "-c", "ls /sys/class/net"]
    res = pyrunc.run_container(bundle, cid, check=True)
    assert "net0" in res.stdout.split(), res.stdout


def test_missing_net_device_is_an_error(runtime, bundle, cid):
    bundle.config["linux"]["netDevices"] = {"nosuchdev0": {}}
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and res.returncode == 0:
        runtime.run("delete", "--force", cid)
        pytest.skip("runc 1.1 has no linux.netDevices (added in runc 1.3)")
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "linux.netDevices.nosuchdev0: no such network interface" in res.stderr
    assert_nothing_left(runtime, cid)


def test_masked_and_readonly_paths_configLinuxMaskedPaths(runtime, bundle, cid):
    bundle.config["linux"]["maskedPaths"] = ["/proc/kcore", "/proc/keys", "/proc/acpi",
                                             "/no/such/path"]
    bundle.config["linux"]["readonlyPaths"] = ["/proc/sys"]
    bundle.config["process"]["args"] = ["sh", "-c", "wc -c < /proc/keys; ls /proc/acpi | wc -l; "
                                        "echo x > /proc/sys/kernel/hostname; echo w=$?"]
    res = runtime.run_container(bundle, cid, check=True)
    lines = res.stdout.split()
    assert lines[0] == "0" and lines[1] == "0" and lines[2] != "w=0", res.stdout


def test_environment_has_no_runtime_variables(runtime, bundle, cid, monkeypatch):
    monkeypatch.setenv("LEAK_ME", "x")
    bundle.config["process"]["env"] = ["PATH=/bin", "A=1"]
    bundle.config["process"]["args"] = ["/bin/env"]
    out = runtime.run_container(bundle, cid, check=True).stdout.split()
    assert sorted(out) == ["A=1", "HOME=/root", "PATH=/bin"]
