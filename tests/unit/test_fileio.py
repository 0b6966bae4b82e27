"""linux/fileio.write_atomic: the one temp-file-and-rename writer (state.json,
the pid file, the seccomp cache, the launcher)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from pyrunc.linux import fileio


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_and_replaces_leaving_no_temp_file(tmp_path):
    path = tmp_path / "state.json"
    fileio.write_atomic(str(path), b"old")
    inode = os.stat(path).st_ino
    fileio.write_atomic(str(path), b"new content")
    assert path.read_bytes() == b"new content"
    assert os.stat(path).st_ino != inode  # renamed over, not rewritten in place
    assert os.listdir(tmp_path) == ["state.json"]


def test_large_data_is_written_whole(tmp_path):
    data = os.urandom(3 << 20)
    path = tmp_path / "big"
    fileio.write_atomic(str(path), data)
    assert path.read_bytes() == data


def test_mode_is_less_the_umask_unless_exact(tmp_path):
    old = os.umask(0o077)
    try:
        fileio.write_atomic(str(tmp_path / "pid"), b"1", 0o644)
        fileio.write_atomic(str(tmp_path / "exact"), b"1", 0o755, exact_mode=True)
        fileio.write_atomic(str(tmp_path / "ro"), b"1", 0o555, exact_mode=True)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "pid") == 0o600
    assert _mode(tmp_path / "exact") == 0o755
    assert _mode(tmp_path / "ro") == 0o555
    assert (tmp_path / "ro").read_bytes() == b"1"  # a read-only mode still gets its data


def test_default_mode_is_private(tmp_path):
    fileio.write_atomic(str(tmp_path / "f"), b"x")
    assert _mode(tmp_path / "f") == 0o600


def test_temp_file_is_beside_the_target_with_a_pid(tmp_path, monkeypatch):
    seen = []
    real_rename = os.rename

    def rename(src, dst):
        seen.append((src, dst))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    fileio.write_atomic(str(tmp_path / "pid"), b"1")
    assert seen == [(str(tmp_path / f".pid.{os.getpid()}"), str(tmp_path / "pid"))]


def test_temp_file_is_close_on_exec(tmp_path, monkeypatch):
    flags = []
    real_write = os.write

    def write(fd, data):
        flags.append(os.get_inheritable(fd))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    fileio.write_atomic(str(tmp_path / "f"), b"x")
    assert flags == [False]


def test_failed_rename_removes_the_temp_file(tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "inside").write_text("x")  # rename over a full dir fails
    with pytest.raises(OSError):
        fileio.write_atomic(str(tmp_path / "target"), b"x")
    assert sorted(os.listdir(tmp_path)) == ["target"]


def test_failed_write_removes_the_temp_file(tmp_path, monkeypatch):
    def write(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(OSError) as info:
        fileio.write_atomic(str(tmp_path / "f"), b"x")
    assert info.value.errno == 28
    assert os.listdir(tmp_path) == []


def test_missing_directory_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        fileio.write_atomic(str(tmp_path / "no" / "pid"), b"1")
    assert os.listdir(tmp_path) == []


def test_symlink_at_the_temp_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    os.symlink(victim, tmp_path / f".pid.{os.getpid()}")
    with pytest.raises(OSError):
        fileio.write_atomic(str(tmp_path / "pid"), b"1")
    assert victim.read_text() == "keep"


def test_imports_nothing_but_os_and_pyrunc_itself():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(fileio.__file__))))
    code = (f"import sys; sys.path.insert(0, {root!r}); before = set(sys.modules); "
            "import pyrunc.linux.fileio; print(sorted(set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         check=True)
    # __future__ is what every pyrunc module imports (annotations).
    assert out.stdout.strip() == ("['__future__', 'pyrunc', 'pyrunc.linux', "
                                  "'pyrunc.linux.fileio']"), out.stdout
