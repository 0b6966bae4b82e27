"""config-linux.md#configLinuxDeviceAllowedlist: rule reduction (v1
semantics) and the cgroup v2 eBPF program built from it."""
from __future__ import annotations

import struct

from pyrunc.cgroups import ebpf
from pyrunc.cgroups.devices import DEFAULT_ALLOWED, Rule, effective_rules


def test_v1_lines():
    assert Rule(False).v1() == "a"
    assert Rule(True, "c", 1, 3, "rwm").v1() == "c 1:3 rwm"
    assert Rule(True, "b", None, None, "m").v1() == "b *:* m"
    assert Rule(True, "c", 136, -1, "rw").v1() == "c 136:* rw"


def test_defaults_appended_only_with_rules():
    assert effective_rules([]) == []
    rules = effective_rules([Rule(False)])
    assert rules[0].v1() == "a" and rules[1:] == list(DEFAULT_ALLOWED)


def test_reduce_deny_all_then_allow():
    default, exc = ebpf.reduce([Rule(False), Rule(True, "c", 1, 3, "rw")])
    assert default is False
    assert [(e.type, e.major, e.minor, e.access) for e in exc] == [("c", 1, 3, 2 | 4)]


def test_reduce_removes_access_that_agrees_with_default():
    default, exc = ebpf.reduce([Rule(False), Rule(True, "c", 1, 3, "rwm"),
                                Rule(False, "c", 1, 3, "w")])
    assert [(e.major, e.minor, e.access) for e in exc] == [(1, 3, 1 | 2)]
    default, exc = ebpf.reduce([Rule(False), Rule(True, "c", 1, 3, "r"),
                                Rule(False, "c", 1, 3, "r")])
    assert exc == []


def test_reduce_wildcard_resets():
    default, exc = ebpf.reduce([Rule(False), Rule(True, "c", 1, 3), Rule(True)])
    assert default is True and exc == []
    default, exc = ebpf.reduce([Rule(False, "c", 5, 1)])
    assert default is True and [(e.type, e.major, e.minor) for e in exc] == [("c", 5, 1)]


def _decode(prog: bytes):
    return [struct.unpack("<BBhi", prog[i:i + 8]) for i in range(0, len(prog), 8)]


def test_program_shape():
    default, exc = ebpf.reduce([Rule(False), Rule(True, "c", 1, 3, "rw")])
    insns = _decode(ebpf.program(default, exc))
    # ends: default verdict 0 (deny), exit
    assert insns[-2] == (0xB7, 0, 0, 0) and insns[-1][0] == 0x95
    # the exception block returns 1 (allow) and its jumps land just after it
    block_end = len(insns) - 2
    for i, (code, _regs, off, _imm) in enumerate(insns):
        if code == 0x55:
            assert i + 1 + off == block_end
    assert (0xB7, 0, 0, 1) in insns
