"""The create operation (runtime.md#runtimeCreate): from a bundle to an init
process blocked before execve, with state recorded for later commands.

Orchestration only: the kernel work is in linux/, cgroups/ and process/.
Nothing is left behind when it fails (runtime.md#runtimeErrors).
"""
from __future__ import annotations

import os

from .. import OCI_VERSION, bundle, hooks, log, state
from ..cgroups import FROZEN, CgroupManager
from ..cgroups import devices as cgdevices
from ..errors import ContainerExists, PyruncError
from ..linux import mountinfo, namespaces, proc
from ..process import parent
from ..process.launch import Launch
from . import launching


class CreateOptions:
    """`create` and `run`'s flags, built once by the command handler."""

    __slots__ = ("bundle", "pid_file", "console_socket", "pidfd_socket", "no_pivot",
                 "no_new_keyring", "preserve_fds", "systemd_cgroup", "rootless", "detach")

    def __init__(self, bundle: str = ".", pid_file: str = "", console_socket: str = "",
                 no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0,
                 systemd_cgroup: bool = False, rootless: str = "auto",
                 detach: bool = True, pidfd_socket: str = "") -> None:
        self.bundle = bundle or "."
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.pidfd_socket = pidfd_socket
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds
        self.systemd_cgroup = systemd_cgroup
        self.rootless = rootless
        # False: `run` in the foreground, where a terminal without
        # --console-socket is proxied to the caller's own.
        self.detach = detach


class Created:
    """What create hands to `run`: the container, its init, and (foreground
    `run` with a proxied terminal) the socket the pty master arrives on."""

    def __init__(self, cdir: state.ContainerDir, record: state.Record, pid: int) -> None:
        self.cdir = cdir
        self.record = record
        self.pid = pid
        self.console = -1  # launching.receive_master takes it


def create(root: str, cid: str, opts: CreateOptions) -> Created:
    cdir = state.ContainerDir(root, cid)  # validates the id
    if opts.preserve_fds < 0:
        raise PyruncError("--preserve-fds: must not be negative")
    listen = launching.listen_fds()
    parent.check_extra_fds(listen + opts.preserve_fds)
    spec = bundle.load(opts.bundle)
    launching.check_terminal(spec.process is not None and spec.process.terminal,
                             opts.console_socket, opts.detach)
    launch = plan_init(spec, cid, opts, listen)
    with launching.LaunchIo(launch, opts.console_socket, opts.pidfd_socket) as io:
        created = _create(cdir, spec, launch, opts, io.pidfd)
    created.console = io.receive
    return created


def _create(cdir: state.ContainerDir, spec: bundle.Spec, launch: Launch,
            opts: CreateOptions, pidfd: launching.PidfdSocket) -> Created:
    cid = cdir.id
    if cdir.exists():
        # The id's own error comes first (its cgroup would be busy too);
        # reserve() below is the check that counts.
        raise ContainerExists(cid)
    manager = CgroupManager.for_container(spec.cgroups_path, cid, opts.rootless == "true",
                                          opts.systemd_cgroup)
    busy = manager.processes_inside()
    if busy:
        if cdir.exists():  # a create of this id that got there first
            raise ContainerExists(cid)
        # delete would kill them with the container (runc's check and words).
        raise PyruncError(f"linux.cgroupsPath: container's cgroup is not empty: {busy} "
                          "process(es) found")
    rules = _device_rules(spec)
    cdir.reserve()
    # Held until create returns: a delete, start or second create of this id
    # waits for the outcome instead of seeing a half-made container.
    cdir.lock()
    manager.reserve()
    record = _initial_record(spec, cid, manager)
    pid = 0
    try:
        # Every cgroup it will make is on disk before it makes any, so that
        # `delete --force` undoes a create killed at any point.
        cdir.save(record)
        os.mkfifo(cdir.fifo_path, 0o622)
        os.chmod(cdir.fifo_path, 0o622)  # mkfifo is subject to the umask
        manager.create()
        if manager.state() == FROZEN:
            # Our own intermediate would be frozen there, and create with it.
            raise PyruncError("container's cgroup unexpectedly frozen")
        record.cgroup = manager.record()
        manager.enable_controllers()
        if spec.intel_rdt is not None:
            from ..linux import resctrl

            record.intel_rdt = resctrl.setup(cid, *spec.intel_rdt).record()
            cdir.save(record)
        launch.cgroup_views = manager.views()
        launch.fifo_fd = os.open(cdir.fifo_path, os.O_PATH | os.O_CLOEXEC)
        try:
            pid = parent.launch(launch, _Callbacks(cdir, record, manager, spec, rules))
        finally:
            os.close(launch.fifo_fd)
        pidfd.send(pid)
        record.creating = False
        cdir.save(record)
        if opts.pid_file:
            launching.write_pid_file(opts.pid_file, pid)
        return Created(cdir, record, pid)
    except BaseException:
        _undo(cdir, manager, pid, record)
        raise
    finally:
        cdir.unlock()


def _undo(cdir: state.ContainerDir, manager: CgroupManager, pid: int,
          record: state.Record) -> None:
    if pid:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    try:
        from .ops import unmount_host_mounts

        unmount_host_mounts(record)
        if pid and manager.state() == FROZEN:
            # Frozen processes do not die (cgroup v1): thaw so the kill works.
            # Without an init there is nothing to kill, and a cgroup that was
            # frozen before create stays as it was.
            manager.thaw()
        manager.destroy()
        if record.intel_rdt:
            from ..linux import resctrl

            resctrl.remove(record.intel_rdt)
    except Exception as err:  # noqa: BLE001 - whatever it was, say so and keep the record
        # The state directory stays: its record is what lets
        # `delete --force` remove the rest later.
        log.warning(f"cleaning up after failed create: {err}; `delete --force "
                    f"{cdir.id}` removes what is left")
        return
    cdir.remove()
    # runtime.md#runtimeLifecycle: a failed create continues at step 12
    # (destroy), so the poststop hooks run.
    from .ops import run_poststop

    run_poststop(record)


class _Callbacks(parent.Callbacks):
    def __init__(self, cdir: state.ContainerDir, record: state.Record,
                 manager: CgroupManager, spec: bundle.Spec,
                 device_rules: list[cgdevices.Rule]) -> None:
        self.cdir = cdir
        self.record = record
        self.manager = manager
        self.spec = spec
        self.device_rules = device_rules

    def init_started(self, pid: int) -> None:
        # Recorded at once, so `delete --force` can find the init even if this
        # process is killed before create completes.
        self.record.pid = pid
        self.record.pid_start = proc.start_time(pid)
        self.cdir.save(self.record)
        # Limits once the init is in the cgroup (as runc): a memory limit below
        # what is in use is refused by the kernel with a clear error instead of
        # the init being OOM-killed as it joins, and a pids limit does not keep
        # the intermediate from forking the init.
        self.manager.apply(self.spec.resources)
        if self.spec.net_devices:
            from ..linux import netdev

            netdev.move(self.spec.net_devices, pid)

    def place_in_cgroup(self, pid: int) -> None:
        # The intermediate runs only pyrunc's code; the device rules are in
        # place before it forks the init.
        self.manager.add(pid)
        self.manager.apply_devices(self.device_rules)
        rdt = self.record.intel_rdt
        if rdt:
            from ..linux import resctrl

            resctrl.add(rdt, pid)

    def idle(self) -> None:
        if self.manager.state() == FROZEN:
            # Thawed, or the kill that undoes create would wait for ever
            # (frozen tasks on cgroup v1 die only once thawed).
            try:
                self.manager.thaw()
            except PyruncError:
                pass
            raise PyruncError("container's cgroup unexpectedly frozen")

    def seccomp_listener(self, pid: int, fd: int) -> None:
        state_obj = self.record.oci_state("creating")
        state_obj["pid"] = pid
        launching.send_to_seccomp_agent(self.spec.seccomp, state_obj, pid, fd)

    def runtime_hooks(self, pid: int) -> None:
        state_obj = self.record.oci_state("creating")
        state_obj["pid"] = pid
        hooks.run_all("prestart", self.spec.hooks["prestart"], state_obj)
        hooks.run_all("createRuntime", self.spec.hooks["createRuntime"], state_obj)


def _initial_record(spec: bundle.Spec, cid: str, manager: CgroupManager) -> state.Record:
    me = os.getpid()
    return state.Record(
        oci_version=spec.oci_version or OCI_VERSION,
        id=cid,
        bundle=spec.bundle,
        rootfs=spec.root_path,
        created=state.rfc3339_now(),
        annotations=spec.annotations,
        creating=True,
        creator_pid=me,
        creator_start=proc.start_time(me),
        private_pidns=spec.has_new_namespace("pid"),
        poststart=bool(spec.hooks["poststart"]),
        poststop=bool(spec.hooks["poststop"]),
        config=spec.raw,
        cgroup=manager.record(),
        host_mounts=_host_mounts_record(spec),
    )


def _host_mounts_record(spec: bundle.Spec) -> dict | None:
    """Without a mount namespace of its own the container's mounts are made in
    the runtime's: what is mounted under the rootfs now is not the
    container's, and delete leaves it (rootfs.unmount_added)."""
    if spec.namespace("mount") is not None or not spec.mounts:
        return None
    root = os.path.realpath(spec.root_path)
    return {"root": root, "before": [m.id for m in mountinfo.under(mountinfo.read(), root)]}


def plan_init(spec: bundle.Spec, cid: str, opts: CreateOptions, listen: int) -> Launch:
    """Resolve everything the init needs, so errors surface before any fork;
    the config's decisions become plain values of the Launch."""
    # config.md#configProcess: process is REQUIRED only when start is called;
    # without it the container is created and `start` fails (the init does).
    p = spec.process
    launch = Launch()
    launch.id = cid
    launch.no_pivot = opts.no_pivot
    launch.no_new_keyring = opts.no_new_keyring
    launch.extra_fds = listen + opts.preserve_fds
    if p is not None:
        launching.plan_process(launch, p)
    if listen:
        launch.env = [e for e in launch.env if not e.startswith(("LISTEN_FDS=", "LISTEN_PID="))]
        launch.env += [f"LISTEN_FDS={listen}", "LISTEN_PID=1"]
    _plan_namespaces(spec, launch)
    _plan_rootfs(spec, launch)
    _plan_hooks(spec, cid, launch)
    if spec.has_new_namespace("pid"):
        launch.init_pid_in_container = 1
    launching.plan_linux_process(spec, launch)
    return launch


def _plan_rootfs(spec: bundle.Spec, launch: Launch) -> None:
    launch.root_path = spec.root_path
    launch.root_readonly = spec.root_readonly
    launch.rootfs_propagation = spec.rootfs_propagation
    launch.bundle = spec.bundle
    launch.mounts = spec.mounts
    launch.mount_label = spec.mount_label
    launch.setup_dev = not any(m.destination.rstrip("/") == "/dev" and m.is_bind
                               for m in spec.mounts)
    launch.devices = spec.devices
    launch.readonly_paths = spec.readonly_paths
    launch.masked_paths = spec.masked_paths
    launch.sysctl = spec.sysctl
    if spec.namespace("uts") is not None:
        # Without a UTS namespace of its own they would be the host's.
        launch.hostname = spec.hostname
        launch.domainname = spec.domainname


def _plan_hooks(spec: bundle.Spec, cid: str, launch: Launch) -> None:
    launch.runtime_hooks = bool(spec.hooks["prestart"] or spec.hooks["createRuntime"])
    launch.create_container_hooks = spec.hooks["createContainer"]
    launch.start_container_hooks = spec.hooks["startContainer"]
    launch.hook_state = {"ociVersion": spec.oci_version, "id": cid, "bundle": spec.bundle,
                         "annotations": spec.annotations}


def _plan_namespaces(spec: bundle.Spec, launch: Launch) -> None:
    flags = 0
    for ns in spec.namespaces:
        if ns.path:
            launch.join_fds.append((ns.type, namespaces.open_for_join(ns.type, ns.path),
                                    ns.path))
        elif ns.type == "user":
            launch.new_userns = True
        elif ns.type == "time":
            launch.new_timens = True
        elif ns.type == "cgroup":
            launch.new_cgroupns = True
        else:
            flags |= namespaces.clone_flag(ns.type)
    launch.new_ns_flags = flags
    launch.uid_map = "".join(m.line() for m in spec.uid_mappings)
    launch.gid_map = "".join(m.line() for m in spec.gid_mappings)
    launch.time_offsets = spec.time_offsets
    launch.has_cgroupns = spec.namespace("cgroup") is not None
    launch.new_netns = spec.has_new_namespace("network")
    launch.has_mountns = spec.namespace("mount") is not None
    launch.in_userns = spec.namespace("user") is not None or proc.in_user_namespace()


def _device_rules(spec: bundle.Spec) -> list[cgdevices.Rule]:
    return cgdevices.effective_rules(spec.device_rules)
