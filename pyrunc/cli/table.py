"""The command line as data: every command, its flags and its arguments.

One table feeds the fast argv parser (cli/argv.py, used on every call) and the
help renderer (cli/help.py, which builds click commands from it only when help
is asked for: importing click costs ~60 ms, more than runc's whole lifecycle).
"""
from __future__ import annotations


class Flag:
    """A command-line flag. kind: 'bool', 'str', 'int' or 'list' (repeatable str)."""

    __slots__ = ("name", "short", "kind", "default", "help", "metavar", "choices")

    def __init__(self, name: str, kind: str, help: str, short: str = "",
                 default: object = None, metavar: str = "", choices: tuple = ()) -> None:
        self.name = name
        self.short = short
        self.kind = kind
        self.help = help
        self.metavar = metavar or ("N" if kind == "int" else "VALUE")
        self.choices = choices
        if default is None:
            default = {"bool": False, "int": 0, "list": []}.get(kind)
        self.default = default

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


class Command:
    __slots__ = ("name", "summary", "args", "min_args", "max_args", "flags",
                 "stop_at_positional", "description", "aliases")

    def __init__(self, name: str, summary: str, args: str = "", min_args: int = 0,
                 max_args: int | None = 0, flags: tuple[Flag, ...] = (),
                 stop_at_positional: bool = False, description: str = "",
                 aliases: tuple[str, ...] = ()) -> None:
        self.name = name
        self.summary = summary
        self.args = args
        self.min_args = min_args
        self.max_args = max_args
        self.flags = flags
        # runc stops flag parsing at the first positional for kill, exec and ps:
        # everything after the ID belongs to the container (signal, argv, ps args).
        self.stop_at_positional = stop_at_positional
        self.description = description
        self.aliases = aliases


GLOBAL_FLAGS = (
    Flag("debug", "bool", "enable debug logging"),
    Flag("log", "str", "set the log file to write pyrunc logs to (default is stderr)",
         metavar="PATH"),
    Flag("log-format", "str", "set the log format", default="text", metavar="FORMAT",
         choices=("text", "json")),
    Flag("root", "str", "root directory for storage of container state "
         "(this should be located in tmpfs)", metavar="PATH"),
    Flag("systemd-cgroup", "bool", "enable systemd cgroup support, expects cgroupsPath "
         "to be of form \"slice:prefix:name\" for e.g. \"system.slice:runc:434234\""),
    Flag("rootless", "str", "ignore cgroup permission errors ('true', 'false', or 'auto')",
         default="auto", choices=("true", "false", "auto")),
    Flag("criu", "str", "accepted for compatibility with go-runc; ignored (no checkpoint support)",
         metavar="PATH"),
    Flag("help", "bool", "show help", short="h"),
    Flag("version", "bool", "print the version", short="v"),
)

_BUNDLE = Flag("bundle", "str", "path to the root of the bundle directory, defaults to "
               "the current directory", short="b", metavar="PATH")
_CONSOLE_SOCKET = Flag("console-socket", "str", "path to an AF_UNIX socket which will "
                       "receive a file descriptor referencing the master end of the "
                       "console's pseudoterminal", metavar="PATH")
_PIDFD_SOCKET = Flag("pidfd-socket", "str", "path to an AF_UNIX socket which will receive "
                     "a file descriptor referencing the process (pidfd)", metavar="PATH")
_PID_FILE = Flag("pid-file", "str", "specify the file to write the process id to",
                 metavar="PATH")
_NO_PIVOT = Flag("no-pivot", "bool", "do not use pivot root to jail process inside rootfs. "
                 "This should be used whenever the rootfs is on top of a ramdisk")
_NO_NEW_KEYRING = Flag("no-new-keyring", "bool", "do not create a new session keyring for "
                       "the container. This will cause the container to inherit the "
                       "calling processes session key")
_PRESERVE_FDS = Flag("preserve-fds", "int", "Pass N additional file descriptors to the "
                     "container (stdio + $LISTEN_FDS + N in total)")
_HELP = Flag("help", "bool", "show help", short="h")

_ID = "<container-id>"

COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("create", "create a container", _ID, 1, 1,
            (_BUNDLE, _CONSOLE_SOCKET, _PIDFD_SOCKET, _PID_FILE, _NO_PIVOT, _NO_NEW_KEYRING,
             _PRESERVE_FDS, _HELP),
            description="The create command creates an instance of a container for a "
            "bundle. The bundle is a directory with a specification file named "
            "\"config.json\" and a root filesystem. The container's process is left "
            "waiting until \"pyrunc start\" runs it."),
    Command("start", "executes the user defined process in a created container", _ID, 1, 1,
            (_HELP,)),
    Command("state", "output the state of a container", _ID, 1, 1, (_HELP,)),
    Command("kill", "kill sends the specified signal (default: SIGTERM) to the container's "
            "init process", f"{_ID} [signal]", 1, 2,
            (Flag("all", "bool", "send the specified signal to all processes inside the "
                  "container", short="a"), _HELP),
            stop_at_positional=True,
            description="The signal is a name (KILL or SIGKILL) or a number (9)."),
    Command("delete", "delete any resources held by the container often used with "
            "detached container", _ID, 1, 1,
            (Flag("force", "bool", "Forcibly deletes the container if it is still running "
                  "(uses SIGKILL)", short="f"), _HELP)),
    Command("run", "create and run a container", _ID, 1, 1,
            (_BUNDLE, _CONSOLE_SOCKET, _PIDFD_SOCKET,
             Flag("detach", "bool", "detach from the container's process", short="d"),
             Flag("keep", "bool", "do not delete the container after it exits"),
             _PID_FILE,
             Flag("no-subreaper", "bool", "disable the use of the subreaper used to reap "
                  "reparented processes"),
             _NO_PIVOT, _NO_NEW_KEYRING, _PRESERVE_FDS, _HELP),
            description="The run command creates an instance of a container for a bundle "
            "and starts it; without --detach it waits for the container's process, "
            "forwards signals to it and exits with its status."),
    Command("list", "lists containers started by pyrunc with the given root", "", 0, 0,
            (Flag("format", "str", "select one of: table or json", short="f",
                  default="table", choices=("table", "json")),
             Flag("quiet", "bool", "display only container IDs", short="q"), _HELP)),
    Command("exec", "execute new process inside the container", f"{_ID} <command> [command "
            "options]", 1, None,
            (_CONSOLE_SOCKET, _PIDFD_SOCKET,
             Flag("cwd", "str", "current working directory in the container", metavar="PATH"),
             Flag("env", "list", "set environment variables", short="e", metavar="KEY=VALUE"),
             Flag("tty", "bool", "allocate a pseudo-TTY", short="t"),
             Flag("user", "str", "UID (format: <uid>[:<gid>])", short="u", metavar="UID[:GID]"),
             Flag("additional-gids", "list", "additional gids", short="g", metavar="GID"),
             Flag("process", "str", "path to the process.json", short="p", metavar="FILE"),
             Flag("detach", "bool", "detach from the container's process", short="d"),
             _PID_FILE,
             Flag("process-label", "str", "set the asm process label for the process "
                  "commonly used with selinux", metavar="LABEL"),
             Flag("apparmor", "str", "set the apparmor profile for the process",
                  metavar="PROFILE"),
             Flag("no-new-privs", "bool", "set the no new privileges value for the process"),
             Flag("cap", "list", "add a capability to the bounding set for the process",
                  short="c", metavar="CAP"),
             _PRESERVE_FDS,
             Flag("cgroup", "list", "run the process in an (existing) sub-cgroup(s). Format "
                  "is [<controller>:]<cgroup>.", metavar="PATH"),
             Flag("ignore-paused", "bool", "allow exec in a paused container"),
             _HELP),
            stop_at_positional=True,
            description="The exec command runs a new process in a container: every "
            "namespace of the container, its cgroup, and the process's own settings. In "
            "the foreground it exits with the process's status; failures exit 255."),
    Command("pause", "pause suspends all processes inside the container", _ID, 1, 1, (_HELP,),
            description="The pause command freezes every process of the container "
            "(the v1 freezer or cgroup v2's cgroup.freeze)."),
    Command("resume", "resumes all processes that have been previously paused", _ID, 1, 1,
            (_HELP,)),
    Command("ps", "ps displays the processes running inside a container",
            f"{_ID} [ps options]", 1, None,
            (Flag("format", "str", "select one of: table or json", short="f",
                  default="table", choices=("table", "json")), _HELP),
            stop_at_positional=True,
            description="Host ps(1) output filtered to the container's processes (PIDs "
            "are host PIDs); --format json prints only the list of PIDs."),
    Command("events", "display container events such as OOM notifications, cpu, memory, "
            "and IO usage statistics", _ID, 1, 1,
            (Flag("interval", "str", "set the stats collection interval", default="5s",
                  metavar="DURATION"),
             Flag("stats", "bool", "display the container's stats then exit"), _HELP)),
    Command("update", "update container resource constraints", _ID, 1, 1,
            (Flag("resources", "str", "path to the file containing the resources to update "
                  "or '-' to read from the standard input", short="r", metavar="FILE"),
             Flag("blkio-weight", "str", "Specifies per cgroup weight, range is from 10 to "
                  "1000", metavar="N"),
             Flag("cpu-period", "str", "CPU CFS period to be used for hardcapping (in "
                  "usecs). 0 to use system default", metavar="N"),
             Flag("cpu-quota", "str", "CPU CFS hardcap limit (in usecs). Allowed cpu time in "
                  "a given period", metavar="N"),
             Flag("cpu-burst", "str", "CPU CFS hardcap burst limit (in usecs). Allowed "
                  "accumulated cpu time additionally for burst a given period", metavar="N"),
             Flag("cpu-idle", "str", "set cgroup SCHED_IDLE or not, 0: default behavior, "
                  "1: SCHED_IDLE", metavar="0|1"),
             Flag("cpu-share", "str", "CPU shares (relative weight vs. other containers)",
                  metavar="N"),
             Flag("cpu-rt-period", "str", "CPU realtime period to be used for hardcapping "
                  "(in usecs). 0 to use system default", metavar="N"),
             Flag("cpu-rt-runtime", "str", "CPU realtime hardcap limit (in usecs). Allowed "
                  "cpu time in a given period", metavar="N"),
             Flag("cpuset-cpus", "str", "CPU(s) to use", metavar="LIST"),
             Flag("cpuset-mems", "str", "Memory node(s) to use", metavar="LIST"),
             Flag("kernel-memory", "str", "Kernel memory limit (in bytes)", metavar="BYTES"),
             Flag("kernel-memory-tcp", "str", "Kernel memory limit (in bytes) for tcp "
                  "buffer", metavar="BYTES"),
             Flag("memory", "str", "Memory limit (in bytes)", metavar="BYTES"),
             Flag("memory-reservation", "str", "Memory reservation or soft_limit (in bytes)",
                  metavar="BYTES"),
             Flag("memory-swap", "str", "Total memory usage (memory + swap); set '-1' to "
                  "enable unlimited swap", metavar="BYTES"),
             Flag("pids-limit", "str", "Maximum number of pids allowed in the container",
                  metavar="N"),
             Flag("l3-cache-schema", "str", "The string of Intel RDT/CAT L3 cache schema",
                  metavar="SCHEMA"),
             Flag("mem-bw-schema", "str", "The string of Intel RDT/MBA memory bandwidth "
                  "schema", metavar="SCHEMA"),
             _HELP),
            description="The update command changes the resource constraints of a running "
            "container. With --resources (a LinuxResources JSON document, '-' for stdin) "
            "every other flag is ignored."),
    Command("features", "show the enabled features", "", 0, 0, (_HELP,),
            description="The features command prints the runtime-spec Features structure: "
            "the recognized hooks, mount options, namespaces, capabilities, seccomp "
            "actions and so on (features.md)."),
    Command("spec", "create a new specification file", "", 0, 0,
            (_BUNDLE,
             Flag("rootless", "bool", "generate a configuration for a rootless container"),
             _HELP),
            description="The spec command writes a starter config.json for a bundle "
            "(runc's defaults: terminal on, \"sh\" as the process)."),
)}


def lookup(name: str) -> Command | None:
    cmd = COMMANDS.get(name)
    if cmd is None:
        for c in COMMANDS.values():
            if name in c.aliases:
                return c
    return cmd
