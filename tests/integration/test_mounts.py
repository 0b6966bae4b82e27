"""Mounts and devices, against pyrunc and runc: config.md#configMounts,
config.md#configLinuxMountOptions, config.md#configRoot,
config-linux.md#configLinuxDevices, #configLinuxDefaultDevices,
#configLinuxRootfsMountPropagation, #configLinuxMaskedPaths,
#configLinuxReadonlyPaths and runtime-linux.md#runtimeLinuxDevSymbolicLinks.

What the container sees is read from inside (its /proc/self/mountinfo, stat,
writes that must fail); what must not leak is checked on the host. Tests that
make directories or files inside the rootfs use a private copy of it
(`private_rootfs`), never the session rootfs other tests share.
"""
from __future__ import annotations

import os
import stat
import subprocess
import uuid

import pytest

from helpers import Runtime, assert_nothing_left, mounts_under

# ---------------------------------------------------------------------------
# helpers and fixtures
# ---------------------------------------------------------------------------


@pytest.fixture
def private_rootfs(bundle, rootfs, tmp_path):
    """A copy of the session rootfs for this test only; the bundle points at it."""
    dest = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", rootfs, str(dest)], check=True)
    bundle.config["root"]["path"] = str(dest)
    return dest


@pytest.fixture
def host_mount():
    """mount(8) on the host; everything mounted is lazily unmounted afterwards."""
    made: list[str] = []

    def mount(*args: str, target) -> None:
        subprocess.run(["mount", *args, str(target)], check=True)
        made.append(str(target))

    yield mount
    for target in reversed(made):
        subprocess.run(["umount", "-l", target], capture_output=True)


@pytest.fixture
def shared_dir(tmp_path, host_mount):
    """A host directory that is a shared mount (its own peer group), with an
    empty subdirectory `sub` to mount on later. Returns (path, peer group)."""
    d = tmp_path / "shared"
    (d / "sub").mkdir(parents=True)
    (d / "file").write_text("from host\n")
    host_mount("--bind", str(d), target=d)
    subprocess.run(["mount", "--make-shared", str(d)], check=True)
    info = _mountinfo(_read("/proc/self/mountinfo"))[str(d)]
    groups = [o.split(":", 1)[1] for o in info["optional"] if o.startswith("shared:")]
    assert groups, info
    return d, groups[0]


@pytest.fixture
def src_with_submount(tmp_path, host_mount):
    """A host directory with a tmpfs mounted on its subdirectory `sub`."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "top.txt").write_text("top\n")
    host_mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", target=src / "sub")
    (src / "sub" / "inner.txt").write_text("inner\n")
    return src


def _read(path) -> str:
    with open(path) as f:
        return f.read()


def _mountinfo(text: str) -> dict[str, dict]:
    """mount point -> fields of its (last, i.e. topmost) mountinfo line."""
    out: dict[str, dict] = {}
    for line in text.splitlines():
        f = line.split()
        if "-" not in f or len(f) < 10:
            continue
        sep = f.index("-")
        out[f[4]] = {"root": f[3], "opts": set(f[5].split(",")), "optional": f[6:sep],
                     "fstype": f[sep + 1], "source": f[sep + 2],
                     "super": set(f[sep + 3].split(",")) if len(f) > sep + 3 else set()}
    return out


MI_BEGIN, MI_END = "==mountinfo==", "==end=="
SHOW_MOUNTINFO = f"echo {MI_BEGIN}; cat /proc/self/mountinfo; echo {MI_END}"


def _split(out: str) -> tuple[str, dict[str, dict]]:
    """(output without the mountinfo dump, parsed mountinfo) of a script that
    ran SHOW_MOUNTINFO."""
    head, _, rest = out.partition(MI_BEGIN + "\n")
    info, _, tail = rest.partition(MI_END + "\n")
    assert info, f"no mountinfo in output: {out!r}"
    return head + tail, _mountinfo(info)


STAT_FMT = "%n|%F|%t|%T|%a|%u|%g"


def _stats(out: str) -> dict[str, tuple]:
    """stat -c STAT_FMT lines -> path: (kind, major, minor, mode, uid, gid)."""
    res = {}
    for line in out.splitlines():
        if line.count("|") != 6:
            continue
        name, kind, major, minor, mode, uid, gid = line.split("|")
        res[name] = (kind, int(major, 16), int(minor, 16), int(mode, 8), int(uid), int(gid))
    return res


def _sh(runtime, bundle, cid, script: str, check: bool = True):
    bundle.config["process"]["args"] = ["sh", "-c", script]
    return runtime.run_container(bundle, cid, check=check)


def _bind(dest: str, source, *options: str) -> dict:
    return {"destination": dest, "type": "bind", "source": str(source),
            "options": list(options)}


def _drop_mount(bundle, dest: str) -> None:
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] != dest]


def _fails_with_erofs(out: str, tag: str) -> None:
    """The script printed `tag=<status>` after a write that must fail read-only."""
    assert f"{tag}=0" not in out, out
    assert f"{tag}=" in out, out
    assert "Read-only file system" in out, out


# ---------------------------------------------------------------------------
# bind mounts
# ---------------------------------------------------------------------------


def test_bind_rw_configMounts(runtime, bundle, cid, private_rootfs, tmp_path):
    """A rw bind mount: the host's files are visible, the container's writes reach the host."""
    src = tmp_path / "data"
    src.mkdir()
    (src / "hostfile").write_text("from host\n")
    bundle.config["mounts"].append(_bind("/data", src, "rbind", "rw"))
    res = _sh(runtime, bundle, cid, "cat /data/hostfile; echo from container > /data/new")
    assert res.stdout == "from host\n"
    assert (src / "new").read_text() == "from container\n"


def test_bind_ro_configLinuxMountOptions(runtime, bundle, cid, private_rootfs, tmp_path):
    """`ro` on a bind mount: readable, writes fail with EROFS, the host is untouched."""
    src = tmp_path / "data"
    src.mkdir()
    (src / "hostfile").write_text("from host\n")
    bundle.config["mounts"].append(_bind("/data", src, "rbind", "ro"))
    res = _sh(runtime, bundle, cid, "cat /data/hostfile; (echo x > /data/new) 2>&1; "
              f"echo w=$?; {SHOW_MOUNTINFO}")
    out, mi = _split(res.stdout)
    assert "from host" in out
    _fails_with_erofs(out, "w")
    assert "ro" in mi["/data"]["opts"]
    assert os.listdir(src) == ["hostfile"]


def test_bind_single_file_configMounts(runtime, bundle, cid, private_rootfs, tmp_path):
    """A bind mount of a file: a new file as target, and over an existing file."""
    f1 = tmp_path / "one.txt"
    f1.write_text("one\n")
    f2 = tmp_path / "hostname"
    f2.write_text("replaced\n")
    (private_rootfs / "etc" / "hostname").write_text("image\n")
    bundle.config["mounts"] += [_bind("/etc/bound.txt", f1, "bind", "ro"),
                                _bind("/etc/hostname", f2, "bind", "ro")]
    res = _sh(runtime, bundle, cid, "cat /etc/bound.txt /etc/hostname; "
              "[ -f /etc/bound.txt ] && echo regular; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    assert out == "one\nreplaced\nregular\n"
    assert "/etc/bound.txt" in mi and "/etc/hostname" in mi
    # The image's file is only covered, not changed.
    assert (private_rootfs / "etc" / "hostname").read_text() == "image\n"


def test_bind_relative_source_configMounts(runtime, bundle, cid, private_rootfs):
    """A relative bind source is relative to the bundle directory."""
    src = os.path.join(bundle.path, "data")
    os.makedirs(src)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("bundle data\n")
    bundle.config["mounts"].append({"destination": "/data", "type": "bind",
                                    "source": "data", "options": ["rbind", "ro"]})
    res = _sh(runtime, bundle, cid, "cat /data/f")
    assert res.stdout == "bundle data\n"


def test_relative_destination_configMounts(runtime, bundle, cid, private_rootfs, tmp_path):
    """A relative destination (deprecated) is relative to "/", not to the cwd."""
    src = tmp_path / "data"
    src.mkdir()
    (src / "f").write_text("rel\n")
    bundle.config["process"]["cwd"] = "/home/user"
    bundle.config["mounts"].append(_bind("reldest/sub", src, "rbind", "ro"))
    res = _sh(runtime, bundle, cid, "cat /reldest/sub/f; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    assert out == "rel\n"
    assert "/reldest/sub" in mi
    assert not (private_rootfs / "home" / "user" / "reldest").exists()


def test_destination_with_dotdot_configMounts(runtime, bundle, cid, private_rootfs, tmp_path):
    """A destination is a path inside the container: "/run/../data" names /data
    (runc cleans it); a ".." can never leave the root."""
    src = tmp_path / "data"
    src.mkdir()
    (src / "f").write_text("dotdot\n")
    bundle.config["mounts"].append(_bind("/run/../data", src, "rbind"))
    res = _sh(runtime, bundle, cid, "cat /data/f; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    assert out == "dotdot\n"
    assert "/data" in mi


@pytest.mark.parametrize("kind", ["bind", "rbind"])
def test_bind_vs_rbind_configLinuxMountOptions(runtime, bundle, cid, private_rootfs,
                                               src_with_submount, kind):
    """rbind takes the submounts of the source along, bind does not."""
    bundle.config["mounts"].append(_bind("/data", src_with_submount, kind))
    res = _sh(runtime, bundle, cid, "cat /data/top.txt; ls -A /data/sub; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    if kind == "rbind":
        assert out == "top\ninner.txt\n"
        assert mi["/data/sub"]["fstype"] == "tmpfs"
    else:
        assert out == "top\n"
        assert "/data/sub" not in mi


def test_mounts_in_listed_order_configMounts(runtime, bundle, cid, private_rootfs, tmp_path):
    """The runtime MUST mount entries in the listed order: a tmpfs listed after
    a bind under it hides the bind; listed before, the bind lands inside it."""
    src = tmp_path / "data"
    src.mkdir()
    (src / "f").write_text("bound\n")
    tmpfs = {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
             "options": ["size=1m"]}
    base = list(bundle.config["mounts"])
    bundle.config["mounts"] = base + [tmpfs, _bind("/run/x/y", src, "rbind")]
    res = _sh(runtime, bundle, cid, "cat /run/x/y/f")
    assert res.stdout == "bound\n"
    runtime.run("delete", "--force", cid)
    bundle.config["mounts"] = base + [_bind("/run/x/y", src, "rbind"), tmpfs]
    res = _sh(runtime, bundle, cid, "ls -A /run; echo end")
    assert res.stdout == "end\n"


# ---------------------------------------------------------------------------
# tmpfs and filesystem options
# ---------------------------------------------------------------------------


def test_tmpfs_options_configLinuxMountOptions(runtime, bundle, cid):
    """size=, mode= reach the filesystem; nosuid, nodev, noexec the mount; and
    noexec really forbids executing a binary (a tmpfs without it allows it)."""
    bundle.config["mounts"] += [
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "noexec", "nodev", "size=8m", "mode=1770"]},
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=8m", "mode=755"]},
    ]
    res = _sh(runtime, bundle, cid,
              "cp /bin/busybox /tmp/busybox; /tmp/busybox true 2>/dev/null; echo noexec=$?; "
              "cp /bin/busybox /run/busybox; /run/busybox true; echo exec=$?; "
              + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    assert out.splitlines() == ["noexec=126", "exec=0"]
    t = mi["/tmp"]
    assert t["fstype"] == "tmpfs"
    assert {"nosuid", "nodev", "noexec"} <= t["opts"], t
    assert {"size=8192k", "mode=1770"} <= t["super"], t
    r = mi["/run"]
    assert not {"nosuid", "nodev", "noexec"} & r["opts"], r
    assert "size=8192k" in r["super"], r


@pytest.mark.parametrize("existing", [True, False])
def test_tmpfs_mode_configLinuxMountOptions(runtime, bundle, cid, private_rootfs, existing):
    """mode= sets the mode of the tmpfs root, also over an existing directory
    of another mode (the image's /tmp is 1777)."""
    dest = "/tmp" if existing else "/newdir"
    bundle.config["mounts"].append({"destination": dest, "type": "tmpfs", "source": "tmpfs",
                                    "options": ["size=1m", "mode=1770"]})
    res = _sh(runtime, bundle, cid, f"stat -c %a {dest}")
    if runtime.name == "runc" and existing and res.stdout == "1777\n":
        pytest.skip("runc 1.1.5 chmods a tmpfs to the mode of the directory it covers, "
                    "overriding mode= (runc#3911, fixed in 1.1.8)")
    assert res.stdout == "1770\n"


def test_tmpfs_without_mode_keeps_the_covered_directorys_mode(runtime, bundle, cid,
                                                               private_rootfs):
    """No mode= option: the tmpfs root takes the mode of the directory it
    covers (runc 1.1.8+), and 1777 (the kernel's) where there was none."""
    os.makedirs(str(private_rootfs) + "/covered")
    os.chmod(str(private_rootfs) + "/covered", 0o710)
    for dest in ("/covered", "/fresh"):
        bundle.config["mounts"].append({"destination": dest, "type": "tmpfs",
                                        "source": "tmpfs", "options": ["size=1m"]})
    res = _sh(runtime, bundle, cid, "stat -c %a /covered /fresh")
    assert res.stdout == "710\n1777\n", res.stderr


def test_read_only_dev_is_made_read_only_after_its_contents(runtime, bundle, cid):
    """A read-only tmpfs at /dev still gets /dev/pts, /dev/shm and the
    device nodes (mounted read-write first, made read-only at the end)."""
    dev = next(m for m in bundle.config["mounts"] if m["destination"] == "/dev")
    dev["options"] = dev["options"] + ["ro"]
    res = _sh(runtime, bundle, cid, "ls /dev/null /dev/pts/ptmx >/dev/null && echo ok; "
              "(touch /dev/new) 2>&1; echo w=$?")
    assert res.stdout.startswith("ok\n"), (res.stdout, res.stderr)
    _fails_with_erofs(res.stdout, "w")


@pytest.mark.parametrize("options,present,absent", [
    (["ro"], {"ro"}, {"rw"}),
    (["nosuid", "nodev"], {"nosuid", "nodev"}, set()),
    (["noatime", "nodiratime"], {"noatime", "nodiratime"}, {"relatime"}),
    (["strictatime"], set(), {"relatime", "noatime"}),
    (["sync", "dirsync"], {"sync", "dirsync"}, set()),
    (["nosymfollow"], {"nosymfollow"}, set()),
    (["noexec", "exec", "ro", "rw", "nosuid", "suid"], {"rw"}, {"noexec", "ro", "nosuid"}),
    (["uid=1000", "gid=1000", "nr_inodes=100"], {"uid=1000", "gid=1000", "nr_inodes=100"},
     set()),
    (["defaults", "noexec"], {"noexec"}, set()),
], ids=["ro", "nosuid-nodev", "noatime", "strictatime", "sync", "nosymfollow",
        "later-wins", "fs-data", "defaults"])
def test_mount_flags_configLinuxMountOptions(runtime, bundle, cid, options, present, absent):
    """mount(8) options on a tmpfs as /proc/self/mountinfo shows them (per-mount
    and superblock fields); a later option overrides an earlier opposite one;
    unknown options are filesystem data."""
    bundle.config["mounts"].append({"destination": "/run", "type": "tmpfs",
                                    "source": "tmpfs", "options": ["size=1m"] + options})
    bundle.config["process"]["args"] = ["sh", "-c", SHOW_MOUNTINFO]
    res = runtime.run_container(bundle, cid)
    if runtime.name == "runc" and "defaults" in options and res.returncode != 0:
        pytest.skip("runc 1.1 passes `defaults` to the kernel as filesystem data "
                    f"(EINVAL); the spec lists it as a MUST option: {res.stderr[-150:]}")
    assert res.returncode == 0, res.stderr
    _, mi = _split(res.stdout)
    # ro/rw of the mount is the per-mount field; the superblock's may differ
    # (a runtime may mount rw and remount the mount read-only).
    got = mi["/run"]["opts"] | (mi["/run"]["super"] - {"ro", "rw"})
    assert present <= got, got
    assert not absent & got, got


def test_bind_flags_configLinuxMountOptions(runtime, bundle, cid, private_rootfs, tmp_path):
    """Per-mount flags on a bind mount (remounted): noexec, nosuid, nodev."""
    src = tmp_path / "data"
    src.mkdir()
    bundle.config["mounts"].append(_bind("/data", src, "rbind", "noexec", "nosuid", "nodev"))
    res = _sh(runtime, bundle, cid, "cp /bin/busybox /data/busybox; "
              "/data/busybox true 2>/dev/null; echo rc=$?; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    assert out == "rc=126\n"
    assert {"noexec", "nosuid", "nodev"} <= mi["/data"]["opts"]


def test_tmpcopyup_configLinuxMountOptions(runtime, bundle, cid, private_rootfs):
    """tmpcopyup: the tmpfs starts with the image's content at the destination;
    writes stay in the tmpfs."""
    img = private_rootfs / "var" / "lib" / "app"
    (img / "sub").mkdir(parents=True)
    (img / "conf").write_text("image conf\n")
    (img / "link").symlink_to("conf")
    (img / "sub" / "owned").write_text("owned\n")
    os.chmod(img / "sub" / "owned", 0o640)
    os.chown(img / "sub" / "owned", 1000, 1000)
    os.chmod(img / "sub", 0o755)
    os.chown(img / "sub", 1000, 1000)
    bundle.config["mounts"].append({"destination": "/var/lib/app", "type": "tmpfs",
                                    "source": "tmpfs",
                                    "options": ["tmpcopyup", "size=1m", "mode=755"]})
    res = _sh(runtime, bundle, cid, "cat /var/lib/app/conf; readlink /var/lib/app/link; "
              "echo new > /var/lib/app/new; echo changed > /var/lib/app/conf; "
              "cat /var/lib/app/new; stat -c '%n %a %u %g' /var/lib/app/sub "
              "/var/lib/app/sub/owned; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    # Content, mode and owner are copied up.
    assert out == ("image conf\nconf\nnew\n/var/lib/app/sub 755 1000 1000\n"
                   "/var/lib/app/sub/owned 640 1000 1000\n")
    assert mi["/var/lib/app"]["fstype"] == "tmpfs"
    assert sorted(os.listdir(img)) == ["conf", "link", "sub"]
    assert (img / "conf").read_text() == "image conf\n"


# ---------------------------------------------------------------------------
# propagation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("prop", ["rprivate", "rslave", "rshared", "runbindable"])
def test_bind_propagation_mountinfo_configLinuxMountOptions(runtime, bundle, cid,
                                                            private_rootfs, shared_dir, prop):
    """Propagation option of a bind of a shared host mount, as the optional
    fields of its mountinfo line inside the container show it."""
    src, group = shared_dir
    bundle.config["mounts"].append(_bind("/data", src, "rbind", prop))
    res = _sh(runtime, bundle, cid, SHOW_MOUNTINFO)
    _, mi = _split(res.stdout)
    optional = mi["/data"]["optional"]
    if prop == "rprivate":
        assert optional == [], optional
    elif prop == "rslave":
        assert f"master:{group}" in optional, optional
        assert not any(o.startswith("shared:") for o in optional), optional
    elif prop == "runbindable":
        assert optional == ["unbindable"], optional
    else:
        assert any(o.startswith("shared:") for o in optional), optional


@pytest.mark.parametrize("prop,propagates", [("rslave", True), ("rshared", True),
                                             ("rprivate", False)])
def test_bind_propagation_from_host_configLinuxMountOptions(runtime, bundle, cid,
                                                            private_rootfs, shared_dir,
                                                            host_mount, prop, propagates):
    """A mount made on the host under the source after the container started
    shows inside with rslave/rshared, not with rprivate."""
    src, _ = shared_dir
    bundle.config["mounts"].append(_bind("/data", src, "rbind", prop))
    bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    pid = runtime.state(cid)["pid"]
    host_mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", target=src / "sub")
    (src / "sub" / "hello").write_text("late\n")
    inside = f"/proc/{pid}/root/data/sub/hello"
    assert os.path.exists(f"/proc/{pid}/root/data/file")
    assert os.path.exists(inside) is propagates


@pytest.fixture
def shared_root_runtime(runtime):
    """The runtime started in a mount namespace of its own whose mounts are all
    shared (as on systemd hosts), so that a container's root has a master to
    be a slave of. The state root is the same: cleanup needs no wrapper."""
    return Runtime(runtime.name, ["unshare", "-m", "--propagation", "shared", "--"]
                   + runtime.argv, runtime.root, runtime.env)


@pytest.mark.parametrize("prop", ["private", "slave", "shared", "unbindable"])
def test_rootfs_propagation_configLinuxRootfsMountPropagation(shared_root_runtime, bundle,
                                                              cid, prop):
    """rootfsPropagation as the optional fields of the "/" line of the
    container's mountinfo show it: slave of the (shared) host root, a new peer
    group, nothing, or unbindable."""
    bundle.config["linux"]["rootfsPropagation"] = prop
    bundle.config["process"]["args"] = ["sh", "-c", SHOW_MOUNTINFO]
    res = shared_root_runtime.run_container(bundle, cid)
    if shared_root_runtime.name == "runc" and prop == "unbindable" and res.returncode != 0:
        pytest.skip("runc 1.1 makes / unbindable before binding the rootfs onto itself, "
                    "which then fails (EINVAL; runc#4724, fixed in 1.2.x/1.3): "
                    + res.stderr[-120:])
    assert res.returncode == 0, res.stderr
    _, mi = _split(res.stdout)
    optional = mi["/"]["optional"]
    shared = [o for o in optional if o.startswith("shared:")]
    master = [o for o in optional if o.startswith("master:")]
    if prop == "private":
        assert optional == [], optional
    elif prop == "slave":
        assert master and not shared, optional
    elif prop == "unbindable":
        assert optional == ["unbindable"], optional
    else:
        if shared_root_runtime.name == "runc" and not shared:
            pytest.skip("runc 1.1 leaves the root private with rootfsPropagation shared "
                        "(runc#1755, fixed in 1.2.x/1.3); the spec asks for a new peer group")
        assert shared, optional


@pytest.mark.parametrize("opt", ["ro", "rro"])
def test_recursive_readonly_configLinuxMountOptions(runtime, bundle, cid, private_rootfs,
                                                    src_with_submount, opt):
    """rro (mount_setattr AT_RECURSIVE) makes the submounts of an rbind
    read-only too; plain ro only the top mount."""
    bundle.config["mounts"].append(_bind("/data", src_with_submount, "rbind", opt))
    bundle.config["process"]["args"] = [
        "sh", "-c", "(echo x > /data/top-new) 2>&1; echo top=$?; "
        "(echo x > /data/sub/new) 2>&1; echo sub=$?; " + SHOW_MOUNTINFO]
    res = runtime.run_container(bundle, cid)
    if runtime.name == "runc" and opt == "rro" and res.returncode != 0:
        pytest.skip(f"runc 1.1 does not support rro: {res.stderr.strip()[-200:]}")
    assert res.returncode == 0, res.stderr
    out, mi = _split(res.stdout)
    assert "top=0" not in out and "top=" in out
    assert "ro" in mi["/data"]["opts"]
    if opt == "rro":
        assert "sub=0" not in out, out
        assert "ro" in mi["/data/sub"]["opts"]
        assert not (src_with_submount / "sub" / "new").exists()
    else:
        assert "sub=0" in out, out
        assert "rw" in mi["/data/sub"]["opts"]
        assert (src_with_submount / "sub" / "new").exists()


@pytest.mark.parametrize("opt", ["noexec", "rnoexec"])
def test_recursive_noexec_configLinuxMountOptions(runtime, bundle, cid, private_rootfs,
                                                  src_with_submount, opt):
    """rnoexec reaches the submounts of an rbind; noexec only the top mount."""
    bundle.config["mounts"].append(_bind("/data", src_with_submount, "rbind", opt))
    res = _sh(runtime, bundle, cid,
              "cp /bin/busybox /data/sub/busybox; /data/sub/busybox true 2>/dev/null; "
              "echo sub=$?; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    assert "noexec" in mi["/data"]["opts"]
    if opt == "rnoexec":
        assert out == "sub=126\n"
        assert "noexec" in mi["/data/sub"]["opts"]
    else:
        assert out == "sub=0\n"
        assert "noexec" not in mi["/data/sub"]["opts"]


# ---------------------------------------------------------------------------
# destinations that must be resolved inside the root
# ---------------------------------------------------------------------------


def _escaping_symlink(rootfs, kind: str) -> tuple[str, str, str]:
    """/evil in the image pointing at /tmp/<unique> of the host, absolutely
    ("/../../../../tmp/x") or relatively ("../../.. .../tmp/x").
    Returns (symlink target, path inside the root, host path)."""
    name = f"pyrunc-escape-{uuid.uuid4().hex[:12]}"
    target = (f"/../../../../tmp/{name}" if kind == "absolute"
              else "../" * 20 + f"tmp/{name}")
    os.symlink(target, rootfs / "evil")
    return target, f"/tmp/{name}", f"/tmp/{name}"


def _assert_not_on_host(host_path: str) -> None:
    escaped = os.path.lexists(host_path)
    host_mounts = mounts_under(host_path)
    if escaped:
        subprocess.run(["rm", "-rf", host_path])
    assert not escaped, f"{host_path} was created on the host"
    assert host_mounts == []


@pytest.mark.parametrize("kind", ["absolute", "relative"])
@pytest.mark.parametrize("mount_type", ["dir-bind", "file-bind", "tmpfs"])
def test_destination_symlink_stays_in_root_configMounts(runtime, bundle, cid, private_rootfs,
                                                        tmp_path, kind, mount_type):
    """A destination through an image symlink pointing outside the root: the
    mount lands inside the rootfs, nothing is created or mounted on the host."""
    target, inside, host_path = _escaping_symlink(private_rootfs, kind)
    src = tmp_path / "data"
    src.mkdir()
    (src / "marker").write_text("bound\n")
    (tmp_path / "file").write_text("bound file\n")
    if mount_type == "dir-bind":
        bundle.config["mounts"].append(_bind("/evil", src, "rbind"))
        check, want = "cat /evil/marker", "bound\n"
    elif mount_type == "file-bind":
        bundle.config["mounts"].append(_bind("/evil", tmp_path / "file", "bind"))
        check, want = "cat /evil", "bound file\n"
    else:
        bundle.config["mounts"].append({"destination": "/evil", "type": "tmpfs",
                                        "source": "tmpfs", "options": ["size=1m"]})
        check, want = "touch /evil/created && echo tmpfs-writable", "tmpfs-writable\n"
    try:
        res = _sh(runtime, bundle, cid, f"{check}; readlink /evil; " + SHOW_MOUNTINFO)
        out, mi = _split(res.stdout)
        assert out == want + target + "\n"
        assert inside in mi, sorted(mi)
        assert os.path.lexists(str(private_rootfs) + inside)
        assert os.readlink(private_rootfs / "evil") == target
    finally:
        _assert_not_on_host(host_path)


@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_device_path_symlink_stays_in_root_configLinuxDevices(runtime, bundle, cid,
                                                               private_rootfs, kind):
    """A device path through an image symlink pointing outside the root: the
    node is made inside the rootfs, never on the host."""
    target, inside, host_path = _escaping_symlink(private_rootfs, kind)
    bundle.config["linux"]["devices"] = [
        {"path": "/evil/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}]
    try:
        res = _sh(runtime, bundle, cid, f"stat -c '{STAT_FMT}' {inside}/mynull")
        got = _stats(res.stdout)
        assert got[f"{inside}/mynull"][:3] == ("character special file", 1, 3)
        st = os.lstat(str(private_rootfs) + inside + "/mynull")
        assert stat.S_ISCHR(st.st_mode)
    finally:
        _assert_not_on_host(host_path)


@pytest.mark.parametrize("dest,mount", [
    ("/proc/sys/kernel/core_pattern", "bind"),
    ("/proc/self/attr/current", "bind"),
    ("/proc/sys", "tmpfs"),
])
def test_mount_under_proc_refused_configMounts(runtime, bundle, cid, tmp_path, dest, mount):
    """Mounting over /proc entries other than the lxcfs-style files is refused."""
    f = tmp_path / "fake"
    f.write_text("|/tmp/evil\n")
    if mount == "bind":
        bundle.config["mounts"].append(_bind(dest, f, "bind"))
    else:
        bundle.config["mounts"].append({"destination": dest, "type": "tmpfs",
                                        "source": "tmpfs", "options": ["size=1m"]})
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and mount == "tmpfs" and res.returncode == 0:
        pytest.skip("runc 1.1 checks only bind and other non-tmpfs mounts under /proc; "
                    "pyrunc refuses any non-proc mount there")
    assert res.returncode == 1, res.stderr
    if runtime.name == "pyrunc":
        assert "mounts[7].destination" in res.stderr and "inside /proc" in res.stderr, \
            res.stderr
    assert_nothing_left(runtime, cid)


def test_mount_on_allowed_proc_file_configMounts(runtime, bundle, cid, tmp_path):
    """/proc/uptime is one of the files lxcfs-style tools replace: allowed."""
    f = tmp_path / "uptime"
    f.write_text("12345.67 890.12\n")
    bundle.config["mounts"].append(_bind("/proc/uptime", f, "bind", "ro"))
    res = _sh(runtime, bundle, cid, "cat /proc/uptime")
    assert res.stdout == "12345.67 890.12\n"


# ---------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------


def test_default_devices_configLinuxDefaultDevices(runtime, bundle, cid):
    """null, zero, full, random, urandom, tty: char devices, right numbers, 0666."""
    want = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
            "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}
    res = _sh(runtime, bundle, cid, f"stat -c '{STAT_FMT}' {' '.join(want)}; "
              "readlink /dev/ptmx; [ -L /dev/ptmx ] && echo ptmx-is-link")
    got = _stats(res.stdout)
    for path, (major, minor) in want.items():
        assert got[path] == ("character special file", major, minor, 0o666, 0, 0), path
    assert res.stdout.splitlines()[-2:] == ["pts/ptmx", "ptmx-is-link"]


def test_ptmx_usable_configLinuxDefaultDevices(runtime, bundle, cid):
    """/dev/ptmx leads to the container's own devpts instance."""
    res = _sh(runtime, bundle, cid, "stat -c '%t:%T' /dev/pts/ptmx; stat -L -c '%t:%T' "
              "/dev/ptmx; stat -f -c %T /dev/pts")
    lines = res.stdout.splitlines()
    assert lines[0] == lines[1] == "5:2", lines
    assert lines[2] == "devpts", lines


def test_default_devices_usable_configLinuxDefaultDevices(runtime, bundle, cid):
    """Writing to /dev/null, reading /dev/zero and /dev/urandom work; /dev/full is full."""
    res = _sh(runtime, bundle, cid,
              "echo hi > /dev/null && echo null-ok; head -c 4 /dev/zero | od -An -tx1; "
              "head -c 16 /dev/urandom | wc -c; (echo x > /dev/full) 2>&1; echo full=$?")
    lines = [line.strip() for line in res.stdout.splitlines()]
    assert lines[0] == "null-ok"
    assert lines[1] == "00 00 00 00"
    assert lines[2] == "16"
    assert "No space left on device" in res.stdout and "full=0" not in res.stdout


def test_dev_symlinks_runtimeLinuxDevSymbolicLinks(runtime, bundle, cid):
    """/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr link to /proc/self/fd/*
    and work (a pipe as stdio, so that opening them truncates nothing)."""
    res = _sh(runtime, bundle, cid, "for l in fd stdin stdout stderr; do "
              "[ -L /dev/$l ] && echo $l $(readlink /dev/$l); done; "
              "(echo via-stdout > /dev/stdout) | cat; echo via-stdin | cat /dev/stdin; "
              "(echo via-stderr > /dev/stderr) 2>&1 | cat; "
              "ls /dev/fd/ | grep -qx 2 && echo fd-ok")
    assert res.stdout.splitlines() == [
        "fd /proc/self/fd", "stdin /proc/self/fd/0", "stdout /proc/self/fd/1",
        "stderr /proc/self/fd/2", "via-stdout", "via-stdin", "via-stderr", "fd-ok"]


def test_custom_devices_configLinuxDevices(runtime, bundle, cid, private_rootfs):
    """linux.devices: char, block and fifo nodes with the requested numbers,
    mode and owner, in /dev and elsewhere in the root."""
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
         "uid": 0, "gid": 0},
        {"path": "/dev/myloop", "type": "b", "major": 7, "minor": 200, "fileMode": 0o640,
         "uid": 0, "gid": 6},
        {"path": "/dev/myfifo", "type": "p", "fileMode": 0o600, "uid": 1000, "gid": 1000},
        {"path": "/opt/devs/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o620,
         "uid": 1000, "gid": 5},
    ]
    paths = " ".join(d["path"] for d in bundle.config["linux"]["devices"])
    res = _sh(runtime, bundle, cid, f"stat -c '{STAT_FMT}' {paths}")
    got = _stats(res.stdout)
    assert got["/dev/fuse"] == ("character special file", 10, 229, 0o666, 0, 0)
    assert got["/dev/myloop"] == ("block special file", 7, 200, 0o640, 0, 6)
    assert got["/dev/myfifo"][0] == "fifo"
    assert got["/dev/myfifo"][3:] == (0o600, 1000, 1000)
    assert got["/opt/devs/mynull"] == ("character special file", 1, 3, 0o620, 1000, 5)
    st = os.lstat(private_rootfs / "opt" / "devs" / "mynull")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1


def test_device_overrides_default_device_configLinuxDevices(runtime, bundle, cid):
    """A default device listed in linux.devices gets the listed mode and owner.
    (/dev/zero: runc 1.1 cannot take /dev/null in linux.devices at all: a
    listed device replaces the default one, allow rule included, and its
    init then cannot reopen /dev/null. Access to the listed device is allowed
    explicitly in the device cgroup, as config-linux.md#configLinuxDevices
    points to.)"""
    bundle.config["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o660,
         "uid": 0, "gid": 1000}]
    res = _sh(runtime, bundle, cid, f"stat -c '{STAT_FMT}' /dev/zero; "
              "head -c 3 /dev/zero | wc -c")
    assert _stats(res.stdout)["/dev/zero"] == ("character special file", 1, 5, 0o660,
                                                0, 1000)
    assert res.stdout.splitlines()[-1].strip() == "3"


@pytest.mark.parametrize("existing", ["regular-file", "other-device", "same-device"])
def test_device_path_already_exists_configLinuxDevices(runtime, bundle, cid, private_rootfs,
                                                       existing):
    """A file at a device path that is not the requested device MUST be an
    error; the same device already there is fine. /dev is the image's own
    directory here (no tmpfs on it)."""
    _drop_mount(bundle, "/dev")
    node = private_rootfs / "dev" / "fuse"
    if existing == "regular-file":
        node.write_text("not a device\n")
    elif existing == "other-device":
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    else:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(10, 229))
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}]
    if existing == "same-device":
        res = _sh(runtime, bundle, cid, "stat -c '%t:%T' /dev/fuse")
        assert res.stdout == "a:e5\n"
        return
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and res.returncode == 0:
        pytest.skip(f"runc 1.1 keeps an existing {existing} at a device path (mknod EEXIST "
                    "is ignored); the spec requires an error")
    assert res.returncode == 1, res.stderr
    if runtime.name == "pyrunc":
        assert "/dev/fuse" in res.stderr and "linux.devices" in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)
    if existing == "regular-file":
        assert node.read_text() == "not a device\n"


# ---------------------------------------------------------------------------
# masked and read-only paths, read-only root
# ---------------------------------------------------------------------------


def test_masked_paths_configLinuxMaskedPaths(runtime, bundle, cid, private_rootfs, tmp_path):
    """A masked file reads empty, a masked directory is empty and read-only;
    the defaults /proc/keys (a file: /dev/null over it) and /proc/acpi (a
    directory: a read-only tmpfs) are masked too."""
    if not (os.path.exists("/proc/keys") and os.path.isdir("/proc/acpi")):
        pytest.skip("this kernel has no /proc/keys or /proc/acpi")
    src = tmp_path / "data"
    (src / "secrets").mkdir(parents=True)
    (src / "secrets" / "key").write_text("top secret\n")
    (src / "token").write_text("token\n")
    (src / "visible").write_text("visible\n")
    bundle.config["mounts"].append(_bind("/data", src, "rbind", "rw"))
    bundle.config["linux"]["maskedPaths"] += ["/data/token", "/data/secrets",
                                              "/data/does-not-exist"]
    res = _sh(runtime, bundle, cid,
              "echo \"[$(cat /data/token)]\"; ls -A /data/secrets; echo listed; "
              "(touch /data/secrets/new) 2>&1; echo w=$?; cat /data/visible; "
              "stat -c '%t:%T' /proc/keys; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    assert out.startswith("[]\nlisted\n"), out
    _fails_with_erofs(out, "w")
    assert out.endswith("visible\n1:3\n"), out
    assert mi["/proc/acpi"]["fstype"] == "tmpfs" and "ro" in mi["/proc/acpi"]["opts"]
    assert mi["/data/secrets"]["fstype"] == "tmpfs"
    assert (src / "token").read_text() == "token\n"
    assert os.listdir(src / "secrets") == ["key"]


def test_masked_paths_given_twice_and_directories_share_one_tmpfs_configLinuxMaskedPaths(
        runtime, bundle, cid, private_rootfs, request):
    """A path listed twice is masked once (one mount), and the masked
    directories are one read-only tmpfs bound onto each (one device), as in
    runc 1.3+ (its mask.bats)."""
    if runtime.name == "runc":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="runc 1.1.5 mounts a tmpfs per directory and one per entry"))
    for d in ("/m1", "/m2", "/m3"):
        os.makedirs(str(private_rootfs) + d, exist_ok=True)
    bundle.config["linux"]["maskedPaths"] += ["/m1", "/m2", "/m3", "/m1"]
    res = _sh(runtime, bundle, cid, "grep -c ' /m1 ' /proc/self/mountinfo; "
              "stat -c %d /m1 /m2 /m3 | sort -u | wc -l; (touch /m2/x) 2>&1; echo w=$?")
    lines = res.stdout.splitlines()
    assert lines[:2] == ["1", "1"], res.stdout
    _fails_with_erofs(res.stdout, "w")


def test_readonly_paths_configLinuxReadonlyPaths(runtime, bundle, cid, private_rootfs,
                                                  tmp_path):
    """A listed path is read-only (writes fail with EROFS); the rest of the
    mount stays writable. /proc/sys (a default) is read-only too."""
    src = tmp_path / "data"
    (src / "locked").mkdir(parents=True)
    bundle.config["mounts"].append(_bind("/data", src, "rbind", "rw"))
    bundle.config["linux"]["readonlyPaths"] += ["/data/locked", "/data/does-not-exist"]
    res = _sh(runtime, bundle, cid,
              "(touch /data/locked/new) 2>&1; echo w=$?; touch /data/free && echo free-ok; "
              "(echo h > /proc/sys/kernel/hostname) 2>&1; echo sys=$?; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    _fails_with_erofs(out, "w")
    assert "sys=0" not in out and out.count("Read-only file system") == 2, out
    assert "free-ok" in out
    assert "ro" in mi["/data/locked"]["opts"] and "rw" in mi["/data"]["opts"]
    assert "ro" in mi["/proc/sys"]["opts"]
    assert os.listdir(src / "locked") == []
    assert (src / "free").exists()


@pytest.mark.parametrize("readonly", [True, False])
def test_root_readonly_configRoot(runtime, bundle, cid, private_rootfs, readonly):
    bundle.config["root"]["readonly"] = readonly
    res = _sh(runtime, bundle, cid, "(echo x > /newfile) 2>&1; echo w=$?; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    if readonly:
        _fails_with_erofs(out, "w")
        assert "ro" in mi["/"]["opts"]
        assert not (private_rootfs / "newfile").exists()
    else:
        assert out == "w=0\n"
        assert "rw" in mi["/"]["opts"]
        assert (private_rootfs / "newfile").read_text() == "x\n"


# ---------------------------------------------------------------------------
# the cgroup mount
# ---------------------------------------------------------------------------


def _with_cgroupns(bundle, on: bool) -> None:
    ns = [n for n in bundle.config["linux"]["namespaces"] if n["type"] != "cgroup"]
    if on:
        ns.append({"type": "cgroup"})
    bundle.config["linux"]["namespaces"] = ns


def _pure_v2() -> bool:
    with open("/proc/self/mountinfo") as f:
        fields = [line.split() for line in f]
    kinds = {x[x.index("-") + 1] for x in fields}
    return "cgroup2" in kinds and "cgroup" not in kinds


@pytest.mark.parametrize("cgroupns", [True, False])
def test_cgroup_mount_configMounts(runtime, bundle, cid, cgroupns):
    """The `cgroup` mount at /sys/fs/cgroup on a v1/hybrid host: a directory
    per controller, read-only, showing the container's own cgroup (pid 1 in
    cgroup.procs). test_cgroup2_mount covers pure v2 hosts (run in the VM)."""
    if _pure_v2():
        pytest.skip("cgroup v1 layout test; this host is pure cgroup v2")
    _with_cgroupns(bundle, cgroupns)
    res = _sh(runtime, bundle, cid,
              "ls /sys/fs/cgroup; echo ==; cat /sys/fs/cgroup/pids/cgroup.procs; echo ==; "
              "grep :pids: /proc/self/cgroup; (mkdir /sys/fs/cgroup/pids/x) 2>&1; "
              "echo w=$?; " + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    listing, procs, rest = out.split("==\n")
    names = listing.split()
    host = [c for c in ("cpu", "memory", "pids", "devices", "freezer")
            if os.path.ismount(f"/sys/fs/cgroup/{c}")]
    for ctrl in host:
        assert ctrl in names, names
    assert "1" in procs.split(), procs
    _fails_with_erofs(rest, "w")
    assert "ro" in mi["/sys/fs/cgroup/pids"]["opts"], mi["/sys/fs/cgroup/pids"]
    assert mi["/sys/fs/cgroup/pids"]["fstype"] == "cgroup"
    own = rest.splitlines()[0].split(":", 2)[2]
    if cgroupns:
        # The namespace is rooted at the container's cgroup.
        assert own == "/", rest
        assert mi["/sys/fs/cgroup/pids"]["root"] == "/"
    else:
        assert own.endswith("/" + cid), rest
        assert mi["/sys/fs/cgroup/pids"]["root"].endswith("/" + cid)


@pytest.mark.v2
@pytest.mark.parametrize("cgroupns", [True, False])
def test_cgroup2_mount_configMounts(runtime, bundle, cid, cgroupns):
    """The `cgroup` mount on a pure cgroup v2 host: the unified hierarchy,
    read-only, rooted at the container's cgroup (with a cgroup namespace a
    fresh cgroup2 mount, without one a bind of the container's directory)."""
    if not _pure_v2():
        pytest.skip("cgroup v2 layout test; runs on a pure v2 host (the CI's cgv2 VM)")
    _with_cgroupns(bundle, cgroupns)
    res = _sh(runtime, bundle, cid, "cat /sys/fs/cgroup/cgroup.procs; echo ==; "
              "cat /proc/self/cgroup; (mkdir /sys/fs/cgroup/x) 2>&1; echo w=$?; "
              + SHOW_MOUNTINFO)
    out, mi = _split(res.stdout)
    procs, rest = out.split("==\n")
    if runtime.name == "runc" and not cgroupns and "1" not in procs.split():
        pytest.skip("runc 1.1 mounts the host's whole cgroup2 hierarchy when the container "
                    "has no cgroup namespace (its processes show as pid 0)")
    assert "1" in procs.split(), procs
    _fails_with_erofs(rest, "w")
    assert mi["/sys/fs/cgroup"]["fstype"] == "cgroup2"
    assert "ro" in mi["/sys/fs/cgroup"]["opts"]
    own = rest.splitlines()[0].split(":", 2)[2]
    if cgroupns:
        assert own == "/", rest
    else:
        assert own.endswith("/" + cid), rest
