"""The intermediate process: joins and creates namespaces, waits until the
parent has placed it in the container's cgroups, forks the init (PID 1 of a
new PID namespace, which only a child can enter; born in the cgroups), reports
the init's pid and exits. Runs in a forked child and never returns.

It imports the init's code (and ctypes) itself, while the parent writes the
cgroup files: both take ~10 ms here and need not wait for each other.
"""
from __future__ import annotations

import os

from ..linux import namespaces, procfs, syscalls
from . import init
from .launch import Launch
from .sync import Channel, child_fail


def run(launch: Launch, chan: Channel) -> None:
    try:
        # A process that joins the container must not be ptrace-able or have
        # its /proc/PID/exe (the host interpreter) opened by the container.
        syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0)
        _close_inherited(launch, chan)
        if launch.seccomp_profile is not None:
            _build_seccomp(launch, chan)
        joins_userns = any(kind == "user" for kind, _fd, _path in launch.join_fds)
        namespaces.join(launch.join_fds)
        if joins_userns:
            # setns(2) keeps the ids, which mean nothing in the joined user
            # namespace: take its root, so files made in the mounts to come
            # (devpts, /dev) have a mapped owner (else EOVERFLOW).
            _become_root()
        if launch.new_userns:
            # userns first: the namespaces unshared next are then owned by it.
            syscalls.unshare(namespaces.CLONE_NEWUSER)
            chan.send("userns")
            chan.expect("userns-ok")
            _become_root()
        if launch.new_timens:
            # Offsets must be written before any process enters the namespace,
            # by the parent (as runc's stage 0): this process is not dumpable,
            # so in a user namespace its /proc files are not its own to write.
            syscalls.unshare(namespaces.CLONE_NEWTIME)
            chan.send("timens")
            chan.expect("timens-ok")
        if launch.new_ns_flags:
            syscalls.unshare(launch.new_ns_flags)
        chan.expect("cgroup-ok")
        # The init holds until its pid is on the channel: its own first
        # message ("ready" comes quickly for exec) must not reach the parent
        # before the parent knows which process sent it.
        hold_r, hold_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(hold_w)
            go = os.read(hold_r, 1)
            os.close(hold_r)
            if go == b"1":
                init.run(launch, chan)  # never returns
            os._exit(1)  # the intermediate failed: the parent reports it
        os.close(hold_r)
        chan.send("pid", pid=pid)
        os.write(hold_w, b"1")
    except BaseException as err:  # noqa: BLE001 - reported to the parent
        child_fail(chan, err)
    os._exit(0)


def _close_inherited(launch: Launch, chan: Channel) -> None:
    """Close every fd the fork copied from the parent but what the container's
    processes need: the parent's lock on the state directory (which would
    outlive it in the init), its log file, anything else it had open. No fd
    of the parent may be reachable from the container (CVE-2024-21626)."""
    keep = ({chan.fileno(), launch.fifo_fd, launch.console_fd}
            | {fd for _kind, fd, _path in launch.join_fds})
    procfs.close_fds_from(3 + launch.extra_fds, keep, None)


def _build_seccomp(launch: Launch, chan: Channel) -> None:
    """Compile the filter here (libseccomp loaded while the host's library
    path is reachable); the init loads it. Its notes go to the parent's
    debug log."""
    from ..linux import seccomp

    sc = launch.seccomp_profile
    launch.seccomp, notes = seccomp.compile(sc.default_action, sc.default_errno,
                                            sc.architectures, sc.flags, sc.rules)
    for text in notes:
        chan.send("log", level="debug", msg=text)


def _become_root() -> None:
    """Take uid/gid 0 of the new user namespace when the mappings include it;
    the capabilities gained by unshare are enough otherwise."""
    for call in (os.setresgid, os.setresuid):
        try:
            call(0, 0, 0)
        except OSError:
            pass
