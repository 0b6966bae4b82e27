"""What the intermediate and init processes need, resolved by the parent
before it forks: plain values only (they cross a fork, not a pipe)."""
from __future__ import annotations


class Launch:
    __slots__ = (
        "id", "spec", "fifo_fd", "cgroup_views", "no_pivot", "no_new_keyring",
        "extra_fds", "listen_fds", "caps", "rlimits", "env", "cwd", "args", "user",
        "umask", "no_new_privileges", "oom_score_adj", "join_fds", "new_ns_flags",
        "new_userns", "in_userns", "new_cgroupns", "new_timens", "new_netns",
        "has_mountns", "setup_dev", "runtime_hooks", "seccomp", "ioprio", "sched_attr",
        "personality", "mempolicy", "apparmor_profile", "selinux_label", "terminal",
        "console_size", "console_fd", "proxied_terminal", "exec_mode", "cpu_affinity",
        "reset_affinity", "hook_state",
        "init_pid_in_container",
    )

    def __init__(self) -> None:
        self.id = ""
        self.spec = None                 # bundle.Spec
        # An O_PATH fd of the exec fifo itself, never of a directory: no fd of
        # the init may lead to the host's filesystem (CVE-2024-21626).
        self.fifo_fd = -1
        self.cgroup_views: list = []     # cgroups.CgroupView for `cgroup` mounts
        self.no_pivot = False
        self.no_new_keyring = False
        self.extra_fds = 0               # LISTEN_FDS + --preserve-fds, from fd 3 on
        self.listen_fds = 0
        self.caps = None                 # capabilities.CapSets or None
        self.rlimits: list = []          # (resource, soft, hard, name)
        self.env: list[str] = []
        self.cwd = "/"
        self.args: list[str] = []
        self.user = None                 # bundle.User
        self.umask: int | None = None
        self.no_new_privileges = False
        self.oom_score_adj: int | None = None
        self.join_fds: list = []         # (kind, fd, path) of namespaces to join
        self.new_ns_flags = 0            # CLONE_NEW* for namespaces unshared before init forks
        self.new_userns = False
        self.in_userns = False           # any user namespace other than the host's
        self.new_cgroupns = False
        self.new_timens = False
        self.new_netns = False
        self.has_mountns = False
        self.setup_dev = True
        self.runtime_hooks = False       # prestart/createRuntime hooks to run in the parent
        self.hook_state: dict = {}       # state for hooks, pid filled in later
        self.init_pid_in_container = 0
        self.seccomp = None              # linux.seccomp.Filter, built by the intermediate
        self.ioprio: int | None = None   # ioprio_set value
        self.sched_attr: bytes | None = None
        self.personality: int | None = None
        self.mempolicy: tuple | None = None  # (mode, nodemask bytes, maxnode)
        self.apparmor_profile = ""
        self.selinux_label = ""
        self.terminal = False
        self.console_size = (0, 0)       # (rows, cols)
        self.console_fd = -1             # a connected unix socket for the pty master
        self.exec_mode = False           # `exec`: join the container, no rootfs setup
        self.cpu_affinity: list[int] = []  # execCPUAffinity.final (exec only)
        # Without a final affinity: reset the inherited one (an exec with only
        # an initial affinity keeps that one, as runc).
        self.reset_affinity = True
        # The pty master goes to pyrunc itself (run/exec in the foreground),
        # not to a caller's console socket.
        self.proxied_terminal = False
