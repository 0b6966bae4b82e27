"""What `create` (and so `run`) and `exec` share to launch a process: its
settings resolved into a Launch before any fork, the terminal and console
rules and set-up, --pidfd-socket, the pid file, LISTEN_FDS, and handing a
seccomp notify fd to the agent.

Nothing here decides between create and exec: each operation plans what is
its own (the rootfs and namespaces of an init, the namespaces an exec'd
process joins) and calls these for the rest.
"""
from __future__ import annotations

import os

from .. import OCI_VERSION, bundle, log
from ..errors import PyruncError
from ..linux import capabilities, fileio, rlimits, sched
from ..process.launch import Launch


def listen_fds() -> int:
    """systemd socket activation: fds passed to us for the container."""
    count = os.environ.get("LISTEN_FDS", "")
    if count.isdigit() and os.environ.get("LISTEN_PID", "") == str(os.getpid()):
        return int(count)
    return 0


def check_terminal(terminal: bool, console_socket: str, detach: bool) -> None:
    """runc's rules (runtime-callers.md section 5.1): a pty master must go to
    a console socket, or to pyrunc itself in the foreground."""
    if terminal and detach and not console_socket:
        raise PyruncError("cannot allocate tty if pyrunc will detach without setting "
                          "console socket")
    if console_socket and not terminal:
        raise PyruncError("cannot use console socket if pyrunc will not detach or "
                          "allocate tty")


def plan_process(launch: Launch, p: bundle.Process) -> None:
    """A process's own settings, resolved before any fork (so errors and
    warnings reach the caller): shared by the init and `exec`."""
    launch.has_process = True
    launch.args = p.args
    launch.env = list(p.env)
    launch.cwd = p.cwd
    launch.user = p.user
    launch.umask = p.user.umask
    launch.no_new_privileges = p.no_new_privileges
    launch.oom_score_adj = p.oom_score_adj
    if p.capabilities is not None:
        sets = {name: getattr(p.capabilities, name) for name in capabilities.SETS}
        launch.caps, warnings = capabilities.resolve(sets, "process.capabilities")
        for w in warnings:
            log.warning(w)
    launch.rlimits = rlimits.resolve([(r.type, r.soft, r.hard) for r in p.rlimits],
                                     "process.rlimits")
    if p.io_priority is not None:
        launch.ioprio = sched.ioprio_value(*p.io_priority)
    if p.scheduler is not None:
        launch.sched_attr = sched.sched_attr(*p.scheduler)
    launch.apparmor_profile = p.apparmor_profile
    launch.selinux_label = p.selinux_label
    launch.terminal = p.terminal
    launch.console_size = p.console_size


def plan_linux_process(spec: bundle.Spec, launch: Launch) -> None:
    """What the container's config imposes on each of its processes, the init
    and, as in runc, every exec'd one: linux.personality, linux.memoryPolicy,
    the seccomp profile, and the cpuset the scheduler step must know of."""
    if spec.personality is not None:
        launch.personality = sched.PERSONALITIES[spec.personality[0]]
    if spec.memory_policy is not None:
        mode, nodes = sched.mempolicy(*spec.memory_policy)
        launch.mempolicy = (mode,) + sched.nodemask(nodes)
    launch.seccomp_profile = spec.seccomp
    cpu = spec.resources.cpu
    launch.allowed_cpus = (cpu.cpus or "") if cpu is not None else ""


def open_console(launch: Launch, console_socket: str) -> int:
    """Where the process's pty master goes (check_terminal has passed): the
    caller's --console-socket, connected now, or one end of a socketpair
    whose other end is returned, for pyrunc to proxy the caller's terminal.
    -1 when pyrunc receives nothing."""
    if not launch.terminal:
        return -1
    if console_socket:
        from ..linux import console

        launch.console_fd = console.connect(console_socket)
        return -1
    import _socket

    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM
                                      | _socket.SOCK_CLOEXEC)
    launch.console_fd = theirs.detach()
    launch.proxied_terminal = True
    return ours.detach()


def receive_master(receive: int) -> int:
    """The pty master from the process, on the end open_console returned
    (which is closed)."""
    from ..linux import console

    try:
        return console.recv_master(receive)
    finally:
        os.close(receive)


def release(launch: Launch) -> None:
    """Close the parent's copies of the fds the children took across the
    fork: the console socket and the namespaces to join."""
    fds = [launch.console_fd] + [fd for _kind, fd, _path in launch.join_fds]
    launch.console_fd = -1
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


class PidfdSocket:
    """--pidfd-socket: connected before the fork (a bad path fails before
    anything starts), sent a pidfd of the process once it exists."""

    __slots__ = ("fd",)

    def __init__(self, path: str) -> None:
        self.fd = -1
        if path:
            from ..linux import console

            self.fd = console.connect(path, "--pidfd-socket")

    def send(self, pid: int) -> None:
        if self.fd < 0:
            return
        from ..linux import console

        sock, self.fd = self.fd, -1
        console.send_pidfd(sock, pid)  # closes sock

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class LaunchIo:
    """The console and the --pidfd-socket of one launch, around the fork:

        with LaunchIo(launch, console_socket, pidfd_socket) as io:
            pid = parent.launch(...); io.pidfd.send(pid)
        io.receive  # the end that takes the pty master, or -1

    On the way out the parent's copies of what the children took (release)
    and the pidfd socket are closed; `receive` only when the launch failed."""

    __slots__ = ("launch", "console_socket", "pidfd_socket", "receive", "pidfd")

    def __init__(self, launch: Launch, console_socket: str, pidfd_socket: str) -> None:
        self.launch = launch
        self.console_socket = console_socket
        self.pidfd_socket = pidfd_socket
        self.receive = -1
        self.pidfd = PidfdSocket("")

    def __enter__(self) -> LaunchIo:
        try:
            self.receive = open_console(self.launch, self.console_socket)
            self.pidfd = PidfdSocket(self.pidfd_socket)
        except BaseException:
            self.__exit__(BaseException, None, None)
            raise
        return self

    def __exit__(self, exc_type, *_exc) -> bool:
        if exc_type is not None and self.receive >= 0:
            os.close(self.receive)
            self.receive = -1
        self.pidfd.close()
        release(self.launch)
        return False


def send_to_seccomp_agent(sc: bundle.Seccomp, state_obj: dict, pid: int, fd: int) -> None:
    """config-linux.md#containerprocessstate, with the notify fd."""
    from .. import jsonio
    from ..linux import seccomp

    payload = {"ociVersion": OCI_VERSION, "fds": ["seccompFd"], "pid": pid,
               "state": state_obj}
    if sc.listener_metadata:
        payload["metadata"] = sc.listener_metadata
    seccomp.send_listener_fd(sc.listener_path, fd, jsonio.dumps(payload).encode())


def write_pid_file(path: str, pid: int) -> None:
    """Bare digits, no newline (go-runc parses it strictly), written to a temp
    file beside it and renamed into place."""
    path = os.path.abspath(path)
    try:
        fileio.write_atomic(path, str(pid).encode(), 0o644)
    except OSError as err:
        raise PyruncError(f"--pid-file {path}: {err.strerror}") from None
