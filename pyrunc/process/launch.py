"""What the intermediate and init processes need, resolved by the parent
before it forks: plain values only (they cross a fork, not a pipe). The
planner in container/ reads the config and makes its decisions ("has a
mount namespace", "make /dev"); the processes here only read these fields,
never the whole config. Small typed values from bundle.py (Mount, Device,
User, Hook, Seccomp) are fine as field values."""
from __future__ import annotations


class Launch:
    __slots__ = (
        "id", "fifo_fd", "cgroup_views", "no_pivot", "no_new_keyring",
        "extra_fds", "caps", "rlimits", "env", "cwd", "args", "user",
        "umask", "no_new_privileges", "oom_score_adj", "join_fds", "new_ns_flags",
        "new_userns", "in_userns", "new_cgroupns", "has_cgroupns", "new_timens", "new_netns",
        "has_mountns", "setup_dev", "runtime_hooks", "seccomp", "seccomp_profile", "ioprio",
        "sched_attr", "personality", "mempolicy", "apparmor_profile", "selinux_label",
        "terminal", "console_size", "console_fd", "proxied_terminal", "exec_mode",
        "cpu_affinity", "reset_affinity", "hook_state", "init_pid_in_container",
        "has_process", "uid_map", "gid_map", "time_offsets", "root_path", "root_readonly",
        "rootfs_propagation", "bundle", "mounts", "mount_label", "devices",
        "create_container_hooks", "start_container_hooks", "hostname", "domainname",
        "sysctl", "readonly_paths", "masked_paths", "allowed_cpus",
    )

    def __init__(self) -> None:
        self.id = ""
        # An O_PATH fd of the exec fifo itself, never of a directory: no fd of
        # the init may lead to the host's filesystem (CVE-2024-21626).
        self.fifo_fd = -1
        self.cgroup_views: list = []     # cgroups.CgroupView for `cgroup` mounts
        self.no_pivot = False
        self.no_new_keyring = False
        self.extra_fds = 0               # LISTEN_FDS + --preserve-fds, from fd 3 on

        # --- the process (config.md#configProcess) -------------------------
        self.has_process = False         # an init without one fails at start
        self.caps = None                 # capabilities.CapSets or None
        self.rlimits: list = []          # (resource, soft, hard, name)
        self.env: list[str] = []
        self.cwd = "/"
        self.args: list[str] = []
        self.user = None                 # bundle.User
        self.umask: int | None = None
        self.no_new_privileges = False
        self.oom_score_adj: int | None = None
        self.ioprio: int | None = None   # ioprio_set value
        self.sched_attr: bytes | None = None
        self.apparmor_profile = ""
        self.selinux_label = ""
        self.terminal = False
        self.console_size = (0, 0)       # (rows, cols)
        self.console_fd = -1             # a connected unix socket for the pty master
        # The pty master goes to pyrunc itself (run/exec in the foreground),
        # not to a caller's console socket.
        self.proxied_terminal = False
        self.exec_mode = False           # `exec`: join the container, no rootfs setup
        self.cpu_affinity: list[int] = []  # execCPUAffinity.final (exec only)
        # Without a final affinity: reset the inherited one (an exec with only
        # an initial affinity keeps that one, as runc).
        self.reset_affinity = True

        # --- what the container imposes on each of its processes -----------
        self.personality: int | None = None
        self.mempolicy: tuple | None = None  # (mode, nodemask bytes, maxnode)
        self.seccomp_profile = None      # bundle.Seccomp: compiled by the intermediate
        self.seccomp = None              # linux.seccomp.Filter, built by the intermediate
        self.allowed_cpus = ""           # linux.resources.cpu.cpus ("" unset)

        # --- namespaces -----------------------------------------------------
        self.join_fds: list = []         # (kind, fd, path) of namespaces to join
        self.new_ns_flags = 0            # CLONE_NEW* for namespaces unshared before init forks
        self.new_userns = False
        self.uid_map = ""                # uid_map/gid_map text the parent writes
        self.gid_map = ""
        self.in_userns = False           # any user namespace other than the host's
        self.new_cgroupns = False
        self.has_cgroupns = False        # new or joined: `cgroup` mounts show its view
        self.new_timens = False
        self.time_offsets: dict = {}     # clock: (secs, nanosecs), written by the parent
        self.new_netns = False
        self.has_mountns = False

        # --- the init's rootfs (config.md#configRoot, #configMounts) -------
        self.root_path = ""              # the rootfs, as the bundle names it
        self.root_readonly = False
        self.rootfs_propagation = ""
        self.bundle = ""                 # relative bind sources are under it
        self.mounts: list = []           # bundle.Mount, in order
        self.mount_label = ""
        self.setup_dev = True            # default devices and /dev links
        self.devices: list = []          # bundle.Device
        self.readonly_paths: list[str] = []
        self.masked_paths: list[str] = []
        # Set only when the container has a UTS namespace to set them in.
        self.hostname: str | None = None
        self.domainname: str | None = None
        self.sysctl: dict[str, str] = {}

        # --- hooks ----------------------------------------------------------
        self.runtime_hooks = False       # prestart/createRuntime hooks to run in the parent
        self.create_container_hooks: list = []  # bundle.Hook, run by the init
        self.start_container_hooks: list = []
        self.hook_state: dict = {}       # state for hooks, pid filled in later
        self.init_pid_in_container = 0
