"""runtime.md#runtimeState: the state directory and status derivation (no root)."""
from __future__ import annotations

import os

import pytest

from pyrunc import state
from pyrunc.errors import ContainerExists, ContainerNotExist, PyruncError
from pyrunc.linux import proc


@pytest.mark.parametrize("cid", ["a", "abc-123", "x_y.z+1", "A" * 200, "..a"])
def test_valid_ids(cid):
    state.validate_id(cid)


@pytest.mark.parametrize("cid", ["", ".", "..", "a/b", "../x", "/", "a b", "é", "a\n"])
def test_invalid_ids(cid):
    with pytest.raises(PyruncError, match="invalid container ID"):
        state.validate_id(cid)


def test_default_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    monkeypatch.setattr(proc, "in_user_namespace", lambda: False)
    assert state.default_root() == "/run/pyrunc"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert state.default_root() == "/run/user/1000/pyrunc"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "")
    assert state.default_root() == "/run/pyrunc"


def test_resolve_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert state.resolve_root("rel") == str(tmp_path / "rel")
    with pytest.raises(PyruncError):
        state.resolve_root("/")


def _record(**data):
    base = {"id": "c", "bundle": "/b", "rootfs": "/b/rootfs", "created": "x", "pid": 4242,
            "pid_start": 77, "ociVersion": "1.3.0", "cgroup": {}}
    base.update(data)
    return state.Record.from_json(base)


@pytest.fixture
def cdir(tmp_path):
    d = state.ContainerDir(str(tmp_path / "root"), "c")
    d.reserve()
    return d


def _alive(monkeypatch, table):
    monkeypatch.setattr(proc, "is_alive", lambda pid, start: table.get((pid, start), False))


def test_status_created_then_running(cdir, monkeypatch):
    _alive(monkeypatch, {(4242, 77): True})
    os.mkfifo(cdir.fifo_path)
    assert cdir.status(_record()) == "created"
    os.unlink(cdir.fifo_path)
    assert cdir.status(_record()) == "running"


def test_status_stopped_when_pid_reused(cdir, monkeypatch):
    _alive(monkeypatch, {(4242, 99): True})  # same pid, another start time
    os.mkfifo(cdir.fifo_path)
    assert cdir.status(_record()) == "stopped"


def test_status_creating_and_dead_creator(cdir, monkeypatch):
    rec = _record(creating=True, creator_pid=10, creator_start=5, pid=0)
    _alive(monkeypatch, {(10, 5): True})
    assert cdir.status(rec) == "creating"
    _alive(monkeypatch, {})
    assert cdir.status(rec) == "stopped"


def test_status_paused_from_freezer(cdir, monkeypatch, tmp_path):
    _alive(monkeypatch, {(4242, 77): True})
    freezer = tmp_path / "freezer.state"
    freezer.write_text("FROZEN\n")
    rec = _record(cgroup={"mode": "hybrid", "dirs": [
        {"key": "freezer", "path": str(tmp_path), "version": 1, "mountpoint": "/"}]})
    assert cdir.status(rec) == "paused"
    freezer.write_text("THAWED\n")
    assert cdir.status(rec) == "running"


def test_oci_state_pid_zero_when_stopped():
    rec = _record(annotations={"k": "v"})
    assert rec.oci_state("stopped")["pid"] == 0
    out = rec.oci_state("running")
    assert out["pid"] == 4242 and out["annotations"] == {"k": "v"} and out["owner"] == ""
    assert list(out)[:4] == ["ociVersion", "id", "pid", "status"]
    assert "annotations" not in _record().oci_state("running")


def test_reserve_is_the_uniqueness_check(tmp_path):
    d = state.ContainerDir(str(tmp_path / "root"), "c")
    d.reserve()
    with pytest.raises(ContainerExists):
        state.ContainerDir(str(tmp_path / "root"), "c").reserve()
    assert oct(os.stat(tmp_path / "root").st_mode & 0o777) == "0o700"


def test_save_load_roundtrip_and_atomic(cdir):
    rec = _record()
    cdir.save(rec)
    assert cdir.load().to_json() == rec.to_json()
    assert sorted(os.listdir(cdir.path)) == ["state.json"]


def test_older_state_file_takes_defaults(cdir):
    """A state.json written by an older pyrunc lacks later fields: they take
    their defaults; keys this version does not know are ignored."""
    with open(os.path.join(cdir.path, "state.json"), "w") as f:
        f.write('{"id": "c", "bundle": "/b", "pid": 7, "cgroup": {}, "retired": 1}')
    rec = cdir.load()
    assert (rec.id, rec.pid, rec.pid_start, rec.oci_version) == ("c", 7, -1, state.OCI_VERSION)
    assert rec.private_pidns is True and rec.creating is False
    assert rec.intel_rdt is None and rec.host_mounts is None and rec.config == {}
    assert rec.oci_state("running")["rootfs"] == ""


def test_record_fields_are_named():
    with pytest.raises(TypeError, match="unknown fields"):
        state.Record(id="c", pid_strat=1)
    with pytest.raises(AttributeError):
        state.Record(id="c").other = 1


def test_load_missing(tmp_path):
    with pytest.raises(ContainerNotExist, match="container does not exist"):
        state.ContainerDir(str(tmp_path), "nope").load()


def test_remove(cdir):
    cdir.save(_record())
    os.mkfifo(cdir.fifo_path)
    cdir.remove()
    assert not os.path.exists(cdir.path)


def test_rfc3339_now():
    text = state.rfc3339_now()
    assert len(text) == len("2026-01-02T03:04:05.123456789Z") and text.endswith("Z")


def test_proc_stat_parsing_handles_parens(monkeypatch, tmp_path):
    fake = b"123 (a) b) (c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 999 20\n"
    real_open = open

    def fake_open(path, mode="r", *a, **k):
        if path == "/proc/123/stat":
            f = tmp_path / "stat"
            f.write_bytes(fake)
            return real_open(f, mode, *a, **k)
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr("builtins.open", fake_open)
    assert proc.stat_fields(123) == ("S", 999)
