"""The parent's side of the process model: fork the intermediate, answer its
requests over the sync channel, place the intermediate in the container's
cgroups (the init is born there), run the
runtime-namespace create hooks, and wait until the init reports ready.

Any failure kills what was started; the caller undoes the rest.
"""
from __future__ import annotations

import os

from .. import log
from ..errors import ProcessStartError, PyruncError
from ..linux import namespaces
from .launch import Launch
from .sync import Channel, child_fail


class Callbacks:
    """What the parent does at each point; container/create.py and exec.py supply these."""

    def init_started(self, pid: int) -> None:  # record the pid before anything can fail
        raise NotImplementedError

    def place_in_cgroup(self, pid: int) -> None:  # the intermediate; the init inherits
        raise NotImplementedError

    def runtime_hooks(self, pid: int) -> None:
        raise NotImplementedError

    def seccomp_listener(self, pid: int, fd: int) -> None:  # hand the notify fd to the agent
        raise NotImplementedError

    def idle(self) -> None:
        """Called after each second the children are silent: raise if they
        can never answer (their cgroup was frozen, say). No wait without an
        end."""


def launch(spec_launch: Launch, callbacks: Callbacks) -> int:
    """Start the container's init; return its host pid once it is blocked
    before execve with everything in place."""
    parent_chan, child_chan = Channel.pair()
    log.flush_stdio()
    # Become the subreaper: when the intermediate exits, the init becomes our
    # child, so a failure can be cleaned up (and `run` can wait for it).
    set_child_subreaper()
    # The debug milestones are worded as runc's (its tests look for them):
    # pyrunc's intermediate is what runc calls nsexec.
    log.debug("nsexec container setup: forking the intermediate "
              f"({'exec' if spec_launch.exec_mode else 'init'} of {spec_launch.id})")
    pid = os.fork()
    if pid == 0:
        parent_chan.close()
        try:
            from . import intermediate  # imports ctypes and the init's code: ~10 ms

            intermediate.run(spec_launch, child_chan)
        except BaseException as err:  # noqa: BLE001
            child_fail(child_chan, err)
        os._exit(1)
    child_chan.close()
    init_pid = 0
    try:
        # The intermediate goes into the cgroups (writing cgroup.procs waits for
        # an RCU grace period, ~10 ms) while it imports and unshares; the init
        # it forks afterwards is born inside them.
        callbacks.place_in_cgroup(pid)
        parent_chan.send("cgroup-ok")
        init_pid = _await_init_pid(parent_chan, pid, spec_launch, callbacks)
        log.debug(f"child process in init(): pid {init_pid}")
        callbacks.init_started(init_pid)
        while True:
            msg = _next(parent_chan, callbacks)
            kind = msg.get("type")
            if kind == "hooks":
                callbacks.runtime_hooks(init_pid)
                parent_chan.send("hooks-done")
            elif kind == "seccomp-fd":
                fd = msg.get("fd")
                if fd is None:
                    raise ProcessStartError("sync channel: seccomp-fd without an fd")
                try:
                    callbacks.seccomp_listener(init_pid, fd)
                finally:
                    os.close(fd)
                parent_chan.send("seccomp-ok")
            elif kind == "ready":
                if spec_launch.exec_mode:
                    log.debug(f"setns_init: about to exec (pid {init_pid} is set up)")
                else:
                    log.debug(f"init: closing the pipe to signal completion (pid {init_pid} "
                              "is set up)")
                if spec_launch.exec_mode:
                    _await_execve(parent_chan)
                return init_pid
            else:
                raise ProcessStartError(f"sync channel: unexpected message {kind!r}")
    except BaseException:
        _kill_and_reap(init_pid)
        _kill_and_reap(pid)
        raise
    finally:
        parent_chan.close()


def _await_init_pid(chan: Channel, intermediate: int, launch: Launch,
                    callbacks: Callbacks) -> int:
    """The init's pid; the intermediate is reaped. On any failure (a uid_map
    the kernel refuses, say) the intermediate is killed first: it may be
    blocked waiting for an answer that will not come."""
    try:
        pid = _next_init_pid(chan, intermediate, launch, callbacks)
    except BaseException:
        _kill_and_reap(intermediate)
        raise
    _reap(intermediate)
    return pid


def _next_init_pid(chan: Channel, intermediate: int, launch: Launch,
                   callbacks: Callbacks) -> int:
    while True:
        msg = _next(chan, callbacks)
        kind = msg.get("type")
        if kind == "userns":
            namespaces.write_id_maps(intermediate, launch.uid_map, launch.gid_map)
            chan.send("userns-ok")
        elif kind == "timens":
            namespaces.write_time_offsets(intermediate, launch.time_offsets)
            chan.send("timens-ok")
        elif kind == "pid":
            return int(msg["pid"])
        else:
            raise ProcessStartError(f"sync channel: unexpected message {kind!r}")


def _await_execve(chan: Channel) -> None:
    """`exec`: EOF means the process's execve closed its end of the channel
    (close-on-exec); an error message means execve failed."""
    got = chan.recv()
    if got is not None:
        msg = got[0]
        raise ProcessStartError(str(msg.get("msg", "unknown error")))


def set_child_subreaper() -> None:
    import prctl

    prctl.set_child_subreaper(1)


def _next(chan: Channel, callbacks: Callbacks) -> dict:
    """The next message that needs an answer; log lines from the children are
    written on the way."""
    while True:
        while not chan.readable(1.0):
            callbacks.idle()
        msg = chan.expect_any()
        if msg.get("type") != "log":
            return msg
        log.LOG.write(str(msg.get("level", "warning")), str(msg.get("msg")))


def _reap(pid: int) -> None:
    if pid <= 0:
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _kill_and_reap(pid: int) -> None:
    if pid <= 0:
        return
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    _reap(pid)


def check_extra_fds(count: int) -> None:
    """--preserve-fds N and LISTEN_FDS pass fds 3.. through: each must be open,
    or a file of ours could take its number and leak into the container."""
    for fd in range(3, 3 + count):
        try:
            os.fstat(fd)
        except OSError:
            raise PyruncError(f"unable to stat preserved-fd {fd - 3} (of {count}): "
                              f"fd {fd} is not open") from None


__all__ = ["launch", "Callbacks", "check_extra_fds"]
