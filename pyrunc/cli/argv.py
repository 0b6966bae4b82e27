"""Parse argv the way runc does (and the way its callers depend on).

- `--flag value` and `--flag=value`; long flags also with one dash
  (`-no-subreaper`, as go-runc's restore sends it); short flags `-b x`.
- bool flags: `--flag`, `--flag=true|false`.
- global flags only before the command; command flags before or after the
  positional arguments, except for commands that stop at the first positional
  (kill, exec, ps), where the rest belongs to the container.
- `--` ends the flags.
"""
from __future__ import annotations

from ..errors import UsageError
from .table import COMMANDS, GLOBAL_FLAGS, Command, Flag, lookup

_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


class Parsed:
    """The outcome of parsing: global options, the command and its options."""

    __slots__ = ("globals", "command", "options", "args", "help")

    def __init__(self) -> None:
        self.globals: dict[str, object] = {f.dest: _copy(f.default) for f in GLOBAL_FLAGS}
        self.command: Command | None = None
        self.options: dict[str, object] = {}
        self.args: list[str] = []
        self.help = False


def _copy(value: object) -> object:
    return list(value) if isinstance(value, list) else value


def _find(flags: tuple[Flag, ...], name: str) -> Flag | None:
    for f in flags:
        if name == f.name or (f.short and name == f.short):
            return f
    return None


def _convert(flag: Flag, raw: str, where: str) -> object:
    if flag.kind == "int":
        try:
            return int(raw, 10)
        except ValueError:
            raise UsageError(f"invalid value {raw!r} for flag -{flag.name}: "
                             "parse error", where) from None
    if flag.choices and raw not in flag.choices:
        choices = ", ".join(flag.choices)
        raise UsageError(f"invalid value {raw!r} for flag --{flag.name} (one of: {choices})",
                         where)
    return raw


def _take_flag(argv: list[str], i: int, flags: tuple[Flag, ...], into: dict[str, object],
               where: str | None) -> int:
    """Consume the flag at argv[i] (and its value); return the next index."""
    token = argv[i]
    body = token[2:] if token.startswith("--") else token[1:]
    name, eq, inline = body.partition("=")
    flag = _find(flags, name)
    if flag is None:
        raise UsageError(f"flag provided but not defined: -{name}", where)
    if flag.kind == "bool":
        if not eq:
            into[flag.dest] = True
        elif inline.lower() in _TRUE:
            into[flag.dest] = True
        elif inline.lower() in _FALSE:
            into[flag.dest] = False
        else:
            raise UsageError(f"invalid boolean value {inline!r} for -{name}", where)
        return i + 1
    if not eq:
        if i + 1 >= len(argv):
            raise UsageError(f"flag needs an argument: -{name}", where)
        inline = argv[i + 1]
        i += 1
    value = _convert(flag, inline, where or "")
    if flag.kind == "list":
        into.setdefault(flag.dest, [])
        into[flag.dest].append(value)  # type: ignore[union-attr]
    else:
        into[flag.dest] = value
    return i + 1


def _is_flag(token: str) -> bool:
    return token.startswith("-") and token != "-" and len(token) > 1


def parse(argv: list[str]) -> Parsed:
    """Parse argv (without the program name)."""
    p = Parsed()
    i = 0
    while i < len(argv) and _is_flag(argv[i]):
        if argv[i] == "--":
            i += 1
            break
        i = _take_flag(argv, i, GLOBAL_FLAGS, p.globals, None)
    if i >= len(argv):
        return p
    name = argv[i]
    if name in ("help", "h"):
        p.help = True
        if i + 1 < len(argv):
            p.command = lookup(argv[i + 1])
            if p.command is None:
                raise UsageError(f"No help topic for '{argv[i + 1]}'")
        return p
    cmd = lookup(name)
    if cmd is None:
        raise UsageError(f"No help topic for '{name}'")
    p.command = cmd
    p.options = {f.dest: _copy(f.default) for f in cmd.flags}
    _parse_command(argv[i + 1:], cmd, p)
    return p


def _parse_command(argv: list[str], cmd: Command, p: Parsed) -> None:
    i = 0
    flags_done = False
    while i < len(argv):
        token = argv[i]
        if not flags_done and token == "--":
            flags_done = True
            i += 1
        elif not flags_done and _is_flag(token):
            i = _take_flag(argv, i, cmd.flags, p.options, cmd.name)
        else:
            p.args.append(token)
            i += 1
            if cmd.stop_at_positional:
                p.args.extend(argv[i:])
                break
    p.help = bool(p.options.pop("help", False))
    if p.help:
        return
    n = len(p.args)
    if cmd.max_args is not None and cmd.min_args == cmd.max_args and n != cmd.min_args:
        raise UsageError(f"\"{cmd.name}\" requires exactly {cmd.min_args} argument(s)",
                         cmd.name)
    if n < cmd.min_args:
        raise UsageError(f"\"{cmd.name}\" requires a minimum of {cmd.min_args} "
                         "argument(s)", cmd.name)
    if cmd.max_args is not None and n > cmd.max_args:
        raise UsageError(f"\"{cmd.name}\" requires a maximum of {cmd.max_args} "
                         "argument(s)", cmd.name)


__all__ = ["parse", "Parsed", "COMMANDS"]
