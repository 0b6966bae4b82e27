"""The operations on an existing container: state, start, kill, delete, list
(runtime.md#runtimeOperations), with runc's error phrases, which callers
match on (containerd: "does not exist", "container not running")."""
from __future__ import annotations

import _signal
import os
import select

from .. import log, state
from ..errors import ContainerNotExist, ContainerNotRunning, PyruncError, StateError
from ..linux import proc

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from ..cgroups import CgroupManager


def open_container(root: str, cid: str) -> tuple[state.ContainerDir, state.Record]:
    cdir = state.ContainerDir(root, cid)
    return cdir, cdir.load()


def query(root: str, cid: str) -> dict:
    """runtime.md#runtimeQueryState."""
    cdir, record = open_container(root, cid)
    return record.oci_state(cdir.status(record))


# --- start ---------------------------------------------------------------------

def start(root: str, cid: str) -> None:
    """runtime.md#runtimeStart: release the init blocked on the exec fifo."""
    cdir, record = open_container(root, cid)
    cdir.lock()
    try:
        status = cdir.status(record)
        if status != "created":
            raise StateError({
                "stopped": "cannot start a container that has stopped",
                "running": "cannot start an already running container",
            }.get(status, f"cannot start a container in the {status} state"))
        # runtime.md#runtimeStart errors without a process: the init reports
        # that to this `start` and exits, so the container is then stopped.
        try:
            release(cdir, record)
        except HookFailed:
            # runtime.md#runtimeLifecycle step 7: stop, destroy (step 12), poststop.
            _wait_init_gone(record)
            destroy(cdir, record)
            raise
        if record.poststart:
            run_poststart(cdir, record, stored_spec(record))
    finally:
        cdir.unlock()


def release(cdir: state.ContainerDir, record: state.Record) -> None:
    """Open the exec fifo for reading, which unblocks the init, and wait for
    the init to execve (EOF: its close-on-exec write end went away) or to
    report why it could not (text in the fifo)."""
    fifo = os.open(cdir.fifo_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        pidfd = _pidfd(record)
        try:
            message = _await_exec(fifo, pidfd)
        finally:
            if pidfd >= 0:
                os.close(pidfd)
    finally:
        os.close(fifo)
    try:
        os.unlink(cdir.fifo_path)  # from now on the status is "running"
    except FileNotFoundError:
        pass
    if message is not None:
        if message.startswith("H"):
            raise HookFailed(message[1:])
        raise PyruncError(message[1:] if message[:1] == "E" else message)


class HookFailed(PyruncError):
    """A startContainer hook failed in the init."""


def _await_exec(fifo: int, pidfd: int) -> str | None:
    """None when the program was exec'd; the error text otherwise."""
    poller = select.poll()
    poller.register(fifo, select.POLLIN)
    if pidfd >= 0:
        poller.register(pidfd, select.POLLIN)
    data = b""
    init_gone = False
    while True:
        events = dict(poller.poll(100 if init_gone else None))
        ev = events.get(fifo, 0)
        if ev & select.POLLIN:
            chunk = os.read(fifo, 4096)
            data += chunk
            if chunk:
                continue
        if ev & (select.POLLHUP | select.POLLERR):
            data += _read_rest(fifo)
            return data.decode(errors="replace") if data else None
        if pidfd >= 0 and pidfd in events:
            poller.unregister(pidfd)
            init_gone = True
            continue
        if init_gone and not events:
            # The init died without ever opening the fifo.
            return "Ecannot start a container that has stopped"


def _read_rest(fd: int) -> bytes:
    out = b""
    try:
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return out
            out += chunk
    except BlockingIOError:
        return out


def _pidfd(record: state.Record) -> int:
    """A pidfd for the recorded init, or -1 if that process is gone."""
    try:
        fd = os.pidfd_open(record.pid)
    except (ProcessLookupError, OSError):
        return -1
    # The pid may have been reused since it was recorded.
    if not proc.is_alive(record.pid, record.pid_start):
        os.close(fd)
        return -1
    return fd


def run_poststart(cdir: state.ContainerDir, record: state.Record, spec) -> None:
    """runtime.md#runtimeLifecycle step 9: a failing poststart hook is an
    error, and the container is stopped and destroyed (step 12)."""
    from .. import hooks

    try:
        hooks.run_all("poststart", spec.hooks["poststart"], record.oci_state("running"))
    except PyruncError:
        _kill_init(record, 9)
        _wait_init_gone(record)
        destroy(cdir, record)
        raise


def stored_spec(record: state.Record):
    """The config as it was at create (later edits of config.json must not
    affect the container: runtime.md#runtimeCreate)."""
    from .. import bundle

    return bundle.Spec(record.config, record.bundle)


# --- kill ---------------------------------------------------------------------

def kill(root: str, cid: str, signum: int, all_processes: bool = False) -> None:
    """runtime.md#runtimeKill."""
    cdir, record = open_container(root, cid)
    status = cdir.status(record)
    if all_processes:
        # runc <= 1.1 and what Podman and CRI expect: every process in the
        # cgroup; a stopped container is not an error.
        cgroup_manager(record).kill_all(signum)
        return
    if signum == 9 and not record.private_pidns:
        # Without a pid namespace of its own the init's death takes nobody
        # with it (pid_namespaces(7)): SIGKILL goes to every process in the
        # container's cgroup, as in runc 1.2+, even after the init is gone.
        if not cgroup_manager(record).kill_all(signum) and status == "stopped":
            raise ContainerNotRunning()
        return
    if status not in ("created", "running", "paused"):
        raise ContainerNotRunning()
    if not _kill_init(record, signum):
        raise ContainerNotRunning()
    if signum == 9 and status == "paused":
        # A frozen process cannot die: thaw it so SIGKILL takes effect (runc 1.2).
        thaw(record)


def cgroup_manager(record: state.Record) -> CgroupManager:
    """The container's cgroup manager, of the driver its record names."""
    from ..cgroups import CgroupManager

    return CgroupManager.from_record(record.cgroup)


def _kill_init(record: state.Record, signum: int) -> bool:
    fd = _pidfd(record)
    if fd < 0:
        return False
    try:
        _signal.pidfd_send_signal(fd, signum)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(fd)


def _wait_init_gone(record: state.Record, timeout: float = 10.0) -> None:
    fd = _pidfd(record)
    if fd < 0:
        return
    try:
        if not select.select([fd], [], [], timeout)[0]:
            raise PyruncError(f"container init (pid {record.pid}) did not exit within "
                              f"{timeout:.0f}s of SIGKILL")
    finally:
        os.close(fd)


# --- delete ---------------------------------------------------------------------

def delete(root: str, cid: str, force: bool = False) -> None:
    """runtime.md#runtimeDelete: only a stopped container, unless --force
    (runc: a created one is killed first)."""
    cdir = state.ContainerDir(root, cid)
    if not cdir.exists():
        if force:
            return
        raise ContainerNotExist(cid)
    cdir.lock()
    try:
        try:
            record = cdir.load()
        except ContainerNotExist:
            # A create that died before writing any state: nothing but the directory.
            if not force:
                raise
            cdir.remove()
            return
        status = cdir.status(record)
        if status not in ("stopped", "created") and not force:
            raise StateError(f"cannot delete container {cid} that is not stopped: {status}")
        if status != "stopped":
            _stop(record, status)
        destroy(cdir, record)
    finally:
        cdir.unlock()


def _stop(record: state.Record, status: str) -> None:
    if status == "paused":
        thaw(record)
    _kill_init(record, 9)
    if not record.private_pidns or status == "creating":
        cgroup_manager(record).kill_all(9)
    _wait_init_gone(record)


def thaw(record: state.Record) -> None:
    """Thaw a paused container so that SIGKILL takes effect; a cgroup gone or
    without a freezer is nothing to thaw."""
    try:
        cgroup_manager(record).thaw()
    except (OSError, PyruncError):
        pass


def destroy(cdir: state.ContainerDir, record: state.Record) -> None:
    """runtime.md#runtimeLifecycle step 12-13: undo create, then poststop hooks
    (whose failures are warnings only)."""
    manager = cgroup_manager(record)
    if not record.private_pidns:
        # Without a PID namespace the init's death does not take the rest along.
        manager.kill_all(9)
    unmount_host_mounts(record)
    manager.destroy()
    if record.intel_rdt:
        from ..linux import resctrl

        resctrl.remove(record.intel_rdt)
    cdir.remove()
    run_poststop(record)


def unmount_host_mounts(record: state.Record) -> None:
    """runtime.md#runtimeLifecycle step 12 (undo create): a container without
    a mount namespace of its own made its mounts in the runtime's; take them
    away (runc leaves them)."""
    hm = record.host_mounts
    if hm:
        from ..linux import rootfs

        rootfs.unmount_added(hm["root"], set(hm["before"]))


def run_poststop(record: state.Record) -> None:
    """runtime.md#runtimeLifecycle step 13: failures are warnings only."""
    if not record.poststop:
        return
    from .. import hooks

    for failure in hooks.run_each("poststop", stored_spec(record).hooks["poststop"],
                                  record.oci_state("stopped")):
        log.warning(f"poststop hook failed: {failure}")


# --- list -----------------------------------------------------------------------

def list_states(root: str, root_given: bool) -> list[dict]:
    """States of every container under root (runc list)."""
    if root_given and not os.path.isdir(root):
        raise PyruncError(f"open {root}: no such file or directory")
    out = []
    for cid in state.list_ids(root):
        cdir = state.ContainerDir(root, cid)
        try:
            record = cdir.load()
        except (ContainerNotExist, PyruncError):
            continue
        item = record.oci_state(cdir.status(record))
        item["owner"] = _owner(cdir.path)
        out.append(item)
    return out


def _owner(path: str) -> str:
    try:
        uid = os.stat(path).st_uid
    except OSError:
        return ""
    try:
        with open("/etc/passwd") as f:
            for line in f:
                fields = line.split(":")
                if len(fields) > 2 and fields[2] == str(uid):
                    return fields[0]
    except OSError:
        pass
    return f"#{uid}"
