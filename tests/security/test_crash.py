"""Crash consistency: `create` killed with SIGKILL at any point, as a caller
that crashes or times out would kill it (the create process alone, not its
process group). Whatever the point, `list` and `state` answer without
crashing, `delete --force` removes everything the container had on the host
(state directory, cgroups on every hierarchy, processes, mounts) and the same
id can be created again.

runc 1.1.5 fails these: it writes state.json only once the container is
created, after making its cgroups and starting its init, and `delete --force`
of a directory without state.json removes the directory alone
(opencontainers/runc#4534).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest

from helpers import (STATUSES, assert_no_crash, assert_nothing_left, create_timing,
                     delete_force, state_or_absent)

pytestmark = pytest.mark.usefixtures("reclaimed")

# Kill points per sweep: POINTS from 0 to 1.2 times the measured create
# time, EXTRA more from the moment the state directory appears to the end.
POINTS = 26
EXTRA = 14

RUNC_LEAKS_CGROUPS = (
    "create makes the cgroups and starts the init before it writes state.json; "
    "delete --force of a state directory without state.json removes only the "
    "directory, so a create killed in between leaks the cgroups on every "
    "hierarchy (opencontainers/runc#4534)")


def check_list(runtime, where: str) -> None:
    """`list` never crashes and exits 0, whatever the state directories hold."""
    table = runtime.run("list")
    assert_no_crash(table, where)
    assert table.returncode == 0, f"{where}: list failed: {table.stderr}"
    assert table.stdout.startswith("ID"), where
    out = runtime.run("list", "--format", "json")
    assert_no_crash(out, where)
    assert out.returncode == 0, f"{where}: list failed: {out.stderr}"
    items = json.loads(out.stdout)
    assert items is None or all(i["status"] in STATUSES for i in items), (where, items)


def check_recreate(runtime, bundle, cid: str, where: str) -> None:
    """The id is free again, and its cgroups usable: a new create works."""
    again = runtime.create(bundle, cid)
    assert again.returncode == 0, f"{where}: create again failed: {again.stderr}"
    assert runtime.state(cid)["status"] == "created", where
    delete_force(runtime, cid, where)
    assert_nothing_left(runtime, cid, bundle=bundle)


def kill_create(runtime, bundle, cid: str, delay: float) -> tuple[int, int, list[str] | None]:
    """Start `create`, SIGKILL that process alone after delay seconds:
    (its pid, which is also the session of its children; its exit status;
    what the state directory held right after the kill, None if absent)."""
    create = runtime.spawn("create", "--bundle", bundle.path, cid)
    time.sleep(delay)
    os.kill(create.pid, signal.SIGKILL)
    status = create.finish().returncode
    try:
        held = sorted(os.listdir(os.path.join(runtime.root, cid)))
    except FileNotFoundError:
        held = None
    return create.pid, status, held


def _prestart_sleep(bundle) -> None:
    # Run by the runtime on the host while create is under way: widens the
    # window in which cgroups and the init exist but create has not returned.
    bundle.config["hooks"] = {"prestart": [{"path": shutil.which("sleep"),
                                            "args": ["sleep", "0.2"]}]}


def _user_namespace(bundle) -> None:
    # The intermediate waits for its id maps: one more exchange with the parent.
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    for key in ("uidMappings", "gidMappings"):
        bundle.config["linux"][key] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


VARIANTS = {"plain": None, "prestart-hook": _prestart_sleep, "userns": _user_namespace}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_create_killed_at_any_point(runtime, bundle, cid, variant, runc_bug):
    """After each kill: list and state answer, delete --force removes all the
    container had (the killed create's children included, which may not
    have reached the cgroups), and the id can be created again. With a
    prestart hook that sleeps (create waits with cgroups and init made) and
    with a user namespace (one more exchange with the intermediate)."""
    runc_bug(RUNC_LEAKS_CGROUPS)
    bundle.config["process"]["args"] = ["sleep", "30"]
    if VARIANTS[variant]:
        VARIANTS[variant](bundle)
    duration, reserved = create_timing(runtime, bundle, cid)
    kill_sweep(runtime, bundle, cid, duration, reserved,
               lambda where: check_recreate(runtime, bundle, cid, where))


def test_failing_create_killed_at_any_point(runtime, bundle, cid, runc_bug):
    """A create that fails (its prestart hook exits 1) undoes what it made
    before it returns: killed at any point of that too, delete --force
    removes the rest; afterwards, without the hook, the id can be created."""
    runc_bug(RUNC_LEAKS_CGROUPS)
    bundle.config["process"]["args"] = ["sleep", "30"]
    bundle.config["hooks"] = {"prestart": [{"path": shutil.which("sh"),
                                            "args": ["sh", "-c", "sleep 0.05; exit 1"]}]}
    duration, reserved = create_timing(runtime, bundle, cid, status=1)
    kill_sweep(runtime, bundle, cid, duration, reserved, lambda where: None)
    del bundle.config["hooks"]
    check_recreate(runtime, bundle, cid, "after the sweep")


def kill_sweep(runtime, bundle, cid: str, duration: float, reserved: float, after) -> None:
    """Kill create at delays spread over the whole create, and denser where
    it works on the host; after each kill, the checks, then after(where)."""
    delays = sorted([1.2 * duration * i / (POINTS - 1) for i in range(POINTS)]
                    + [reserved + (duration - reserved) * i / EXTRA for i in range(EXTRA)])
    interrupted = 0
    for delay in delays:
        sid, status, held = kill_create(runtime, bundle, cid, delay)
        where = (f"create killed after {delay * 1000:.0f} ms of {duration * 1000:.0f} ms "
                 f"(exit {status}, state directory: {held})")
        if status == -signal.SIGKILL and held is not None:
            interrupted += 1
        check_list(runtime, where)
        state_or_absent(runtime, cid, where)
        delete_force(runtime, cid, where)
        try:
            assert_nothing_left(runtime, cid, session=sid, bundle=bundle)
        except AssertionError as err:
            raise AssertionError(f"{where}: {err}") from None
        after(where)
    # Not a vacuous sweep: some kills landed while create was at work.
    assert interrupted >= 5, f"only {interrupted} kills interrupted create at work"


@pytest.mark.parametrize("held", [[], ["exec.fifo"], ["partial-temp-file"]],
                         ids=["empty", "fifo-only", "partial-temp-file"])
def test_state_dir_without_state_json(runtime, bundle, cid, held):
    """What a create killed right after reserving the directory leaves (and
    a moment later: runc makes the exec fifo first, both write state.json to
    a temp file before renaming it into place)."""
    path = os.path.join(runtime.root, cid)
    os.makedirs(path)
    for name in held:
        if name == "exec.fifo":
            os.mkfifo(os.path.join(path, name), 0o622)
        else:
            for temp in (".state.json.12345", "state-12345"):  # pyrunc's, runc's
                with open(os.path.join(path, temp), "w") as f:
                    f.write('{"ociVersion": "1.0.2", "id": "')
    where = f"state directory holding {held}"
    check_list(runtime, where)  # shown or skipped, but no crash
    assert state_or_absent(runtime, cid, where) is None
    kill = runtime.run("kill", cid, "KILL")
    assert_no_crash(kill, where)
    assert kill.returncode == 1 and "container does not exist" in kill.stderr, kill.stderr
    delete_force(runtime, cid, where)
    assert not os.path.exists(path)
    assert_nothing_left(runtime, cid, bundle=bundle)
    check_recreate(runtime, bundle, cid, where)
