"""`exec`: a new process in a running (or created) container. It joins every
namespace of the container (user first, mount last; pid by forking after the
join), is born in the container's cgroup, and gets its own capabilities,
rlimits, seccomp, no_new_privs, user, env and cwd. Any failure is runc's
"exec failed: ..." with exit status 255."""
from __future__ import annotations

import os

from .. import bundle, jsonio, log, state
from ..cgroups import CgroupManager
from ..errors import PyruncError, StateError
from ..linux import namespaces, proc
from ..process import parent
from ..process.launch import Launch
from . import foreground, launching
from .ops import open_container, stored_spec


class ExecOptions:
    """`exec`'s flags, built once by the command handler and passed down as
    they are; `process` goes to bundle.exec_process unless --process names a
    process.json."""

    __slots__ = ("process", "process_file", "console_socket", "pidfd_socket", "detach",
                 "pid_file", "preserve_fds", "cgroup", "ignore_paused")

    def __init__(self, process: bundle.ProcessFlags, process_file: str = "",
                 console_socket: str = "", pidfd_socket: str = "", detach: bool = False,
                 pid_file: str = "", preserve_fds: int = 0, cgroup: list[str] | None = None,
                 ignore_paused: bool = False) -> None:
        self.process = process
        self.process_file = process_file
        self.console_socket = console_socket
        self.pidfd_socket = pidfd_socket
        self.detach = detach
        self.pid_file = pid_file
        self.preserve_fds = preserve_fds
        self.cgroup: list[str] = cgroup or []  # [controller:]path, each
        self.ignore_paused = ignore_paused


def _process(o: ExecOptions, config_process: dict | None) -> bundle.Process:
    if o.process_file:
        try:
            with open(o.process_file, "rb") as f:
                doc = jsonio.loads(f.read())
        except OSError as err:
            raise PyruncError(f"--process {o.process_file}: {err.strerror}") from None
        except ValueError as err:
            raise PyruncError(f"--process {o.process_file}: invalid JSON: {err}") from None
        return bundle.load_process(doc, "process")
    if not o.process.args:
        raise PyruncError("exec: no command given (args or --process)")
    return bundle.exec_process(config_process, o.process)


def exec_process(root: str, cid: str, o: ExecOptions) -> int:
    cdir, record = open_container(root, cid)
    status = cdir.status(record)
    if status == "stopped":
        raise StateError("cannot exec in a stopped container")
    if status == "paused" and not o.ignore_paused:
        raise StateError("cannot exec in a paused container (use --ignore-paused to override)")
    if status == "creating":
        raise StateError("cannot exec in a container that is being created")
    spec = stored_spec(record)
    proc_ = _process(o, (spec.process.raw if spec.process else None))
    launching.check_terminal(proc_.terminal, o.console_socket, o.detach)
    parent.check_extra_fds(o.preserve_fds)
    launch = _plan(spec, record, proc_, o.preserve_fds)
    manager = _cgroup(record, o.cgroup)
    forwarder = foreground.Forwarder()
    if not o.detach:
        forwarder.install()
    with launching.LaunchIo(launch, o.console_socket, o.pidfd_socket) as io:
        _initial_affinity(proc_)
        pid = parent.launch(launch, _Callbacks(manager, record, spec))
        io.pidfd.send(pid)
    master = launching.receive_master(io.receive) if io.receive >= 0 else -1
    if o.pid_file:
        launching.write_pid_file(o.pid_file, pid)
    if o.detach:
        return 0
    forwarder.start(pid)
    if master >= 0:
        return foreground.proxy_and_wait(pid, master, forwarder)
    return foreground.wait(pid)


def _initial_affinity(p: bundle.Process) -> None:
    """process.execCPUAffinity.initial: pyrunc takes it before forking, so
    the intermediate starts with it."""
    initial, _final = p.exec_cpu_affinity
    if initial:
        from ..linux import sched

        cpus = sched.parse_list(initial, "process.execCPUAffinity.initial")
        os.sched_setaffinity(0, cpus)
        # runc's nsexec logs the same line: the intermediate starts with it.
        log.debug(f"nsexec (pyrunc's intermediate): affinity: {sched.affinity_mask(cpus):#x}")


def _plan(spec: bundle.Spec, record: state.Record, p: bundle.Process, extra: int) -> Launch:
    launch = Launch()
    launch.exec_mode = True
    launch.id = record.id
    launch.extra_fds = extra
    launching.plan_process(launch, p)
    launching.plan_linux_process(spec, launch)
    initial, final = p.exec_cpu_affinity
    launch.reset_affinity = not initial and not final
    if final:
        from ..linux import sched

        launch.cpu_affinity = sched.parse_list(final, "process.execCPUAffinity.final")
    launch.join_fds = _join_fds(spec, record)
    return launch


def _join_fds(spec: bundle.Spec, record: state.Record) -> list:
    """Every namespace the container has, through its init's /proc entries;
    the init's start time is checked after opening, so a reused pid cannot
    slip in."""
    pid = record.pid
    out = []
    try:
        for ns in spec.namespaces:
            name = namespaces.proc_name(ns.type)
            out.append((ns.type, namespaces.open_for_join(ns.type, f"/proc/{pid}/ns/{name}"),
                        f"/proc/{pid}/ns/{name}"))
    except PyruncError:
        for _k, fd, _p in out:
            os.close(fd)
        raise
    if not proc.is_alive(pid, record.pid_start):
        for _k, fd, _p in out:
            os.close(fd)
        raise StateError("cannot exec in a stopped container")
    return out


def _cgroup(record: state.Record, sub: list[str]) -> CgroupManager:
    """The container's cgroup, or with --cgroup a sub-cgroup of it
    ("path" for every hierarchy, "controller:path" for one v1 controller)."""
    manager = CgroupManager.from_record(record.cgroup)
    if not sub:
        return manager
    per: dict[str, str] = {}
    for item in sub:
        ctrl, sep, path = item.rpartition(":")
        # runc's words after the flag: "bad sub cgroup path", "unknown
        # controller", "adding pid ...: no such file or directory".
        if ".." in path.split("/"):
            raise PyruncError(f"--cgroup {item!r}: bad sub cgroup path: must not contain '..'")
        for c in (ctrl.split(",") if sep else ["*"]):
            per[c] = path.strip("/")
    known = {c for d in manager.dirs for c in d.key.split(",")} | {"*", ""}
    for c in per:
        if c not in known:
            raise PyruncError(f"--cgroup: unknown controller {c!r}")
    for d in manager.dirs:
        key = next((c for c in per if c in d.key.split(",") or (c == "" and d.version == 2)),
                   "*")
        if key in per:
            d.path = os.path.join(d.path, per[key])
            if not os.path.isdir(d.path):
                raise PyruncError(f"--cgroup: error adding pid to {d.path}: no such file or "
                                  "directory")
    return manager


class _Callbacks(parent.Callbacks):
    def __init__(self, manager: CgroupManager, record: state.Record,
                 spec: bundle.Spec) -> None:
        self.manager = manager
        self.record = record
        self.spec = spec

    def init_started(self, pid: int) -> None:
        pass

    def place_in_cgroup(self, pid: int) -> None:
        self.manager.add(pid)

    def runtime_hooks(self, pid: int) -> None:
        raise PyruncError("exec: hooks are not run for exec'd processes")

    def seccomp_listener(self, pid: int, fd: int) -> None:
        launching.send_to_seccomp_agent(self.spec.seccomp, self.record.oci_state("running"),
                                        pid, fd)
