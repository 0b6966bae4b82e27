"""config-linux.md#configLinuxNamespaces: new, inherited and joined namespaces,
user namespace mappings, time offsets, hostname and domainname."""
from __future__ import annotations

import os
import subprocess
import tempfile

import pytest

from helpers import assert_nothing_left

KINDS = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
         "cgroup": "cgroup"}


def _ns_links(runtime, bundle, cid) -> dict[str, str]:
    bundle.config["process"]["args"] = [
        "sh", "-c", "for n in pid net mnt ipc uts cgroup user time; do "
        "echo $n $(readlink /proc/self/ns/$n); done"]
    res = runtime.run_container(bundle, cid, check=True)
    return dict(line.split(" ", 1) for line in res.stdout.splitlines())


def _host(name: str) -> str:
    return os.readlink(f"/proc/self/ns/{name}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_new_namespace_configLinuxNamespaces(runtime, bundle, cid, kind):
    types = {n["type"] for n in bundle.config["linux"]["namespaces"]} | {kind}
    bundle.config["linux"]["namespaces"] = [{"type": t} for t in sorted(types)]
    links = _ns_links(runtime, bundle, cid)
    assert links[KINDS[kind]] != _host(KINDS[kind])


@pytest.mark.parametrize("kind", ["network", "ipc", "uts", "cgroup"])
def test_inherited_namespace_configLinuxNamespaces(runtime, bundle, cid, kind):
    """A type not listed: the container inherits the runtime's namespace."""
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != kind]
    if kind == "uts":
        bundle.config.pop("hostname", None)
    if kind == "network":
        # sysfs of the host network namespace cannot be mounted from a new
        # mount namespace without it; runc bind-mounts nothing for us here.
        bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                                   if m["destination"] != "/sys/fs/cgroup"]
        for m in bundle.config["mounts"]:
            if m["destination"] == "/sys":
                m.update(type="none", source="/sys", options=["rbind", "nosuid", "noexec",
                                                              "nodev", "ro"])
    links = _ns_links(runtime, bundle, cid)
    assert links[KINDS[kind]] == _host(KINDS[kind])


def test_join_namespaces_by_path_configLinuxNamespaces(runtime, bundle, cid, tmp_path):
    """A second container joins the first one's net, ipc and uts namespaces."""
    first = cid + "-a"
    bundle.config["process"]["args"] = ["sleep", "60"]
    runtime.create(bundle, first, check=True)
    pid = runtime.state(first)["pid"]
    bundle.config["linux"]["namespaces"] = [
        {"type": t, "path": f"/proc/{pid}/ns/{KINDS[t]}"} if t in ("network", "ipc", "uts")
        else {"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
    bundle.config.pop("hostname")
    links = _ns_links(runtime, bundle, cid)
    for kind in ("network", "ipc", "uts"):
        assert links[KINDS[kind]] == os.readlink(f"/proc/{pid}/ns/{KINDS[kind]}")
    assert links["pid"] != os.readlink(f"/proc/{pid}/ns/pid")


def test_join_namespace_kept_by_a_bind_mount_configLinuxNamespaces(runtime, bundle, cid,
                                                                     tmp_path):
    """A namespace kept by bind-mounting its nsfs file elsewhere (as `ip netns`
    does) is joined by that path: its type is asked of the namespace itself."""
    first = cid + "-a"
    bundle.config["process"]["args"] = ["sleep", "60"]
    runtime.create(bundle, first, check=True)
    pid = runtime.state(first)["pid"]
    keep = tmp_path / "netns"
    keep.touch()
    subprocess.run(["mount", "--bind", f"/proc/{pid}/ns/net", str(keep)], check=True)
    try:
        bundle.config["linux"]["namespaces"] = [
            {"type": "network", "path": str(keep)} if n["type"] == "network" else n
            for n in bundle.config["linux"]["namespaces"]]
        links = _ns_links(runtime, bundle, cid)
        assert links["net"] == os.readlink(f"/proc/{pid}/ns/net")
        bundle.config["linux"]["namespaces"] = [
            {"type": "ipc", "path": str(keep)} if n["type"] == "ipc" else n
            for n in bundle.config["linux"]["namespaces"]]
        res = runtime.create(bundle, cid + "-b")
        assert res.returncode != 0
    finally:
        subprocess.run(["umount", "-l", str(keep)])


def test_join_pid_namespace_by_path(runtime, bundle, cid):
    """Joining a pid namespace: the process is not PID 1 and sees the other init."""
    first = cid + "-a"
    bundle.config["process"]["args"] = ["sleep", "60"]
    runtime.create(bundle, first, check=True)
    runtime.run("start", first, check=True)
    pid = runtime.state(first)["pid"]
    bundle.config["linux"]["namespaces"] = [
        {"type": "pid", "path": f"/proc/{pid}/ns/pid"}, {"type": "mount"},
        {"type": "uts"}, {"type": "ipc"}, {"type": "network"}]
    bundle.config["process"]["args"] = ["sh", "-c", "echo $$; cat /proc/1/cmdline"]
    out = runtime.run_container(bundle, cid, check=True).stdout.split("\n")
    assert out[0] != "1"
    assert out[1].startswith("sleep")


def test_hostname_and_domainname_configHostname(runtime, bundle, cid):
    bundle.config["hostname"] = "box-one"
    bundle.config["domainname"] = "example.test"
    bundle.config["process"]["args"] = ["sh", "-c",
                                        "hostname; cat /proc/sys/kernel/domainname"]
    out = runtime.run_container(bundle, cid, check=True).stdout.split()
    if runtime.name == "runc" and out[1:] == ["(none)"]:
        pytest.skip("runc 1.1 ignores domainname (added in runc 1.2)")
    assert out == ["box-one", "example.test"]


def test_loopback_up_in_new_network_namespace(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["cat", "/sys/class/net/lo/flags"]
    out = runtime.run_container(bundle, cid, check=True).stdout.strip()
    assert int(out, 16) & 0x1, "lo is not up"


@pytest.mark.v2
def test_cgroup_namespace_root_is_container_cgroup(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["cat", "/proc/self/cgroup"]
    out = runtime.run_container(bundle, cid, check=True).stdout
    for line in out.splitlines():
        assert line.rsplit(":", 1)[1] == "/", line


def _userns(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000,
                                              "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000,
                                              "size": 65536}]


def test_user_namespace_mappings_configLinuxUserNamespaceMappings(runtime, bundle, cid):
    _userns(bundle)
    bundle.config["process"]["args"] = ["sh", "-c", "id -u; cat /proc/self/uid_map "
                                        "/proc/self/gid_map"]
    out = runtime.run_container(bundle, cid, check=True).stdout.split("\n")
    assert out[0] == "0"
    assert out[1].split() == ["0", "100000", "65536"]
    assert out[2].split() == ["0", "100000", "65536"]


def test_user_namespace_host_view(runtime, bundle, cid):
    """Container root is host uid 100000: the init's credentials on the host."""
    _userns(bundle)
    bundle.config["process"]["args"] = ["sleep", "60"]
    runtime.create(bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    runtime.run("start", cid, check=True)
    with open(f"/proc/{pid}/status") as f:
        uid_line = next(line for line in f if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["100000"] * 4


def test_bind_cannot_lift_a_flag_the_host_locked_configMounts(runtime, bundle, cid, tmp_path):
    """In a new user namespace a bind of a read-only host mount stays
    read-only (the kernel locks the flag); asking for `rw` explicitly is an
    error naming the mount's options, and nothing is left behind."""
    # Outside pytest's 0700 directories: the container's root must reach it.
    src = tempfile.mkdtemp(prefix="pyrunc-ro-")
    os.chmod(src, 0o755)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", src], check=True)
    try:
        subprocess.run(["mount", "--bind", "-o", "remount,ro", str(src), str(src)], check=True)
        _userns(bundle)
        bundle.config["mounts"].append({"destination": "/home", "type": "bind",
                                        "source": str(src), "options": ["bind", "rw"]})
        bundle.config["process"]["args"] = ["true"]
        res = runtime.run_container(bundle, cid)
        if runtime.name == "runc" and res.returncode == 0:
            pytest.skip("runc 1.1.5 keeps the locked ro silently (runc 1.2+ refuses)")
        assert res.returncode == 1, res.stderr
        if runtime.name == "pyrunc":
            assert "options: cannot clear a flag" in res.stderr, res.stderr
        assert_nothing_left(runtime, cid)
    finally:
        subprocess.run(["umount", "-l", src])
        os.rmdir(src)


def test_join_a_namespace_owned_by_another_user_namespace_configLinuxNamespaces(
        runtime, bundle, cid, tmp_path):
    """Joining a user namespace and a network namespace that the host's user
    namespace owns: the network one is joined first, while the runtime still
    has the host's capabilities (after setns into the user namespace it has
    none over it)."""
    _userns(bundle)
    bundle.config["process"]["args"] = ["sleep", "60"]
    runtime.create(bundle, f"{cid}-target", check=True)
    netns = tmp_path / "netns"
    netns.touch()
    try:
        pid = runtime.state(f"{cid}-target")["pid"]
        subprocess.run(["unshare", "--net=" + str(netns), "true"], check=True)
        bundle.config["linux"]["namespaces"] = [
            {"type": "user", "path": f"/proc/{pid}/ns/user"} if n["type"] == "user" else
            {"type": "network", "path": str(netns)} if n["type"] == "network" else n
            for n in bundle.config["linux"]["namespaces"]]
        del bundle.config["linux"]["uidMappings"]
        del bundle.config["linux"]["gidMappings"]
        # sysfs needs the network namespace's owner: the host's /sys instead.
        bundle.config["mounts"] = [
            {"destination": m["destination"], "type": "bind", "source": "/sys",
             "options": ["rbind", "ro"]} if m["type"] == "sysfs" else m
            for m in bundle.config["mounts"]]
        bundle.config["process"]["args"] = ["readlink", "/proc/self/ns/net"]
        res = runtime.run_container(bundle, cid)
        if runtime.name == "runc" and "no uid mappings found" in res.stderr:
            pytest.skip("runc 1.1 needs mappings even for a joined user namespace")
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == f"net:[{os.stat(netns).st_ino}]"
    finally:
        runtime.run("delete", "--force", f"{cid}-target")
        subprocess.run(["umount", "-l", str(netns)])


def test_join_another_containers_user_namespace_configLinuxNamespaces(runtime, bundle, cid):
    """A user namespace joined by path (no mappings of its own): the new
    mount, pid... namespaces are made in it, the process is its root, and
    the usual mounts (/dev, /dev/pts) work."""
    _userns(bundle)
    bundle.config["process"]["args"] = ["sleep", "60"]
    runtime.create(bundle, f"{cid}-target", check=True)
    try:
        pid = runtime.state(f"{cid}-target")["pid"]
        bundle.config["linux"]["namespaces"] = [
            {"type": "user", "path": f"/proc/{pid}/ns/user"} if n["type"] == "user" else n
            for n in bundle.config["linux"]["namespaces"]]
        del bundle.config["linux"]["uidMappings"]
        del bundle.config["linux"]["gidMappings"]
        bundle.config["process"]["args"] = ["sh", "-c", "id -u; readlink /proc/self/ns/user; "
                                            "ls /dev/pts/ptmx"]
        res = runtime.run_container(bundle, cid)
        if runtime.name == "runc" and "no uid mappings found" in res.stderr:
            pytest.skip("runc 1.1 needs mappings even for a joined user namespace (runc "
                        "1.2 reads them from it); the spec asks for none")
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        assert lines[0] == "0"
        assert lines[1] == os.readlink(f"/proc/{pid}/ns/user")
    finally:
        runtime.run("delete", "--force", f"{cid}-target")


@pytest.mark.parametrize("userns", [False, True], ids=["", "userns"])
def test_time_namespace_offsets_configLinuxTimeOffset(runtime, bundle, cid, userns):
    """The offsets hold inside; with a user namespace too (the time namespace
    is then owned by it, and the offsets are written from outside)."""
    if userns:
        bundle.config["linux"]["namespaces"].append({"type": "user"})
        for key in ("uidMappings", "gidMappings"):
            bundle.config["linux"][key] = [{"containerID": 0, "hostID": 100000,
                                            "size": 65536}]
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    bundle.config["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 400},
                                             "monotonic": {"secs": 86400 * 300}}
    bundle.config["process"]["args"] = ["cat", "/proc/uptime"]
    res = runtime.run_container(bundle, cid)
    if runtime.name == "runc" and res.returncode != 0:
        pytest.skip("runc 1.1 has no time namespace support")
    assert res.returncode == 0, res.stderr
    with open("/proc/uptime") as f:
        host = float(f.read().split()[0])
    inside = float(res.stdout.split()[0])
    assert inside - host > 86400 * 399


def test_time_offsets_need_time_namespace(pyrunc, bundle, cid):
    bundle.config["linux"]["timeOffsets"] = {"boottime": {"secs": 10}}
    res = pyrunc.create(bundle, cid)
    assert res.returncode == 1
    assert "linux.timeOffsets" in res.stderr
