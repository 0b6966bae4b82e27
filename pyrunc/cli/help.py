"""Help text, rendered by click from the command table (cli/table.py).

Imported only when help is asked for: click is the field's standard for
formatting a CLI's help, but importing it costs ~60 ms, which the runtime
commands themselves must not pay.
"""
from __future__ import annotations

from .table import COMMANDS, GLOBAL_FLAGS, Command, Flag

_ABOUT = ("pyrunc is an OCI runtime (runtime-spec 1.3) written in Python and a drop-in "
          "replacement for runc: containerd, Docker and Podman call it exactly as they "
          "call runc.\n\nTo run a new instance of a container:\n\n"
          "    pyrunc run [ -b bundle ] <container-id>\n\n"
          "A bundle is a directory holding config.json and a root filesystem; the "
          "default bundle is the current directory.")


def _option(flag: Flag):
    import click

    decls = [f"--{flag.name}"] + ([f"-{flag.short}"] if flag.short else [])
    if flag.kind == "bool":
        return click.Option(decls, is_flag=True, help=flag.help)
    kind = click.Choice(flag.choices) if flag.choices else (int if flag.kind == "int" else str)
    default = flag.default if flag.default not in (None, "", [], 0) else None
    return click.Option(decls, type=kind, help=flag.help, metavar=flag.metavar,
                        default=default, show_default=default is not None,
                        multiple=flag.kind == "list")


def _command(cmd: Command):
    import click

    params = [_option(f) for f in cmd.flags]
    text = cmd.summary + (f"\n\n{cmd.description}" if cmd.description else "")
    command = click.Command(cmd.name, params=params, help=text, short_help=cmd.summary,
                            add_help_option=False)
    command.options_metavar = "[command options]"
    command.params.append(click.Argument(["args"], nargs=-1, metavar=cmd.args or None))
    return command


def _name_section(prog: str, cmd: Command | None) -> str:
    """runc's help starts with a NAME section (urfave/cli), which scripts and
    runc's own tests read: keep it, under the name pyrunc was called by."""
    if cmd is None:
        return (f"NAME:\n   {prog} - Open Container Initiative runtime (pyrunc, in "
                "Python)\n\n")
    return f"NAME:\n   {prog} {cmd.name} - {cmd.summary}\n\n"


def render(cmd: Command | None, prog: str = "pyrunc") -> str:
    import click

    if cmd is not None:
        command = _command(cmd)
        ctx = click.Context(command, info_name=f"{prog} {cmd.name}", terminal_width=100)
        return _name_section(prog, cmd) + command.get_help(ctx) + "\n"
    group = click.Group("pyrunc", help=_ABOUT, params=[_option(f) for f in GLOBAL_FLAGS],
                        add_help_option=False)
    group.options_metavar = "[global options]"
    for c in COMMANDS.values():
        group.add_command(_command(c))
    ctx = click.Context(group, info_name=prog, terminal_width=100)
    return _name_section(prog, None) + group.get_help(ctx) + "\n"
