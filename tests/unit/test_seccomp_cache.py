"""The compiled seccomp program cache (linux/seccomp.py compile())."""
from __future__ import annotations

import os

from pyrunc.linux import seccomp


def _rules():
    return [seccomp.Rule(["getcwd", "mkdir"], "SCMP_ACT_ERRNO", 13, []),
            seccomp.Rule(["kill"], "SCMP_ACT_ERRNO", None, [(1, 10, 0, "SCMP_CMP_EQ")]),
            seccomp.Rule(["no_such_syscall"], "SCMP_ACT_KILL", None, [])]


def test_program_is_cached_and_reused(tmp_path, monkeypatch):
    monkeypatch.setattr(seccomp, "CACHE_DIR", str(tmp_path / "cache"))
    first, notes = seccomp.compile("SCMP_ACT_ALLOW", None, ["SCMP_ARCH_X86_64"], [], _rules())
    assert any("unknown syscall 'no_such_syscall'" in n for n in notes)
    assert len(first.bpf) % 8 == 0 and first.bpf
    (cached,) = os.listdir(tmp_path / "cache")
    again, notes = seccomp.compile("SCMP_ACT_ALLOW", None, ["SCMP_ARCH_X86_64"], [], _rules())
    assert again.bpf == first.bpf and any("program from" in n for n in notes)
    other, _ = seccomp.compile("SCMP_ACT_ALLOW", None, ["SCMP_ARCH_X86_64"], [], _rules()[:1])
    assert other.bpf != first.bpf and len(os.listdir(tmp_path / "cache")) == 2
    del cached


def test_damaged_cache_is_regenerated(tmp_path, monkeypatch):
    monkeypatch.setattr(seccomp, "CACHE_DIR", str(tmp_path / "cache"))
    good, _ = seccomp.compile("SCMP_ACT_ALLOW", None, [], [], _rules())
    (name,) = os.listdir(tmp_path / "cache")
    (tmp_path / "cache" / name).write_bytes(b"odd")
    again, notes = seccomp.compile("SCMP_ACT_ALLOW", None, [], [], _rules())
    assert again.bpf == good.bpf and not any("program from" in n for n in notes)


def test_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(seccomp, "CACHE_DIR", str(blocker / "cache"))
    flt, notes = seccomp.compile("SCMP_ACT_ALLOW", None, [], [], _rules())
    assert flt.bpf and any("not cached" in n for n in notes)


def test_flags_and_listener_bits():
    flt, _ = seccomp.compile("SCMP_ACT_ALLOW", None, [],
                             ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                             [seccomp.Rule(["getcwd"], "SCMP_ACT_NOTIFY", None, [])])
    assert flt.flags == 2 | 4 | seccomp.FLAG_NEW_LISTENER and flt.uses_notify
