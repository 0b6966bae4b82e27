"""One handler per command: take parsed options, call one operation, print.

Every handler returns the process exit status. Output formats are runc's,
because callers parse them (state: 2-space JSON with no trailing newline;
list: runc's table or a JSON array, `null` when empty).
"""
from __future__ import annotations

import os
import sys

from .. import jsonio, state
from ..errors import PyruncError


class Context:
    """Global options every handler may need."""

    def __init__(self, globals_: dict, root: str) -> None:
        self.globals = globals_
        self.root = root
        self.root_given = bool(globals_.get("root"))


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _create_options(ctx: Context, o: dict, detach: bool):
    from ..container.create import CreateOptions

    return CreateOptions(
        bundle=o.get("bundle") or ".", pid_file=o.get("pid_file") or "",
        console_socket=o.get("console_socket") or "", pidfd_socket=o.get("pidfd_socket") or "",
        no_pivot=o.get("no_pivot", False),
        no_new_keyring=o.get("no_new_keyring", False), preserve_fds=o.get("preserve_fds", 0),
        systemd_cgroup=ctx.globals.get("systemd_cgroup", False),
        rootless=ctx.globals.get("rootless", "auto"), detach=detach)


def cmd_create(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container.create import create

    create(ctx.root, args[0], _create_options(ctx, o, detach=True))
    return 0


def cmd_run(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container.run import run

    return run(ctx.root, args[0], _create_options(ctx, o, detach=o.get("detach", False)),
               keep=o.get("keep", False))


def cmd_start(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import ops

    ops.start(ctx.root, args[0])
    return 0


def cmd_state(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import ops

    _out(jsonio.dumps(ops.query(ctx.root, args[0]), indent=2))
    return 0


def cmd_kill(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import ops
    from ..linux.signals import parse

    signum = parse(args[1]) if len(args) > 1 else 15
    ops.kill(ctx.root, args[0], signum, all_processes=o.get("all", False))
    return 0


def cmd_delete(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import ops

    ops.delete(ctx.root, args[0], force=o.get("force", False))
    return 0


def cmd_list(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import ops

    items = ops.list_states(ctx.root, ctx.root_given)
    if o.get("quiet"):
        _out("".join(i["id"] + "\n" for i in items))
    elif o.get("format") == "json":
        _out(jsonio.dumps(items if items else None) + "\n")
    else:
        _out(format_table(items))
    return 0


def format_table(items: list[dict]) -> str:
    """runc's table: tab-aligned columns, min width 12, padding 3 (Go tabwriter)."""
    rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
    for i in items:
        rows.append([i["id"], str(i["pid"]), i["status"], i["bundle"], i["created"],
                     i.get("owner", "")])
    widths = [max(12, max(len(r[c]) for r in rows) + 3) for c in range(5)]
    lines = []
    for r in rows:
        lines.append("".join(cell.ljust(w) for cell, w in zip(r, widths)) + r[5])
    return "\n".join(lines) + "\n"


def cmd_spec(ctx: Context, o: dict, args: list[str]) -> int:
    from ..default_spec import default_spec

    directory = o.get("bundle") or "."
    path = os.path.join(directory, "config.json")
    if os.path.exists(path):
        raise PyruncError("File config.json exists. Remove it first")
    if not os.path.isdir(directory):
        raise PyruncError(f"bundle directory {directory} does not exist")
    data = jsonio.dumps(default_spec(rootless=o.get("rootless", False)), indent="\t")
    with open(path, "w") as f:
        f.write(data)
    return 0


def cmd_exec(ctx: Context, o: dict, args: list[str]) -> int:
    from .. import log
    from ..bundle import ProcessFlags
    from ..container.exec import ExecOptions, exec_process

    # Built once; exec and bundle.exec_process take them as they are.
    flags = ProcessFlags(args[1:], env=o.get("env"), cwd=o.get("cwd") or "",
                         user=o.get("user") or "", additional_gids=o.get("additional_gids"),
                         caps=o.get("cap"), no_new_privs=bool(o.get("no_new_privs")),
                         tty=bool(o.get("tty")), apparmor=o.get("apparmor") or "",
                         process_label=o.get("process_label") or "")
    opts = ExecOptions(flags, process_file=o.get("process") or "",
                       console_socket=o.get("console_socket") or "",
                       pidfd_socket=o.get("pidfd_socket") or "", detach=bool(o.get("detach")),
                       pid_file=o.get("pid_file") or "", preserve_fds=o.get("preserve_fds") or 0,
                       cgroup=o.get("cgroup"), ignore_paused=bool(o.get("ignore_paused")))
    try:
        return exec_process(ctx.root, args[0], opts)
    except PyruncError as err:
        # runc: every exec failure is "exec failed: ..." with exit status 255
        # (conmon and the shim tell a failed exec from the program's status).
        from . import _message

        log.LOG.fatal("exec failed: " + _message("exec", err))
        return 255


def cmd_features(ctx: Context, o: dict, args: list[str]) -> int:
    from ..features import features

    _out(jsonio.dumps(features(), indent=4) + "\n")
    return 0


def cmd_pause(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import cgroup_ops

    cgroup_ops.pause(ctx.root, args[0])
    return 0


def cmd_resume(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import cgroup_ops

    cgroup_ops.resume(ctx.root, args[0])
    return 0


def cmd_ps(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import cgroup_ops

    if o.get("format") == "json":
        _out(jsonio.dumps(cgroup_ops.pids(ctx.root, args[0]) or None) + "\n")
    else:
        _out(cgroup_ops.ps_table(ctx.root, args[0], args[1:]))
    return 0


def cmd_events(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import cgroup_ops

    interval = cgroup_ops.parse_interval(o.get("interval") or "5s")
    cgroup_ops.events(ctx.root, args[0], interval, bool(o.get("stats")), _out)
    return 0


def cmd_update(ctx: Context, o: dict, args: list[str]) -> int:
    from ..container import cgroup_ops

    source = o.get("resources")
    if source:
        doc, where = _read_resources(source), "resources"
    else:
        doc, where = update_flags_to_resources(o), "update"
    cgroup_ops.update(ctx.root, args[0], doc, where)
    if not source and (o.get("l3_cache_schema") or o.get("mem_bw_schema")):
        cgroup_ops.update_rdt(ctx.root, args[0], o.get("l3_cache_schema") or "",
                              o.get("mem_bw_schema") or "")
    return 0


def _read_resources(source: str) -> object:
    if source == "-":
        data = sys.stdin.buffer.read()
        where = "stdin"
    else:
        try:
            with open(source, "rb") as f:
                data = f.read()
        except OSError as err:
            raise PyruncError(f"--resources: {source}: {err.strerror}") from None
        where = source
    try:
        return jsonio.loads(data)
    except ValueError as err:
        raise PyruncError(f"--resources: invalid JSON in {where}: {err}") from None


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_bytes(text: str, flag: str) -> int:
    """Sizes as runc's update takes them: 1024, 512k, 100M, 1.5g, -1."""
    t = text.strip().lower()
    if t == "-1":
        return -1
    if t.endswith("b"):
        t = t[:-1]
    unit = t[-1:] if t[-1:] in _SIZE_UNITS and t[-1:] else ""
    number = t[:-1] if unit else t
    try:
        value = float(number)
    except ValueError:
        raise PyruncError(f"invalid value {text!r} for flag --{flag}") from None
    if value < 0:
        raise PyruncError(f"invalid value {text!r} for flag --{flag}")
    return int(value * _SIZE_UNITS[unit])


def _int_flag(text: str, flag: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise PyruncError(f"invalid value {text!r} for flag --{flag}") from None


def update_flags_to_resources(o: dict) -> dict:
    """runc update's flags as a LinuxResources document (only the given ones)."""
    doc: dict = {}

    def put(section: str, key: str, value: object) -> None:
        doc.setdefault(section, {})[key] = value

    for flag, key in (("memory", "limit"), ("memory_reservation", "reservation"),
                      ("memory_swap", "swap"), ("kernel_memory", "kernel"),
                      ("kernel_memory_tcp", "kernelTCP")):
        if o.get(flag):
            put("memory", key, parse_bytes(o[flag], flag.replace("_", "-")))
    for flag, key in (("cpu_period", "period"), ("cpu_quota", "quota"), ("cpu_burst", "burst"),
                      ("cpu_idle", "idle"),
                      ("cpu_share", "shares"), ("cpu_rt_period", "realtimePeriod"),
                      ("cpu_rt_runtime", "realtimeRuntime")):
        if o.get(flag):
            put("cpu", key, _int_flag(o[flag], flag.replace("_", "-")))
    for flag, key in (("cpuset_cpus", "cpus"), ("cpuset_mems", "mems")):
        if o.get(flag):
            put("cpu", key, o[flag])
    if o.get("pids_limit"):
        put("pids", "limit", _int_flag(o["pids_limit"], "pids-limit"))
    if o.get("blkio_weight"):
        put("blockIO", "weight", _int_flag(o["blkio_weight"], "blkio-weight"))
    return doc


HANDLERS = {
    "create": cmd_create, "run": cmd_run, "start": cmd_start, "state": cmd_state,
    "kill": cmd_kill, "delete": cmd_delete, "list": cmd_list, "spec": cmd_spec,
    "exec": cmd_exec, "features": cmd_features, "pause": cmd_pause, "resume": cmd_resume,
    "ps": cmd_ps, "events": cmd_events, "update": cmd_update,
}


def version_text() -> str:
    from .. import OCI_VERSION, __version__

    lines = [f"pyrunc version {__version__}", f"commit: v{__version__}",
             f"spec: {OCI_VERSION}",
             f"python: {sys.version.split()[0]}"]
    try:
        from ..linux import seccomp

        lines.append("libseccomp: " + ".".join(map(str, seccomp.version())))
    except Exception:  # noqa: BLE001 - the version line is optional, as in runc
        pass
    return "\n".join(lines) + "\n"


def resolve_root(globals_: dict) -> str:
    return state.resolve_root(globals_.get("root"))
