"""The container's init: PID 1 of the container (when it has a PID namespace).

It runs the setup steps in one explicit, ordered list, reports "ready" to the
parent and blocks opening the exec fifo for writing. `start` opens the fifo
for reading; the init then runs the startContainer hooks and execve()s the
user's program. The write end is close-on-exec, so `start` sees EOF exactly
when execve succeeded; on failure the init writes the error into the fifo.

Forked from the intermediate; never returns.
"""
from __future__ import annotations

import errno
import os
import stat

# Everything the init runs is imported here, in the parent, before the fork:
# once the init has joined a mount namespace or switched root, the host's
# Python library is out of reach.
from .. import hooks
from ..errors import ConfigError, PyruncError
from ..linux import (capabilities, console, devices, finalize, lsm, namespaces, netlink, paths,
                     procfs, rlimits, rootfs, signals, sysctl)
from ..linux import syscalls as sc
from ..linux import users
from .launch import Launch
from .sync import Channel, child_fail

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Init:
    """State the steps share while the init sets itself up."""

    def __init__(self, launch: Launch, chan: Channel) -> None:
        self.launch = launch
        self.chan = chan
        self.rootfd = -1
        self.executable = ""
        self.read_only_later: list[tuple[int, str]] = []  # (mounts index, destination)
        self.env = list(launch.env)
        self.fifo_fd = -1
        # A private procfs for our own writes and fd re-opens (procfs.py).
        self.proc: procfs.ProcHandle | None = None
        self.caller_umask = os.umask(0o022)  # 0022 while building the rootfs

    # --- the steps, in the order steps() lists them ----------------------------
    def nondumpable(self) -> None:
        # The host interpreter is /proc/self/exe: nothing in the container may
        # open it (CVE-2019-5736) or ptrace us before execve.
        sc.prctl(sc.PR_SET_DUMPABLE, 0)

    def unshare_cgroupns(self) -> None:
        sc.unshare(namespaces.CLONE_NEWCGROUP)

    def loopback_up(self) -> None:
        netlink.loopback_up()

    def open_proc(self) -> None:
        # After the config's mounts: no fd of pyrunc that leads into a procfs
        # exists while their host sources are looked up. Inside the PID
        # namespace, so that thread-self is this process.
        self.proc = procfs.ProcHandle.open(subset_pid=True)

    def prepare_root(self) -> None:
        launch = self.launch
        rootfs.prepare_root(launch.root_path, launch.rootfs_propagation)
        self.rootfd = rootfs.open_root(launch.root_path)

    def open_root(self) -> None:
        self.rootfd = rootfs.open_root(self.launch.root_path)

    def mounts(self) -> None:
        launch = self.launch
        for i, m in enumerate(launch.mounts):
            later = rootfs.mount_entry(self.rootfd, i, m.destination, m.source, m.type,
                                       m.options, launch.bundle, launch.in_userns,
                                       launch.cgroup_views, launch.has_cgroupns,
                                       launch.mount_label)
            if later is not None:
                self.read_only_later.append((i, later))

    def read_only_mounts(self) -> None:
        if not self.read_only_later:
            return
        root = paths.current_root()
        try:
            for i, dest in self.read_only_later:
                with _field(f"mounts[{i}]"):
                    rootfs.remount_read_only(root, dest)
        finally:
            os.close(root)

    def devices(self) -> None:
        configured = {d.path for d in self.launch.devices}
        # A configured device replaces the default one at the same path; the
        # defaults are config-linux.md#configLinuxDefaultDevices.
        nodes = [("linux.devices", n) for n in devices.default_nodes()
                 if n.path not in configured] + [
            (f"linux.devices[{i}]", devices.Node(
                d.path, d.type, d.major, d.minor,
                d.file_mode if d.file_mode is not None else 0o666, d.uid or 0, d.gid or 0))
            for i, d in enumerate(self.launch.devices)]
        for field, node in nodes:
            with _field(field):
                devices.create(self.rootfd, node, bind_from_host=self.launch.in_userns)
        devices.ptmx(self.rootfd)
        devices.dev_symlinks(self.rootfd)

    def make_cwd(self) -> None:
        with _field("process.cwd"):
            os.close(paths.mkdir_all(self.rootfd, self.launch.cwd))

    def runtime_hooks(self) -> None:
        # prestart and createRuntime run in the runtime namespace: the parent
        # runs them, now that the mounts are done and before pivot_root.
        self.chan.send("hooks")
        self.chan.expect("hooks-done")

    def create_container_hooks(self) -> None:
        # In the rootfs, as runc runs them (hooks that work on ./lib rely on it);
        # without a mount namespace or mounts the root was never opened.
        if self.rootfd >= 0:
            os.fchdir(self.rootfd)
        hooks.run_all("createContainer", self.launch.create_container_hooks,
                      self._hook_state("creating"), self.env)

    def switch_root(self) -> None:
        root = self.launch.root_path
        if self.rootfd >= 0:  # no mount namespace: the root was never opened
            os.close(self.rootfd)
            self.rootfd = -1
        if not self.launch.has_mountns:
            rootfs.chroot_only(root)
        elif self.launch.no_pivot:
            rootfs.move_root(root)
        else:
            rootfs.pivot(root)

    def root_propagation(self) -> None:
        rootfs.set_root_propagation(self.launch.rootfs_propagation)

    def readonly_root(self) -> None:
        rootfs.readonly_root()

    def hostname(self) -> None:
        sc.sethostname(self.launch.hostname)

    def domainname(self) -> None:
        sc.setdomainname(self.launch.domainname)

    def sysctl(self) -> None:
        sysctl.apply(self.launch.sysctl)

    def personality(self) -> None:
        sc.personality(self.launch.personality)

    def memory_policy(self) -> None:
        sc.set_mempolicy(*self.launch.mempolicy)

    def io_priority(self) -> None:
        sc.ioprio_set(self.launch.ioprio)

    def scheduler(self) -> None:
        # Real-time policies need CAP_SYS_NICE: before the capabilities go.
        try:
            sc.sched_setattr(self.launch.sched_attr)
        except PyruncError as err:
            if getattr(err, "errno", 0) == errno.EPERM and self.launch.allowed_cpus:
                # sched_setattr(2): SCHED_DEADLINE needs an affinity of every CPU.
                raise ConfigError("process.scheduler: process scheduler can't be used together "
                                  "with AllowedCPUs (linux.resources.cpu.cpus)") from None
            raise

    def lsm_labels(self) -> None:
        # Both take effect at the execve of the user's program.
        if self.launch.apparmor_profile:
            lsm.apply_apparmor(self.proc, self.launch.apparmor_profile)
        if self.launch.selinux_label:
            lsm.apply_selinux(self.proc, self.launch.selinux_label)

    def readonly_paths(self) -> None:
        with _field("linux.readonlyPaths"):
            finalize.readonly_paths(self.launch.readonly_paths)

    def masked_paths(self) -> None:
        with _field("linux.maskedPaths"):
            finalize.mask_paths(self.launch.masked_paths, self.launch.mount_label)

    def session_keyring(self) -> None:
        try:
            serial = sc.join_session_keyring(f"_ses.{self.launch.id}")  # runc's name
        except PyruncError as err:
            # Some kernels/sandboxes refuse keyrings; runc treats ENOSYS as "no keyring".
            if getattr(err, "errno", 0) == errno.ENOSYS:
                return
            raise
        # The kernel's default for a new session keyring (possessor: all; user:
        # view, read, link) plus user search, as runc sets it.
        sc.keyctl_setperm(serial, 0x3F1B0000)

    def rlimits(self) -> None:
        rlimits.apply(self.launch.rlimits)

    def oom_score_adj(self) -> None:
        with _field("process.oomScoreAdj"):
            self.proc.write("self/oom_score_adj", str(self.launch.oom_score_adj))

    def no_new_privileges(self) -> None:
        capabilities.set_no_new_privs()

    def seccomp(self) -> None:
        """Load the filter; with SCMP_ACT_NOTIFY hand its listener fd to the
        parent, which passes it to the agent at listenerPath."""
        fd = self.launch.seccomp.load()
        if fd >= 0:
            self.chan.send("seccomp-fd", fd=fd)
            self.chan.expect("seccomp-ok")
            os.close(fd)

    def prepare_fds(self) -> None:
        prepare_fds(self.launch.extra_fds, self.proc)

    def drop_bounding(self) -> None:
        capabilities.drop_bounding(self.launch.caps.bounding)

    def terminal(self) -> None:
        """process.terminal: a pty from the container's devpts; the slave is
        the controlling terminal, fds 0-2 and /dev/console; the master goes
        to the console socket."""
        rows, cols = self.launch.console_size
        master, slave = console.open_pty(rows, cols)
        if self.launch.proxied_terminal:
            console.clear_onlcr(slave)
        if not self.launch.exec_mode:
            finalize.bind_console(slave)
        console.send_master(self.launch.console_fd, master)
        os.close(master)
        console.become_controlling(slave)
        os.close(slave)

    def cpu_affinity(self) -> None:
        if self.launch.cpu_affinity:
            os.sched_setaffinity(0, self.launch.cpu_affinity)
        else:
            from ..linux import sched

            sched.reset_affinity()

    def switch_user(self) -> None:
        user = self.launch.user
        if user.uid != 0:
            users.chown_stdio(user.uid)
        keep = self.launch.caps is not None
        if keep:
            capabilities.set_keepcaps(True)
        users.switch(user.uid, user.gid, user.additional_gids, users.setgroups_allowed())
        if keep:
            capabilities.set_keepcaps(False)

    def apply_capabilities(self) -> None:
        with _field("process.capabilities"):
            capabilities.apply_sets(self.launch.caps)
            capabilities.apply_ambient(self.launch.caps.ambient)

    def umask(self) -> None:
        # config.md#configPOSIXUser: unspecified means the caller's umask
        # (runc sets 0022 instead).
        os.umask(self.launch.umask if self.launch.umask is not None else self.caller_umask)

    def chdir(self) -> None:
        # Inside the root and never through a magic link: /proc/self/fd/N
        # would be an fd of ours (CVE-2024-21626).
        try:
            paths.chdir_in_root(self.launch.cwd)
        except OSError as err:
            raise PyruncError(f"process.cwd: chdir to {self.launch.cwd!r}: "
                              f"{err.strerror}") from None
        except PyruncError as err:
            raise PyruncError(f"process.cwd: chdir to {self.launch.cwd!r}: {err}") from None

    def default_env(self) -> None:
        # HOME unset, or set empty by its last entry, is the user's home from
        # the container's /etc/passwd (runc, and what Docker expects).
        if not _environ(self.env).get("HOME"):
            self.env.append("HOME=" + users.home_of(self.launch.user.uid))

    def resolve_executable(self) -> None:
        """Look args[0] up with the container's PATH, inside the container
        (config.md#configProcess: execvp semantics). Done before "ready" so a
        missing binary fails `create`, as callers expect."""
        self.executable = lookup(self.launch.args[0], self.env)

    def report_ready(self) -> None:
        self.chan.send("ready")
        self.chan.close()

    def report_exec(self) -> None:
        self.chan.send("ready")

    def await_start(self) -> None:
        # A created container dies of the signals that end a program by
        # default, as runc's does (`kill ID TERM` before start): as PID 1 of
        # its namespace the init would otherwise ignore every one it has no
        # handler for. The program gets default dispositions back at exec.
        signals.install(_die_of_signal, signals.TERMINATING)
        # Blocks until `start` opens the fifo for reading. The init holds an
        # O_PATH fd of the fifo (not of the state directory, which would
        # lead to the host's filesystem); it is re-opened for writing
        # through the private procfs, as runc does.
        self.fifo_fd = self.proc.reopen(self.launch.fifo_fd, os.O_WRONLY)
        os.close(self.launch.fifo_fd)

    def start_container_hooks(self) -> None:
        hooks.run_all("startContainer", self.launch.start_container_hooks,
                      self._hook_state("created"), self.env)  # runc's status for these hooks

    def no_process(self) -> None:
        raise ConfigError("process: not set; a container without one cannot be started "
                          "(runtime.md#runtimeStart)")

    def exec(self) -> None:
        # execve resolves its path before close-on-exec applies: no fd of
        # ours but the one that reports the execve may exist by then
        # (CVE-2024-21626: /proc/self/fd/N as the program).
        keep = self.chan.fileno() if self.launch.exec_mode else self.fifo_fd
        procfs.close_fds_from(3 + self.launch.extra_fds, {keep}, self.proc)
        self.proc = None
        signals.reset_all()
        try:
            os.execve(self.executable, self.launch.args, _environ(self.env))
        except OSError as err:
            # Go's wording, which runc prints and callers match on.
            raise PyruncError(f"exec {self.executable}: {err.strerror.lower()}") from None

    # --- helpers ----------------------------------------------------------------
    def _hook_state(self, status: str) -> dict:
        state = dict(self.launch.hook_state)
        state["status"] = status
        state["pid"] = self.launch.init_pid_in_container or os.getpid()
        return state


def _die_of_signal(signum: int, _frame) -> None:
    os._exit(128 + signum)


def steps(init: Init) -> list:
    """The setup steps, in kernel- and spec-mandated order."""
    launch = init.launch
    # The init is born in the container's cgroups (the intermediate was placed
    # there before forking it), so the cgroup namespace created here is rooted
    # at the container's cgroup.
    # Born in the container's cgroups: the reset takes their cpuset.
    out = [init.nondumpable, init.cpu_affinity]
    if launch.new_cgroupns:
        out.append(init.unshare_cgroupns)
    if launch.new_netns:
        out.append(init.loopback_up)
    if launch.has_mountns:
        out += [init.prepare_root, init.mounts]
    elif launch.mounts:
        # config-linux.md#configLinuxNamespaces: the runtime's mount namespace
        # is inherited, so the mounts are made there (inside the rootfs, which
        # is not bound onto itself: the host's propagation stays as it is);
        # delete unmounts them.
        out += [init.open_root, init.mounts]
    if launch.has_mountns or launch.mounts:
        if launch.setup_dev:
            out.append(init.devices)
        out.append(init.make_cwd)
    out.append(init.open_proc)
    if launch.runtime_hooks:
        out.append(init.runtime_hooks)
    if launch.create_container_hooks:
        out.append(init.create_container_hooks)
    # config.md: the create hooks run before pivot_root.
    out.append(init.switch_root)
    if launch.terminal:
        # After the switch of root: the pty comes from the container's devpts.
        out.append(init.terminal)
    if launch.has_mountns or launch.mounts:
        # Last of the rootfs work (runc's finalizeRootfs): /dev/console and
        # the hooks' changes are in place before /dev or a tmpfs turns read-only.
        out.append(init.read_only_mounts)
    if launch.has_mountns and launch.root_readonly:
        out.append(init.readonly_root)
    # Set by the planner only when the container has a UTS namespace.
    if launch.hostname is not None:
        out.append(init.hostname)
    if launch.domainname is not None:
        out.append(init.domainname)
    if launch.sysctl:
        out.append(init.sysctl)
    if launch.personality is not None:
        out.append(init.personality)
    if launch.readonly_paths:
        out.append(init.readonly_paths)
    if launch.masked_paths:
        out.append(init.masked_paths)
    # After the bind mounts above: an unbindable tree refuses them.
    if launch.has_mountns and launch.rootfs_propagation:
        out.append(init.root_propagation)
    if not launch.no_new_keyring:
        out.append(init.session_keyring)
    if not launch.has_process:
        # runtime.md#runtimeStart: created, but `start` gets an error.
        return out + [init.report_ready, init.await_start, init.no_process]
    out += process_steps(init)
    out += [init.report_ready, init.await_start]
    if launch.start_container_hooks:
        out.append(init.start_container_hooks)
    out.append(init.exec)
    return out


def run(launch: Launch, chan: Channel) -> None:
    init = Init(launch, chan)
    try:
        for step in (exec_steps(init) if launch.exec_mode else steps(init)):
            step()
    except BaseException as err:  # noqa: BLE001 - reported to the parent or to start
        if init.fifo_fd >= 0:  # past "ready": `start` is the one listening
            _report_to_start(init.fifo_fd, err)
        child_fail(chan, err)
    os._exit(1)


def process_steps(init: Init) -> list:
    """The process's own settings, shared by the init and exec'd processes,
    in the order the kernel needs."""
    launch = init.launch
    seccomp = launch.seccomp_profile is not None
    # chdir first, as root (as runc does it): before a seccomp profile that
    # may refuse openat2 or getcwd is loaded, and whether or not the user
    # may search the directory.
    out = [init.chdir]
    # Limits need CAP_SYS_RESOURCE to raise: before the user switch.
    if launch.rlimits:
        out.append(init.rlimits)
    if launch.mempolicy is not None:
        out.append(init.memory_policy)
    if launch.ioprio is not None:
        out.append(init.io_priority)
    if launch.sched_attr is not None:
        out.append(init.scheduler)
    if launch.oom_score_adj is not None:
        out.append(init.oom_score_adj)
    if launch.no_new_privileges:
        out.append(init.no_new_privileges)
    elif seccomp:
        # Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before
        # the capabilities are dropped (runc does the same).
        out.append(init.seccomp)
    # PR_CAPBSET_DROP needs CAP_SETPCAP, which the user switch may remove.
    if launch.caps is not None:
        out.append(init.drop_bounding)
    out.append(init.switch_user)
    # capset after setuid: the switch clears the sets unless keep-caps, and the
    # final sets must be exactly the configured ones.
    if launch.caps is not None:
        out.append(init.apply_capabilities)
    out += [init.umask, init.default_env, init.resolve_executable]
    if launch.apparmor_profile or launch.selinux_label:
        out.append(init.lsm_labels)
    out.append(init.prepare_fds)
    if launch.no_new_privileges and seccomp:
        # As late as possible, so that pyrunc's own setup is not filtered;
        # after it only the ready message, the fifo, startContainer hooks and
        # execve remain (runc does the same).
        out.append(init.seccomp)
    return out


def exec_steps(init: Init) -> list:
    """`exec`: the intermediate joined every namespace of the container and
    the process was born in its cgroup; only the process's own settings
    remain."""
    launch = init.launch
    out = [init.nondumpable, init.open_proc]
    if launch.cpu_affinity or launch.reset_affinity:
        out.append(init.cpu_affinity)
    if launch.personality is not None:
        out.append(init.personality)
    if launch.terminal:
        out.append(init.terminal)
    out += process_steps(init)
    # "ready" stays on the channel: the parent learns of the execve from EOF
    # (the socket is close-on-exec), of a failure from an error message.
    out += [init.report_exec, init.exec]
    return out


class _field:
    """Name the config field in an error from a step that works on it (a
    message that names the field already is left as it is)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, err, _tb) -> bool:
        if err is None or not isinstance(err, (OSError, PyruncError)):
            return False
        text = str(err) if isinstance(err, PyruncError) else (
            f"{err.strerror}" + (f": {err.filename}" if err.filename else ""))
        if text.startswith(self.name.split("[")[0]):
            return False
        raise PyruncError(f"{self.name}: {text}") from None


def _report_to_start(fd: int, err: BaseException) -> None:
    """Tell `start` why the program did not run. The first byte says whether
    a startContainer hook failed (H: the container is then destroyed,
    runtime.md#runtimeLifecycle step 7) or something else did (E)."""
    msg = str(err) if isinstance(err, PyruncError) else f"{type(err).__name__}: {err}"
    kind = b"H" if isinstance(err, hooks.HookError) else b"E"
    try:
        os.write(fd, kind + msg.encode()[:4000])
    except OSError:
        pass
    os._exit(1)


def _environ(env: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env:
        key, sep, value = item.partition("=")
        if sep:
            out[key] = value
    return out


def lookup(name: str, env: list[str]) -> str:
    """execvp's search, with Go's exec.LookPath error wording that callers
    (Docker, Podman) turn into exit codes 126/127."""
    if "/" in name:
        _check_executable(name, name)
        return name
    path = next((e[5:] for e in reversed(env) if e.startswith("PATH=")), DEFAULT_PATH)
    for directory in path.split(":"):
        candidate = os.path.join(directory or ".", name)
        try:
            _check_executable(name, candidate)
            return candidate
        except PyruncError:
            continue
    raise PyruncError(f'exec: "{name}": executable file not found in $PATH')


def _check_executable(name: str, path: str) -> None:
    try:
        st = os.stat(path)
    except OSError as err:
        raise PyruncError(f'exec: "{name}": stat {path}: {err.strerror.lower()}') from None
    if stat.S_ISDIR(st.st_mode):
        raise PyruncError(f'exec: "{name}": is a directory')
    # A check for a clear message only: execve(2) has the last word. With the
    # process's effective ids and capabilities (AT_EACCESS: CAP_DAC_OVERRIDE
    # runs a file whose only x bit is its owner's, which plain access(2)
    # refuses a non-root uid), or plain access(2): AT_EACCESS needs
    # faccessat2, which an older seccomp profile loaded by now may refuse.
    if not (os.access(path, os.X_OK, effective_ids=True) or os.access(path, os.X_OK)):
        raise PyruncError(f'exec: "{name}": permission denied')


def prepare_fds(extra: int, proc: procfs.ProcHandle | None) -> None:
    """Exactly fds 0-2 and the LISTEN_FDS/--preserve-fds ones (3..3+extra-1)
    reach the program; everything else of ours is close-on-exec
    (runtime-linux.md#runtimeLinuxFileDescriptors, CVE-2024-21626)."""
    for fd in range(3 + extra):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    procfs.close_fds_on_exec(3 + extra, proc)
