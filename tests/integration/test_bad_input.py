"""Bad input: a clear error naming the field or argument, exit status 1, and
nothing left behind (runtime.md#runtimeErrors: as if never attempted)."""
from __future__ import annotations

import os

import pytest

from helpers import assert_nothing_left


def _create_fails(runtime, bundle, cid, *needles):
    res = runtime.create(bundle, cid)
    assert res.returncode == 1, res.stderr
    if runtime.name == "pyrunc":
        text = res.stderr.replace('\\"', '"')  # logfmt escapes quotes in msg
        for needle in needles:
            assert needle in text, res.stderr
    assert_nothing_left(runtime, cid)
    return res


def test_malformed_json(runtime, bundle, cid):
    bundle.write()
    with open(os.path.join(bundle.path, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.0", "process": ')
    res = runtime.run("create", "--bundle", bundle.path, cid)
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "config.json: invalid JSON" in res.stderr and "line 1" in res.stderr
    assert_nothing_left(runtime, cid)


def test_missing_config(runtime, tmp_path, cid):
    res = runtime.run("create", "--bundle", str(tmp_path), cid)
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "config.json" in res.stderr and "not found" in res.stderr
    assert_nothing_left(runtime, cid)


@pytest.mark.parametrize("field,value,needle", [
    ("process.user.uid", -1, "process.user.uid:"),
    ("process.args", "sh", "process.args:"),
    ("process.rlimits", [{"type": "RLIMIT_NOFILE", "soft": 1}], "process.rlimits[0]:"),
    ("linux.namespaces", [{"type": "bogus"}], "linux.namespaces[0].type:"),
    ("hostname", 42, "hostname:"),
    ("mounts", [{"destination": 1}], "mounts[0].destination:"),
])
def test_schema_violation_names_the_field_configExtensibility(runtime, bundle, cid, field,
                                                             value, needle):
    bundle.set(field, value)
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and res.returncode == 0:
        pytest.skip(f"runc 1.1 does not validate {field}")
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert needle in res.stderr, res.stderr
    runtime.run("delete", "--force", cid)
    assert_nothing_left(runtime, cid)


def test_unknown_properties_are_ignored_configExtensibility(runtime, bundle, cid):
    bundle.config["x-unknown"] = {"a": 1}
    bundle.config["process"]["x-unknown"] = True
    bundle.config["linux"]["x-unknown"] = []
    runtime.create(bundle, cid, check=True)
    assert runtime.state(cid)["status"] == "created"


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "1.0.0-"])
def test_oci_version_not_semver_configSpecificationVersion(runtime, bundle, cid, version):
    """ociVersion MUST be in SemVer v2.0.0 format: anything else is refused."""
    bundle.set("ociVersion", version)
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and res.returncode == 0:
        runtime.run("delete", "--force", cid)
        pytest.skip("runc 1.1 does not check ociVersion (the spec says MUST be SemVer)")
    _create_fails(runtime, bundle, cid, "ociVersion:", "SemVer")


def test_pid_file_in_a_missing_directory(runtime, bundle, cid, tmp_path):
    """--pid-file that cannot be written: exit 1 naming the flag, and the
    container created for nothing is gone again."""
    res = runtime.create(bundle, cid, "--pid-file", str(tmp_path / "no" / "such" / "pid"))
    assert res.returncode == 1, res.stderr
    if runtime.name == "pyrunc":
        assert "--pid-file" in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)


def test_missing_rootfs_configRoot(runtime, bundle, cid, tmp_path):
    bundle.config["root"]["path"] = str(tmp_path / "nonexistent")
    _create_fails(runtime, bundle, cid, "root.path")


@pytest.mark.parametrize("bad", ["../x", "a/b", "/", ".", "..", "x y", "é"])
def test_invalid_ids_runtimeCreate(runtime, bundle, bad):
    res = runtime.create(bundle, bad)
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "invalid container ID" in res.stderr
    assert runtime.container_ids() == []


def test_empty_id(runtime, bundle):
    res = runtime.create(bundle, "")
    assert res.returncode == 1
    assert runtime.container_ids() == []


def test_missing_executable_fails_create(runtime, bundle, cid):
    """Callers map this text to exit 127 (Docker, Podman): it must come from create."""
    bundle.config["process"]["args"] = ["nonexistent-binary"]
    _create_fails(runtime, bundle, cid, 'exec: "nonexistent-binary": executable file not '
                  'found in $PATH')


def test_missing_absolute_executable(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["/no/such/file"]
    _create_fails(runtime, bundle, cid, "no such file or directory")


def test_cwd_must_be_absolute_configProcess(runtime, bundle, cid):
    bundle.config["process"]["cwd"] = "relative/dir"
    _create_fails(runtime, bundle, cid, "process.cwd")


def test_duplicate_namespace_configLinuxNamespaces(runtime, bundle, cid):
    bundle.config["linux"]["namespaces"].append({"type": "pid"})
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and res.returncode == 0:
        pytest.skip("runc 1.1 accepts duplicate namespaces (the spec says MUST error)")
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "linux.namespaces[6].type: duplicate" in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)


def test_namespace_path_of_wrong_type_configLinuxNamespaces(runtime, bundle, cid):
    bundle.config["linux"]["namespaces"] = [
        n if n["type"] != "network" else {"type": "network", "path": "/proc/self/ns/uts"}
        for n in bundle.config["linux"]["namespaces"]]
    _create_fails(runtime, bundle, cid, "is not a network namespace")


def test_namespace_path_missing(runtime, bundle, cid):
    bundle.config["linux"]["namespaces"] = [
        n if n["type"] != "network" else {"type": "network", "path": "/nonexistent/ns"}
        for n in bundle.config["linux"]["namespaces"]]
    _create_fails(runtime, bundle, cid, "/nonexistent/ns")


def test_hostname_without_uts_namespace(runtime, bundle, cid):
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != "uts"]
    _create_fails(runtime, bundle, cid, "hostname")


def test_bind_source_missing(runtime, bundle, cid):
    bundle.config["mounts"].append({"destination": "/data", "source": "/nonexistent/dir",
                                    "options": ["rbind"]})
    _create_fails(runtime, bundle, cid, "mounts[7].source", "/nonexistent/dir")


def test_duplicate_rlimit_configPOSIXProcess(runtime, bundle, cid):
    bundle.config["process"]["rlimits"].append({"type": "RLIMIT_NOFILE", "soft": 10,
                                                "hard": 10})
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and res.returncode == 0:
        pytest.skip("runc 1.1 accepts duplicate rlimits (the spec says MUST error)")
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "process.rlimits[1].type: duplicate" in res.stderr
    assert_nothing_left(runtime, cid)


def test_unknown_signal(runtime, bundle, cid):
    runtime.create(bundle, cid, check=True)
    res = runtime.run("kill", cid, "SIGFOO")
    assert res.returncode == 1
    if runtime.name == "pyrunc":
        assert "unknown signal 'SIGFOO'" in res.stderr
    assert runtime.state(cid)["status"] == "created"


def test_unknown_command_and_flag(runtime):
    res = runtime.run("frobnicate")
    assert res.returncode != 0
    res = runtime.run("state", "--bogus", "x")
    assert res.returncode == 1
    assert "flag provided but not defined: -bogus" in res.stderr


def test_missing_argument(runtime):
    res = runtime.run("start")
    assert res.returncode == 1
    assert "start\\\" requires exactly 1 argument(s)" in res.stderr


def test_failed_start_hook_stage_leaves_nothing(pyrunc, bundle, cid):
    """An error after the init exists (here: a failing createRuntime hook) kills
    it and removes cgroup and state."""
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    res = pyrunc.create(bundle, cid)
    assert res.returncode == 1
    assert ("hooks.createRuntime[0]: error running createRuntime hook #0: /bin/false: exit "
            "status 1") in res.stderr
    assert_nothing_left(pyrunc, cid)


@pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="this host runs systemd")
def test_systemd_cgroup_without_systemd(bundle, cid, tmp_path):
    """--systemd-cgroup on a host without systemd: a clear error, nothing left
    (pyrunc only: runc 1.1.5 reports a D-Bus connection error instead)."""
    from helpers import Runtime, pyrunc_argv

    runtime = Runtime("pyrunc", pyrunc_argv(), str(tmp_path / "root"))
    bundle.config["linux"]["cgroupsPath"] = f"system.slice:pyrunc-test:{cid}"
    res = runtime.run("--systemd-cgroup", "create", "--bundle", bundle.write().path, cid)
    assert res.returncode == 1
    assert "--systemd-cgroup: systemd is not running on this host" in res.stderr
    assert "system bus (unix:path=/run/dbus/system_bus_socket)" in res.stderr
    assert_nothing_left(runtime, cid)


def test_root_unreachable_from_the_user_namespace_configRoot(runtime, bundle, cid, tmp_path):
    """config.md#configRoot: a rootfs behind a 0700 host directory that the
    container's root (an unprivileged host uid in its user namespace) cannot
    walk: create fails naming root.path, and leaves nothing."""
    from helpers import build_rootfs

    hidden = tmp_path / "hidden"
    hidden.mkdir(mode=0o700)
    bundle.config["root"]["path"] = build_rootfs(str(hidden / "rootfs"))
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    for key in ("uidMappings", "gidMappings"):
        bundle.config["linux"][key] = [{"containerID": 0, "hostID": 33554433, "size": 65536}]
    _create_fails(runtime, bundle, cid, "root.path: ", "Permission denied")
