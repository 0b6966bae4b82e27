"""Cgroup hierarchy detection and config-linux.md#configLinuxCgroupsPath."""
from __future__ import annotations

import pytest

from pyrunc.cgroups import CgroupDir, CgroupManager, _host_dir, check_path
from pyrunc.cgroups.hierarchy import Hierarchy, mode, parse_mountinfo
from pyrunc.errors import ConfigError

HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 41 0:38 / /mnt/again rw,relatime - cgroup2 cgroup2 rw
"""
V2 = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def test_parse_hybrid():
    hs = parse_mountinfo(HYBRID)
    assert [(h.key, h.mountpoint, h.version) for h in hs] == [
        ("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct", 1),
        ("memory", "/sys/fs/cgroup/memory", 1),
        ("name=systemd", "/sys/fs/cgroup/systemd", 1),
        ("", "/sys/fs/cgroup/unified", 2)]
    assert mode(hs) == "hybrid"
    assert hs[0].controllers == ("cpu", "cpuacct")
    assert hs[2].dirname == "systemd"


def test_parse_v2():
    hs = parse_mountinfo(V2)
    assert mode(hs) == "v2" and hs[0].key == "" and hs[0].dirname == "unified"
    assert mode([]) == "none"


def test_escaped_mountpoint():
    hs = parse_mountinfo("1 2 0:1 / /sys/fs/with\\040space rw - cgroup2 cgroup2 rw\n")
    assert hs[0].mountpoint == "/sys/fs/with space"


H = Hierarchy("memory", "/sys/fs/cgroup/memory", "/", 1, ("memory",))
OWN = {"memory": "/user.slice/me"}


@pytest.mark.parametrize("path,expected", [
    ("/abs/ctr", "/sys/fs/cgroup/memory/abs/ctr"),
    ("rel/ctr", "/sys/fs/cgroup/memory/user.slice/me/rel/ctr"),
    ("", "/sys/fs/cgroup/memory/user.slice/me/ID"),
])
def test_cgroups_path_configLinuxCgroupsPath(path, expected):
    assert _host_dir(H, path, "ID", OWN) == expected


def test_cgroupns_mount_root():
    """Inside a cgroup namespace the mount shows the namespace root."""
    h = Hierarchy("memory", "/sys/fs/cgroup/memory", "/outer", 1, ("memory",))
    assert _host_dir(h, "/outer/ctr", "ID", {}) == "/sys/fs/cgroup/memory/ctr"


@pytest.mark.parametrize("bad", ["../escape", "/a/../../b", ".."])
def test_dotdot_refused(bad):
    with pytest.raises(ConfigError, match="linux.cgroupsPath"):
        check_path(bad)


def test_record_roundtrip():
    m = CgroupManager([CgroupDir("freezer", "/sys/fs/cgroup/freezer/x", 1,
                                 "/sys/fs/cgroup/freezer"),
                       CgroupDir("", "/sys/fs/cgroup/unified/x", 2, "/sys/fs/cgroup/unified")],
                      ["/sys/fs/cgroup/freezer/x"], "hybrid")
    rec = m.record()
    assert rec["freezer_file"] == "/sys/fs/cgroup/freezer/x/freezer.state"
    back = CgroupManager.from_record(rec)
    assert [d.path for d in back.dirs] == [d.path for d in m.dirs]
    assert back.created == m.created and back.mode == "hybrid"
    views = back.views()
    assert [(v.name, v.version) for v in views] == [("freezer", 1)]


def test_v2_views_and_freezer():
    m = CgroupManager([CgroupDir("", "/sys/fs/cgroup/x", 2, "/sys/fs/cgroup")], [], "v2")
    assert m.freezer_file() == "/sys/fs/cgroup/x/cgroup.freeze"
    assert [(v.name, v.version) for v in m.views()] == [("unified", 2)]
