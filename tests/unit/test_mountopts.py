"""config.md#configLinuxMountOptions: option strings to mount(2) arguments."""
from __future__ import annotations

import pytest

from pyrunc.linux import mountopts
from pyrunc.linux import syscalls as sc


@pytest.mark.parametrize("opt,flag", [
    ("ro", sc.MS_RDONLY), ("nosuid", sc.MS_NOSUID), ("nodev", sc.MS_NODEV),
    ("noexec", sc.MS_NOEXEC), ("sync", sc.MS_SYNCHRONOUS), ("dirsync", sc.MS_DIRSYNC),
    ("remount", sc.MS_REMOUNT), ("mand", sc.MS_MANDLOCK), ("noatime", sc.MS_NOATIME),
    ("nodiratime", sc.MS_NODIRATIME), ("relatime", sc.MS_RELATIME),
    ("strictatime", sc.MS_STRICTATIME), ("lazytime", sc.MS_LAZYTIME),
    ("iversion", sc.MS_I_VERSION), ("silent", sc.MS_SILENT), ("nosymfollow", sc.MS_NOSYMFOLLOW),
    ("bind", sc.MS_BIND), ("rbind", sc.MS_BIND | sc.MS_REC),
])
def test_setting_options(opt, flag):
    assert mountopts.parse([opt]).flags == flag


@pytest.mark.parametrize("setter,clearer", [
    ("ro", "rw"), ("nosuid", "suid"), ("nodev", "dev"), ("noexec", "exec"),
    ("sync", "async"), ("noatime", "atime"), ("nodiratime", "diratime"),
    ("relatime", "norelatime"), ("strictatime", "nostrictatime"), ("lazytime", "nolazytime"),
    ("iversion", "noiversion"), ("silent", "loud"), ("mand", "nomand"),
    ("nosymfollow", "symfollow"),
])
def test_clearing_options_win_when_later(setter, clearer):
    assert mountopts.parse([setter, clearer]).flags == 0
    assert mountopts.parse([clearer, setter]).flags == mountopts.parse([setter]).flags


def test_defaults_is_no_flag():
    assert mountopts.parse(["defaults"]).flags == 0


@pytest.mark.parametrize("opt,flag", [
    ("private", sc.MS_PRIVATE), ("rprivate", sc.MS_PRIVATE | sc.MS_REC),
    ("shared", sc.MS_SHARED), ("rshared", sc.MS_SHARED | sc.MS_REC),
    ("slave", sc.MS_SLAVE), ("rslave", sc.MS_SLAVE | sc.MS_REC),
    ("unbindable", sc.MS_UNBINDABLE), ("runbindable", sc.MS_UNBINDABLE | sc.MS_REC),
])
def test_propagation_is_separate(opt, flag):
    parsed = mountopts.parse(["rbind", opt])
    assert parsed.propagation == [flag]
    assert parsed.flags == sc.MS_BIND | sc.MS_REC


def test_recursive_attributes():
    p = mountopts.parse(["rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"])
    assert p.attr_set == (sc.MOUNT_ATTR_RDONLY | sc.MOUNT_ATTR_NOSUID | sc.MOUNT_ATTR_NODEV
                          | sc.MOUNT_ATTR_NOEXEC | sc.MOUNT_ATTR_NODIRATIME
                          | sc.MOUNT_ATTR_NOSYMFOLLOW)
    assert p.attr_clr == 0
    p = mountopts.parse(["rro", "rrw", "rsuid"])
    assert p.attr_set == 0
    assert p.attr_clr == sc.MOUNT_ATTR_RDONLY | sc.MOUNT_ATTR_NOSUID


@pytest.mark.parametrize("opt,mode", [
    ("rnoatime", sc.MOUNT_ATTR_NOATIME), ("rstrictatime", sc.MOUNT_ATTR_STRICTATIME),
    ("rrelatime", sc.MOUNT_ATTR_RELATIME), ("ratime", sc.MOUNT_ATTR_RELATIME),
    ("rnorelatime", sc.MOUNT_ATTR_STRICTATIME), ("rnostrictatime", sc.MOUNT_ATTR_RELATIME),
])
def test_recursive_atime_modes_replace_each_other(opt, mode):
    p = mountopts.parse(["rnoatime", opt])
    assert p.attr_clr & sc.MOUNT_ATTR__ATIME == sc.MOUNT_ATTR__ATIME
    assert p.attr_set & sc.MOUNT_ATTR__ATIME == mode


def test_unknown_options_are_filesystem_data():
    p = mountopts.parse(["nosuid", "mode=755", "size=65536k", "newinstance", "gid=5"])
    assert p.flags == sc.MS_NOSUID
    assert p.data_string == "mode=755,size=65536k,newinstance,gid=5"
    assert mountopts.parse(["ro"]).data_string is None


def test_extensions_are_not_passed_to_the_kernel():
    p = mountopts.parse(["tmpcopyup", "idmap", "ridmap"])
    assert p.extensions == {"tmpcopyup", "idmap", "ridmap"}
    assert p.data_string is None and p.flags == 0


def test_every_spec_option_is_known():
    """Every option config.md lists as MUST/SHOULD is understood, none is data."""
    listed = ("async atime bind defaults dev diratime dirsync exec iversion lazytime loud "
              "mand noatime nodev nodiratime noexec noiversion nolazytime nomand norelatime "
              "nostrictatime nosuid nosymfollow private ratime rbind rdev rdiratime relatime "
              "remount rexec rnoatime rnodiratime rnoexec rnorelatime rnostrictatime rnosuid "
              "rnosymfollow ro rprivate rrelatime rro rrw rshared rslave rstrictatime rsuid "
              "rsymfollow runbindable rw shared silent slave strictatime suid symfollow sync "
              "tmpcopyup unbindable idmap ridmap").split()
    for opt in listed:
        assert mountopts.parse([opt]).data_string is None, opt
