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

VERSION_SPEC = "1.3.0"


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
        console_socket=o.get("console_socket") or "", no_pivot=o.get("no_pivot", False),
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


HANDLERS = {
    "create": cmd_create, "run": cmd_run, "start": cmd_start, "state": cmd_state,
    "kill": cmd_kill, "delete": cmd_delete, "list": cmd_list, "spec": cmd_spec,
}


def version_text() -> str:
    from .. import __version__

    lines = [f"pyrunc version {__version__}", f"commit: v{__version__}",
             f"spec: {VERSION_SPEC}",
             f"python: {sys.version.split()[0]}"]
    return "\n".join(lines) + "\n"


def resolve_root(globals_: dict) -> str:
    return state.resolve_root(globals_.get("root"))
