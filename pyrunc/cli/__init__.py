"""pyrunc's command line: parse, dispatch to one handler, turn errors into
exit status 1 and a log line (runc's contract with its callers)."""
from __future__ import annotations

import os
import sys


def _ensure_stdio() -> None:
    """If a caller closed fd 0-2, fill them with /dev/null so that no file of
    ours takes those numbers (they would become the container's stdio)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open("/dev/null", os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def main(argv: list[str] | None = None) -> int:
    _ensure_stdio()
    from .. import log
    from ..errors import PyruncError, UsageError
    from .argv import parse

    args = sys.argv[1:] if argv is None else argv
    try:
        parsed = parse(args)
    except UsageError as err:
        _configure_log_best_effort(args)
        log.LOG.fatal(str(err))
        return 1
    g = parsed.globals
    log.LOG.configure(g.get("log"), g.get("log_format") or "text", bool(g.get("debug")))
    if g.get("version"):
        from .commands import version_text

        sys.stdout.write(version_text())
        return 0
    if parsed.help or g.get("help") or parsed.command is None:
        from .help import render

        sys.stdout.write(render(parsed.command, _prog_name()))
        return 0
    from .commands import HANDLERS, Context, resolve_root

    name = parsed.command.name
    try:
        ctx = Context(g, resolve_root(g))
        return HANDLERS[name](ctx, parsed.options, parsed.args)
    except PyruncError as err:
        log.LOG.fatal(_message(name, err))
        return 1
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        log.LOG.fatal(_message(name, PyruncError(f"{err.strerror or err}:{where}".rstrip(":"))))
        return 1
    except Exception as err:  # noqa: BLE001 - a bug: still a clean exit 1 with the error named
        if g.get("debug"):
            import traceback

            log.debug(traceback.format_exc())
        log.LOG.fatal(_message(name, PyruncError(f"internal error: {type(err).__name__}: {err}")))
        return 1


def _prog_name() -> str:
    """The name pyrunc was called by (a caller may install it as `runc`)."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "pyrunc" if not name or name.endswith(".py") or name.startswith("-") else name


def run() -> None:
    """The program's entry point: main(), then exit without the interpreter's
    teardown (freeing every module and object costs ~7 ms on the create path,
    and there is nothing left to clean up: files are closed, logs unbuffered)."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1
    os._exit(code)


def _message(command: str, err: Exception) -> str:
    """runc prefixes failures of create/run with what failed."""
    from ..errors import ProcessStartError

    text = str(err)
    if isinstance(err, ProcessStartError):
        text = f"unable to start container process: {text}"
    if command in ("create", "run"):
        # Under the name it was called by, as runc does ("runc run failed"
        # when a caller installed pyrunc as runc).
        return f"{_prog_name()} {command} failed: {text}"
    return text


def _configure_log_best_effort(args: list[str]) -> None:
    """A usage error still goes to --log in --log-format if they parsed."""
    from .. import log

    path, fmt = None, "text"
    for i, token in enumerate(args):
        name, eq, value = token.lstrip("-").partition("=")
        if name in ("log", "log-format"):
            if not eq and i + 1 < len(args):
                value = args[i + 1]
            if name == "log":
                path = value
            elif value in ("text", "json"):
                fmt = value
    log.LOG.configure(path, fmt, False)
