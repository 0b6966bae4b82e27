"""Races between callers: two commands on one container at the same time.
Whichever wins, the loser fails cleanly (exit 1, a clear message, never a
crash) or succeeds consistently, the container ends in a state that `state`
describes truthfully, and once deleted nothing of it is left on the host.

The commands are started in the background (each in a session of its own,
so that whatever they fork can be found afterwards) at a range of offsets
from each other, since which one wins depends on timing.
"""
from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from helpers import (assert_no_crash, assert_nothing_left, cgroup_dirs_for, create_timing,
                     delete_force, proc_alive, state_or_absent, wait_gone)

pytestmark = pytest.mark.usefixtures("reclaimed")

EXISTS = {"pyrunc": "container with id exists", "runc": "container with given ID already exists"}
GONE = "container does not exist"


def offsets(first: float, last: float, count: int) -> list[float]:
    return [round(first + (last - first) * i / (count - 1), 4) for i in range(count)]


def race(runtime, a: tuple[str, ...], b: tuple[str, ...], offset: float):
    """Start command a, then b `offset` seconds later (b first if negative);
    both results, and the pids (session ids) of both."""
    first, second, delay = (a, b, offset) if offset >= 0 else (b, a, -offset)
    p1 = runtime.spawn(*first)
    time.sleep(delay)
    p2 = runtime.spawn(*second)
    r1, r2 = p1.finish(), p2.finish()
    if offset >= 0:
        return (r1, r2), (p1.pid, p2.pid)
    return (r2, r1), (p2.pid, p1.pid)


def nothing_left(runtime, cid: str, sessions, bundle, where: str) -> None:
    try:
        for sid in sessions:
            assert_nothing_left(runtime, cid, session=sid, bundle=bundle)
    except AssertionError as err:
        raise AssertionError(f"{where}: {err}") from None


def failed_cleanly(res, allowed: tuple[str, ...], what: str, where: str) -> bool:
    """True if res failed (exit 1) with one of the allowed messages, False if
    it succeeded; anything else (a crash, another status or message) fails
    the test."""
    assert_no_crash(res, f"{what}, {where}")
    if res.returncode == 0:
        return False
    assert res.returncode == 1, f"{what}, {where}: exit {res.returncode}: {res.stderr}"
    assert any(m in res.stderr for m in allowed), f"{what}, {where}: {res.stderr}"
    return True


def _sleep_hook(bundle, stage: str, seconds: str = "0.2") -> None:
    bundle.config["hooks"] = {stage: [{"path": shutil.which("sleep"),
                                       "args": ["sleep", seconds]}]}


# --- two creates of one id ----------------------------------------------------------

# runc 1.1.5 loses this race about one try in five: 60 tries make a pass of
# its strict xfail (a fixed runc, or a broken test) near certain to be real.
REPEATS = 60


def test_two_creates_of_one_id(runtime, bundle, cid, runc_bug):
    runc_bug("create tests whether the state directory exists with stat() and then "
             "MkdirAll()s it (no exclusive mkdir, no lock): two creates of one id can "
             "both pass the test and then both fail ('exec fifo ... already exists', "
             "'file exists'), or one succeeds while the other leaves its init and "
             "cgroups behind, which delete then leaks (hit in about one try out of 5)")
    bundle.config["process"]["args"] = ["true"]
    bundle.write()
    create = ("create", "--bundle", bundle.path, cid)
    for i in range(REPEATS):
        where = f"try {i + 1}"
        (r1, r2), sessions = race(runtime, create, create, 0)
        for r in (r1, r2):
            assert_no_crash(r, where)
        assert sorted([r1.returncode, r2.returncode]) == [0, 1], (where, r1.stderr, r2.stderr)
        loser = r1 if r1.returncode else r2
        assert EXISTS.get(runtime.name, "exists") in loser.stderr, (where, loser.stderr)
        st = runtime.state(cid)
        assert st["status"] == "created" and proc_alive(st["pid"]), (where, st)
        runtime.run("start", cid, check=True)
        assert runtime.wait_status(cid, "stopped") == "stopped", where
        runtime.run("delete", cid, check=True)
        nothing_left(runtime, cid, sessions, bundle, where)


# --- delete --force during start ------------------------------------------------------

# runc 1.1.5, when delete --force kills the init while start waits for it:
# "container process is already dead" (clear enough).
START_FAILS = (GONE, "cannot start a container that has stopped",
               "container process is already dead")


@pytest.mark.parametrize("hook", ["none", "poststart"])
def test_delete_force_during_start(runtime, bundle, cid, hook):
    """start in progress (with a poststart hook, start runs for 0.2 s more
    after releasing the init) while delete --force comes, before or after."""
    bundle.config["process"]["args"] = ["sleep", "30"]
    if hook != "none":
        _sleep_hook(bundle, hook)
    bundle.write()
    span = 0.3 if hook != "none" else 0.1
    for offset in offsets(-0.05, span, 8):
        where = f"delete --force {offset * 1000:+.0f} ms after start"
        runtime.create(bundle, cid, check=True)
        (start, delete), sessions = race(runtime, ("start", cid), ("delete", "--force", cid),
                                         offset)
        failed_cleanly(start, START_FAILS, "start", where)
        assert not failed_cleanly(delete, (), "delete --force", where)
        # delete --force succeeded, and start is over: the container is gone.
        assert state_or_absent(runtime, cid, where) is None, where
        nothing_left(runtime, cid, sessions, bundle, where)
        delete_force(runtime, cid, where)


# --- kill during delete -----------------------------------------------------------------

KILL_FAILS = (GONE, "container not running")


@pytest.mark.parametrize("kill", [("KILL",), ("TERM",), ("--all", "KILL")],
                         ids=["KILL", "TERM", "all-KILL"])
def test_kill_during_delete(runtime, bundle, cid, kill):
    """A running container with a few processes; delete --force and kill at
    offsets around each other."""
    bundle.config["process"]["args"] = ["sh", "-c", "sleep 30 & sleep 30 & wait"]
    bundle.write()
    args = ("kill",) + kill[:-1] + (cid, kill[-1])
    for offset in offsets(-0.01, 0.02, 6) + offsets(0.03, 0.12, 4):
        where = f"kill {' '.join(kill)} {offset * 1000:+.0f} ms after delete --force"
        runtime.create(bundle, cid, check=True)
        runtime.run("start", cid, check=True)
        (delete, killed), sessions = race(runtime, ("delete", "--force", cid), args, offset)
        failed_cleanly(killed, KILL_FAILS, "kill", where)
        assert not failed_cleanly(delete, (), "delete --force", where)
        assert state_or_absent(runtime, cid, where) is None, where
        nothing_left(runtime, cid, sessions, bundle, where)


def test_kill_all_while_delete_removes_cgroups(runtime, bundle, cid):
    """The moment of a kill --all that comes while delete removes the
    container's cgroups one hierarchy after the other (or after a delete
    killed there), made still: the init is dead and one hierarchy's
    directory is gone. kill --all finds nothing to signal, cleanly; state
    still answers; delete --force removes the rest. Every hierarchy in turn."""
    bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(bundle, cid, check=True)
    hierarchies = [os.path.dirname(d) for d in cgroup_dirs_for(cid)]
    runtime.run("delete", "--force", cid, check=True)
    assert len(hierarchies) > 0
    for hierarchy in hierarchies:
        where = f"kill --all with {hierarchy}/{cid} removed"
        runtime.create(bundle, cid, check=True)
        runtime.run("start", cid, check=True)
        pid = runtime.state(cid)["pid"]
        os.kill(pid, signal.SIGKILL)
        assert wait_gone(pid), where
        os.rmdir(os.path.join(hierarchy, cid))
        for sig in ("KILL", "TERM"):
            failed_cleanly(runtime.run("kill", "--all", cid, sig), KILL_FAILS, "kill --all", where)
        assert state_or_absent(runtime, cid, where)["status"] == "stopped", where
        delete_force(runtime, cid, where)
        nothing_left(runtime, cid, (), bundle, where)


# --- delete (without --force) during create -----------------------------------------------

DELETE_FAILS = (GONE, "not stopped", "is locked")


@pytest.mark.parametrize("hook", ["none", "prestart"])
def test_delete_during_create(runtime, bundle, cid, hook, runc_bug):
    """delete (no --force) started at offsets across a create (the prestart
    hook keeps create at work, its state directory made, for 0.2 s more): it
    must not take a half-made container from under create. It may wait and
    delete the container once made (a created container may be deleted
    without --force, as runc does), or fail cleanly; either way create
    succeeds, and what is left is consistent."""
    runc_bug("delete without --force removes a state directory that holds no "
             "state.json (delete.go: os.RemoveAll on ErrNotExist, meant for aborted "
             "creates), which is also the directory of a create in progress: that "
             "create then fails ('unable to store init state', 'no such file or "
             "directory')")
    bundle.config["process"]["args"] = ["sleep", "30"]
    if hook != "none":
        _sleep_hook(bundle, hook)
    duration, _ = create_timing(runtime, bundle, cid)
    create = ("create", "--bundle", bundle.path, cid)
    for offset in offsets(0, duration, 10):
        where = f"delete {offset * 1000:.0f} ms after create, of {duration * 1000:.0f} ms"
        (created, deleted), sessions = race(runtime, create, ("delete", cid), offset)
        assert_no_crash(created, where)
        assert created.returncode == 0, f"{where}: create failed: {created.stderr}"
        if failed_cleanly(deleted, DELETE_FAILS, "delete", where):
            st = state_or_absent(runtime, cid, where)
            assert st is not None and st["status"] == "created", (where, st)
            assert proc_alive(st["pid"]), where
        else:
            # delete waited for create and deleted the container it made.
            assert state_or_absent(runtime, cid, where) is None, where
        delete_force(runtime, cid, where)
        nothing_left(runtime, cid, sessions, bundle, where)
