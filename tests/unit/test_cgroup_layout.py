"""Cgroup hierarchy detection and config-linux.md#configLinuxCgroupsPath."""
from __future__ import annotations

import pytest

from pyrunc.cgroups import CgroupDir, CgroupManager, _host_dir, check_path
from pyrunc.cgroups.hierarchy import Hierarchy, mode, parse_mountinfo
from pyrunc.errors import ConfigError, PyruncError

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


def _v2_manager(path) -> CgroupManager:
    return CgroupManager([CgroupDir("", str(path), 2, str(path.parent))], [], "v2")


def test_freezer_state_and_freeze_v2(tmp_path):
    """pause/resume through the manager: cgroup.freeze asks, cgroup.events'
    `frozen` says when it is reached; no freezer is an error naming it."""
    from pyrunc.cgroups import FROZEN, THAWED

    d = tmp_path / "c"
    d.mkdir()
    (d / "cgroup.freeze").write_text("0")
    (d / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    m = _v2_manager(d)
    assert m.state() == THAWED
    m.freeze(timeout=1)
    assert (d / "cgroup.freeze").read_text() == "1" and m.state() == FROZEN
    # The kernel never reports thawed: the thaw times out with an error.
    with pytest.raises(PyruncError, match="did not thaw within 0s"):
        m.thaw(timeout=0)
    none = CgroupManager([], [], "none")
    assert none.state() == ""
    with pytest.raises(PyruncError, match="no freezer"):
        none.freeze()


def test_kill_all_signals_listed_processes(tmp_path, monkeypatch):
    """kill_all: freeze, signal every listed pid (gone ones are no error),
    thaw after SIGKILL; False when the cgroup is gone."""
    import os

    d = tmp_path / "c"
    d.mkdir()
    (d / "cgroup.freeze").write_text("0")
    (d / "cgroup.events").write_text("frozen 0\n")
    (d / "cgroup.procs").write_text("11\n12\n")
    m = _v2_manager(d)
    sent, writes = [], []

    def kill(pid, sig):
        sent.append((pid, sig))
        if pid == 12:
            raise ProcessLookupError

    def freeze_set(self, frozen, timeout):
        writes.append(frozen)

    monkeypatch.setattr(os, "kill", kill)
    from pyrunc.cgroups import freezer

    monkeypatch.setattr(freezer.Freezer, "set", freeze_set)
    assert m.kill_all(9) is True
    assert sent == [(11, 9), (12, 9)] and writes == [True, False]
    assert _v2_manager(tmp_path / "gone").kill_all(9) is False
