"""Mutated configs that the loader accepts, run as real containers: "the
image and the config may be written by an attacker".

A bounded, deterministic sample of the documents of
tests/unit/test_config_fuzz.py (the same mutations, on bases that create
cleanly on this host) that load_like_create() accepts goes through
`pyrunc create` and `pyrunc delete --force`. Each must be created (then
deleted), or fail with exit status 1 and one error line naming a field, no
traceback; within 20 s (a hang is a failure); and leave nothing behind: no
state directory, cgroup, process or mount.
"""
from __future__ import annotations

import copy
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "unit"))

from helpers import assert_nothing_left, base_config, build_rootfs, mounts_under
from test_config_fuzz import (_EXPLORE, RUNC_WORDED, PyruncError, as_read,
                              load_like_create, mutated, named_field, time_limit,
                              write_config)

TIMEOUT = 20



def bases(rootfs: str) -> list[dict]:
    """Configs that create cleanly here, each exercising a part of config.md
    or config-linux.md; mutations go anywhere in them."""
    default = base_config(rootfs, ["true"])

    process = base_config(rootfs, ["true"])
    process["process"].update({
        "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 1000]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
                    {"type": "RLIMIT_CORE", "soft": 0, "hard": 2**64 - 1}],
        "capabilities": {k: ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"] for k in
                         ("bounding", "effective", "inheritable", "permitted", "ambient")},
        "scheduler": {"policy": "SCHED_BATCH", "nice": 5},
        "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
        "oomScoreAdj": 100,
        "execCPUAffinity": {"initial": "0", "final": "0-1"},
        "consoleSize": {"height": 25, "width": 80},
        "env": ["PATH=/bin", "HOME=/root", "A=b"],
        "cwd": "/tmp",
    })

    userns = base_config(rootfs, ["true"])
    linux = userns["linux"]
    linux["namespaces"] += [{"type": "user"}, {"type": "time"}]
    linux["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
    linux["timeOffsets"] = {"monotonic": {"secs": 3600, "nanosecs": 0},
                            "boottime": {"secs": -60, "nanosecs": 5}}
    userns["mounts"] = [m for m in userns["mounts"] if m["type"] != "cgroup"]
    userns["domainname"] = "example.test"

    resources = base_config(rootfs, ["true"])
    resources["linux"]["resources"] = {
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"},
                    {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"}],
        "memory": {"limit": 256 << 20, "reservation": 128 << 20, "swap": 512 << 20,
                   "disableOOMKiller": False},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 100},
    }
    if not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # v1 or hybrid
        resources["linux"]["resources"]["memory"]["swappiness"] = 10
    disk = _a_block_device()
    if disk is not None:
        resources["linux"]["resources"]["blockIO"] = {
            "throttleReadBpsDevice": [{"major": disk[0], "minor": disk[1], "rate": 1 << 20}]}

    linuxmisc = base_config(rootfs, ["true"])
    linux = linuxmisc["linux"]
    linux["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                         "fileMode": 0o666, "uid": 0, "gid": 0},
                        {"path": "/dev/loop-fuzz", "type": "b", "major": 7, "minor": 0}]
    linux["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1024"}
    linux["personality"] = {"domain": "LINUX"}
    linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}
    linux["rootfsPropagation"] = "private"
    linux["maskedPaths"] = ["/proc/kcore", "/proc/keys"]
    linux["readonlyPaths"] = ["/proc/sys", "/proc/bus"]
    linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["getcwd", "mknod"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1},
                     {"names": ["kexec_load"], "action": "SCMP_ACT_KILL"},
                     {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}
    linuxmisc["hooks"] = {kind: [{"path": "/bin/true", "args": ["true", "x"],
                                  "env": ["A=1"], "timeout": 5}]
                          for kind in ("createRuntime", "poststop")}
    linuxmisc["annotations"] = {"org.example.key": "value"}
    return [default, process, userns, resources, linuxmisc]


def _a_block_device() -> tuple[int, int] | None:
    """A whole disk of this host (throttling takes no other device)."""
    with open("/proc/partitions") as f:
        for line in f.readlines()[2:]:
            major, minor, _blocks, name = line.split()
            if not name.startswith(("loop", "ram")) and not name[-1].isdigit():
                return int(major), int(minor)
    return None


def host_safe(doc: object, template_rootfs: str) -> bool:
    """Mutants this test does not run, because what they ask for is done to
    the host itself, as runc would do it; the unit module loads them all.
    - a namespace path: /proc/self/ns/mnt joins the host's mount namespace,
      and the container's mounts and pivot_root would then be the host's;
    - root.path: "/" would make the host's root the rootfs (each container
      gets a fresh copy of the busybox rootfs instead);
    - linux.cgroupsPath: a cgroup shared with the host ("/") has host
      processes in it, and `delete --force` of a container without a PID
      namespace kills every process in its cgroup (see the report);
    - shared propagation: the container's mounts would appear on the host."""
    if not isinstance(doc, dict):
        return True
    root = doc.get("root")
    if isinstance(root, dict) and root.get("path") not in (None, template_rootfs):
        return False
    linux = doc.get("linux")
    if not isinstance(linux, dict):
        return True
    if "cgroupsPath" in linux:
        return False
    if linux.get("rootfsPropagation") in ("shared", "rshared"):
        return False
    namespaces = linux.get("namespaces")
    if isinstance(namespaces, list):
        for ns in namespaces:
            if isinstance(ns, dict) and "path" in ns:
                return False
    return True


def _message(line: str) -> str:
    """The msg of a logrus text line, without create's prefixes."""
    msg = json.loads(line.split(" msg=", 1)[1])
    for prefix in ("pyrunc create failed: ", "unable to start container process: "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


_counter = itertools.count()


class Bases(tuple):
    """(rootfs, bases); short in hypothesis' reports."""

    def __repr__(self) -> str:
        return f"Bases({self[0]})"


@pytest.fixture(scope="module")
def fuzz_bases(tmp_path_factory):
    rootfs = build_rootfs(str(tmp_path_factory.mktemp("fuzz-rootfs") / "rootfs"))
    os.chmod(os.path.dirname(rootfs), 0o755)
    return Bases((rootfs, bases(rootfs)))


def _run_one(pyrunc, tmp_path, cid: str, rootfs: str, doc: dict) -> str:
    """Create and delete one container from doc, on a fresh copy of the
    rootfs (what a container makes in it must not reach the next one); the
    outcome, for the report."""
    name = f"{cid}-{next(_counter)}"
    bdir = tmp_path / name
    own = str(bdir / "rootfs")
    shutil.copytree(rootfs, own, symlinks=True)
    doc = copy.deepcopy(doc)
    if isinstance(doc.get("root"), dict) and doc["root"].get("path") == rootfs:
        doc["root"]["path"] = own
    write_config(str(bdir), doc)
    try:
        try:
            res = pyrunc.run("create", "--bundle", str(bdir), name, timeout=TIMEOUT)
            outcome = _outcome(res, as_read(doc))
        finally:
            gone = pyrunc.run("delete", "--force", name, timeout=TIMEOUT)
            # Warnings only (a failing poststop hook, config.md#configHooks).
            assert gone.returncode == 0, gone.stderr
            assert all(" level=warning " in line
                       for line in gone.stderr.split("\n") if line), gone.stderr
        assert_nothing_left(pyrunc, name)
        assert mounts_under(own) == [], "mounts left in the rootfs"
    finally:
        # Not shutil.rmtree: a process.cwd 2000 directories deep is made in
        # the rootfs, and rmtree recurses once per level.
        subprocess.run(["rm", "-rf", "--one-file-system", str(bdir)], check=True)
    return outcome


def _outcome(res, doc: object) -> str:
    """Created, or refused with one error line naming a field."""
    assert "Traceback" not in res.stderr, res.stderr
    # Not splitlines(): a message may hold U+0085 or U+2028 from the config.
    lines = [line for line in res.stderr.split("\n") if line]
    assert all(line.startswith('time="') for line in lines), res.stderr
    if res.returncode == 0:
        return "created"
    assert res.returncode == 1, (res.returncode, res.stderr)
    errors = [line for line in lines if " level=error " in line]
    assert len(errors) == 1, res.stderr
    msg = _message(errors[0])
    assert msg.startswith(RUNC_WORDED) or named_field(msg, doc), \
        f"names no field: {msg}"
    return f"refused: {msg}"


@pytest.mark.parametrize("index", range(5))
def test_bases_create(pyrunc, tmp_path, cid, fuzz_bases, index):
    """The unmutated bases create and delete cleanly (so that the fuzzing
    below starts from working containers)."""
    rootfs, docs = fuzz_bases
    assert _run_one(pyrunc, tmp_path, cid, rootfs, docs[index]) == "created"



@settings(max_examples=_EXPLORE or 1000, derandomize=not _EXPLORE, deadline=None,
          database=None, print_blob=False, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_accepted_mutants_run_or_fail_cleanly(pyrunc, tmp_path, cid, fuzz_bases, data):
    """About half the mutants pass the loader; of those, most create."""
    rootfs, docs = fuzz_bases
    i, doc, done = data.draw(mutated(docs), label="mutant")
    note(f"base {i}: {done}")
    if not host_safe(doc, rootfs):
        event("not run: done to the host")
        return
    bdir = tmp_path / "loader"
    bdir.mkdir(exist_ok=True)
    write_config(str(bdir), doc)
    try:
        with time_limit(10):
            load_like_create(str(bdir))
    except PyruncError:
        event("not run: refused by the loader")
        return  # before anything is made: the unit module's business
    outcome = _run_one(pyrunc, tmp_path, cid, rootfs, doc)
    event(outcome.split(":")[0])
    note(outcome)
