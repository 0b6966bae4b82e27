"""pyrunc.bundle.check: the rules of config.md and config-linux.md (and of
the kernel interfaces) that the schema cannot express, each refused before
anything is made, with the field's JSON path."""
from __future__ import annotations

import pytest

from pyrunc import bundle
from pyrunc.default_spec import default_spec
from pyrunc.errors import ConfigError


def config(tmp_path, edit) -> dict:
    doc = default_spec()
    doc["process"]["terminal"] = False
    doc["root"]["path"] = str(tmp_path)
    edit(doc)
    return doc


def userns(doc, uid_maps=({"containerID": 0, "hostID": 100000, "size": 65536},),
           gid_maps=({"containerID": 0, "hostID": 100000, "size": 65536},)):
    doc["linux"]["namespaces"].append({"type": "user"})
    doc["linux"]["uidMappings"] = list(uid_maps)
    doc["linux"]["gidMappings"] = list(gid_maps)


def user(**kw):
    def edit(doc):
        userns(doc)
        doc["process"]["user"] = dict({"uid": 0, "gid": 0}, **kw)
    return edit


def load(tmp_path, edit):
    return bundle.from_dict(config(tmp_path, edit), str(tmp_path))


def no_mount_namespace(doc):
    doc["linux"]["namespaces"] = [n for n in doc["linux"]["namespaces"]
                                  if n["type"] != "mount"]
    doc["mounts"] = []


def only(field):
    def edit(doc):
        no_mount_namespace(doc)
        doc["linux"].pop("maskedPaths" if field == "readonlyPaths" else "readonlyPaths")
    return edit


def device(**kw):
    def edit(doc):
        doc["linux"]["devices"] = [dict({"path": "/dev/x", "type": "c", "major": 1,
                                         "minor": 3}, **kw)]
    return edit


def rule(**kw):
    def edit(doc):
        doc["linux"]["resources"]["devices"].append(dict({"allow": True, "type": "c"}, **kw))
    return edit


ACCEPTED = {
    "default": lambda doc: None,
    "userns": userns,
    "userns-user-1000": user(uid=1000, gid=1000, additionalGids=[5, 65535]),
    "device-largest": device(major=4095, minor=2**20 - 1),
    "device-fifo-any-numbers": device(type="p", major=-5, minor=2**40),
    "rule-wildcards": rule(major=-1, minor=-1),
    "rule-largest": rule(major=4095, minor=2**20 - 1),
    "rule-access-mwr": rule(access="mwr"),
    "rule-all-devices-access-empty": rule(type="a", access=""),
    "console-size-largest": lambda doc: doc["process"].update(
        terminal=True, consoleSize={"height": 65535, "width": 65535}),
    "console-size-ignored-without-terminal": lambda doc: doc["process"].update(
        consoleSize={"height": 2**64 - 1, "width": 2**64 - 1}),
    "paths-at-the-kernel-limits": lambda doc: (
        doc["process"].update(cwd="/" + "/".join(["é" * 127] * 16)),  # 4095 bytes
        doc["linux"]["maskedPaths"].append("/" + "x" * 255)),
    "ids-2**31-1": lambda doc: doc["process"].update(
        user={"uid": 2**31 - 1, "gid": 2**31 - 1, "additionalGids": [2**31 - 1]}),
    "hostname-64-bytes": lambda doc: doc.update(hostname="é" * 32, domainname="d" * 64),
    "no-mount-namespace": lambda doc: (no_mount_namespace(doc),
                                       doc["linux"].pop("maskedPaths"),
                                       doc["linux"].pop("readonlyPaths")),
}

REFUSED = {
    # setresuid/setresgid/setgroups in the init used to fail with EINVAL.
    "uid-unmapped": (user(uid=65536), "process.user.uid"),
    "gid-unmapped": (lambda doc: userns(doc, gid_maps=[{"containerID": 1, "hostID": 0,
                                                        "size": 100}]),
                     "process.user.gid"),
    "additional-gid-unmapped": (user(additionalGids=[5, 70000]),
                                "process.user.additionalGids[1]"),
    # runc refuses these too; the masks would be mounts in the host's namespace.
    "masked-paths-without-mount-namespace": (only("maskedPaths"), "linux.maskedPaths"),
    "readonly-paths-without-mount-namespace": (only("readonlyPaths"),
                                               "linux.readonlyPaths"),
    # struct.pack("HHHH") in the init used to fail with a struct.error.
    "console-height-65536": (lambda doc: doc["process"].update(
        terminal=True, consoleSize={"height": 65536, "width": 80}),
        "process.consoleSize.height"),
    # The init used to fail with ENAMETOOLONG and no field ("openat2 a/a/...:
    # File name too long", "File name too long: /proc/self/fd/5").
    "masked-path-4201-bytes": (lambda doc: doc["linux"]["maskedPaths"].append(
        "/" + "a/" * 2100), "linux.maskedPaths[10]"),
    "mount-destination-component-300": (lambda doc: doc["mounts"].append(
        {"destination": "/" + "x" * 300, "type": "tmpfs", "source": "tmpfs"}),
        "mounts[7].destination"),
    "device-path-component-256": (device(path="/dev/" + "d" * 256), "linux.devices[0].path"),
    "cwd-4096-bytes": (lambda doc: doc["process"].update(cwd="/" + "c" * 200 + "/" * 3895),
                       "process.cwd"),
    "readonly-path-non-ascii": (lambda doc: doc["linux"]["readonlyPaths"].append(
        "/" + "é" * 128), "linux.readonlyPaths[5]"),
    # uid 4294967295 is (uid_t)-1: setresuid left the process as root.
    "uid-4294967295": (lambda doc: doc["process"]["user"].update(uid=2**32 - 1),
                       "process.user.uid"),
    "gid-2**31": (lambda doc: doc["process"]["user"].update(gid=2**31), "process.user.gid"),
    # setgroups in the init used to fail with EINVAL and no field.
    "additional-gid-4294967295": (lambda doc: doc["process"]["user"].update(
        additionalGids=[5, 2**32 - 1]), "process.user.additionalGids[1]"),
    # The node used to stay owned by root, silently.
    "device-uid-4294967295": (device(uid=2**32 - 1), "linux.devices[0].uid"),
    "device-gid-4294967295": (device(gid=2**32 - 1), "linux.devices[0].gid"),
    # sethostname in the init used to fail with EINVAL and no field.
    "hostname-65-bytes": (lambda doc: doc.update(hostname="h" * 65), "hostname"),
    "domainname-66-bytes": (lambda doc: doc.update(domainname="é" * 33), "domainname"),
    # mknod in the init used to fail with EINVAL or an OverflowError.
    "device-major-4096": (device(major=4096), "linux.devices[0].major"),
    "device-major-negative": (device(major=-5), "linux.devices[0].major"),
    "device-minor-2**40": (device(minor=2**40), "linux.devices[0].minor"),
    # -2 used to be a wildcard; 2**31 broke the eBPF program's encoding.
    "rule-major--2": (rule(major=-2), "linux.resources.devices[1].major"),
    "rule-minor-2**31": (rule(minor=2**31), "linux.resources.devices[1].minor"),
    # The v1 devices.allow write used to fail as a bare "Invalid argument".
    "rule-access-word": (rule(access="SCMP_CMP_EQ"), "linux.resources.devices[1].access"),
    "rule-access-twice": (rule(access="rr"), "linux.resources.devices[1].access"),
    "rule-access-empty": (rule(major=1, minor=3, access=""),
                          "linux.resources.devices[1].access"),
}


@pytest.mark.parametrize("umask,kept", [(0o22, 0o22), (0o7777, 0o777), (2**32 - 1, 0o777)])
def test_umask_as_the_kernel_keeps_it(tmp_path, umask, kept):
    """umask(2) keeps mask & 0777; 2**32-1 (a uint32) used to fail in the init
    with an OverflowError from os.umask()."""
    spec = load(tmp_path, lambda doc: doc["process"]["user"].update(umask=umask))
    assert spec.process.user.umask == kept


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted(tmp_path, name):
    load(tmp_path, ACCEPTED[name])


@pytest.mark.parametrize("name", REFUSED)
def test_refused(tmp_path, name):
    edit, field = REFUSED[name]
    with pytest.raises(ConfigError) as err:
        load(tmp_path, edit)
    assert str(err.value).startswith(field + ": "), err.value


@pytest.mark.parametrize("version", ["1.0.0", "0.1.0", "1.3.0", "1.0.2-dev", "1.2.0-rc.1",
                                     "1.0.0-alpha.0.x-y", "1.1.0+dev.20240101",
                                     "10.20.30-rc.1+build.007"])
def test_semver_oci_version_is_accepted_configSpecificationVersion(tmp_path, version):
    def edit(doc):
        doc["ociVersion"] = version
    assert load(tmp_path, edit).oci_version == version


@pytest.mark.parametrize("version", ["", "1", "1.0", "1.0.0.0", "v1.0.0", "01.0.0", "1.00.0",
                                     "1.0.0-", "1.0.0-01", "1.0.0-rc..1", "1.0.0+", "1.0.0+a+b",
                                     "1.0.0-rc_1", " 1.0.0", "1.0.0 ", "1.0.x", "１.0.0"])
def test_non_semver_oci_version_is_refused_configSpecificationVersion(tmp_path, version):
    """config.md#configSpecificationVersion: ociVersion MUST be in SemVer
    v2.0.0 format."""
    def edit(doc):
        doc["ociVersion"] = version
    with pytest.raises(ConfigError, match=r"^ociVersion: .*SemVer"):
        load(tmp_path, edit)


@pytest.mark.parametrize("policy, words", [
    ({}, "linux.memoryPolicy: invalid memory policy mode"),
    ({"mode": "INTERLEAVE"}, "linux.memoryPolicy.mode: invalid memory policy mode"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["bad"]},
     "linux.memoryPolicy.flags[0]: invalid memory policy flag"),
    ({"mode": "MPOL_BIND", "nodes": "9876543210"},
     "linux.memoryPolicy.nodes: invalid memory policy node"),
    ({"mode": "MPOL_DEFAULT", "nodes": "0-7"},
     "linux.memoryPolicy.nodes: MPOL_DEFAULT mode requires 0 nodes but got 8"),
])
def test_bad_memory_policy_names_the_field_in_runcs_words_configLinuxMemoryPolicy(
        tmp_path, policy, words):
    """The field first, then runc's words (runc's memorypolicy.bats and
    callers match on them)."""
    def edit(doc):
        doc["linux"]["memoryPolicy"] = policy
    with pytest.raises(ConfigError) as info:
        load(tmp_path, edit)
    assert str(info.value).startswith(words), info.value


def test_exec_flags_over_the_container_process_configProcess():
    """`exec ID CMD...`: runc exec's flags, as one ProcessFlags, on top of
    the container's process; unset flags keep the container's values."""
    base = default_spec()["process"]
    base["env"] = ["PATH=/bin", "A=1"]
    base["capabilities"]["inheritable"] = []
    base["noNewPrivileges"] = False
    flags = bundle.ProcessFlags(["sh", "-c", "true"], env=["A=2", "B=3"], user="1000:1001",
                                additional_gids=["5"], caps=["CAP_SYS_TIME"], tty=True)
    p = bundle.exec_process(base, flags)
    assert p.args == ["sh", "-c", "true"]
    assert p.env == ["PATH=/bin", "A=2", "B=3"]
    assert (p.user.uid, p.user.gid, p.user.additional_gids) == (1000, 1001, [5])
    assert p.cwd == base.get("cwd", "/") and p.terminal and not p.no_new_privileges
    for name in ("bounding", "effective", "permitted", "ambient"):
        assert "CAP_SYS_TIME" in getattr(p.capabilities, name)
    assert "CAP_SYS_TIME" not in p.capabilities.inheritable  # CVE-2022-29162
    p = bundle.exec_process(base, bundle.ProcessFlags(["true"], cwd="/tmp", apparmor="a",
                                                      process_label="l", no_new_privs=True))
    assert (p.cwd, p.apparmor_profile, p.selinux_label, p.no_new_privileges) == (
        "/tmp", "a", "l", True)
    assert p.env == base["env"] and not p.terminal


@pytest.mark.parametrize("flags,message", [
    (dict(user="root"), "--user: 'root' is not uid[:gid]"),
    (dict(additional_gids=["wheel"]), "--additional-gids: 'wheel' is not a number")])
def test_exec_flags_refused(flags, message):
    with pytest.raises(ConfigError, match=message.replace("[", "\\[")):
        bundle.exec_process(default_spec()["process"], bundle.ProcessFlags(["true"], **flags))
