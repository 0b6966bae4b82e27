"""Logging the way runc's callers read it.

`--log FILE --log-format json` writes one JSON object per line with the keys
level, msg and time (sorted, RFC3339 time with a zone, lowercase level with
`warning`, not `warn`): containerd takes the last `"level":"error"` entry as
the error text. Text format is logrus's `time="..." level=error msg="..."`.
Without --debug only warnings and errors are written. With no --log the lines
go to stderr; with --log a fatal error is also printed plainly to stderr,
because some callers (containerd's kill, conmon) only read stderr.
"""
from __future__ import annotations

import _json
import os
import sys
import time

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class _Logger:
    def __init__(self) -> None:
        self.path: str | None = None
        self.format = "text"
        self.threshold = _LEVELS["warning"]
        self._fd: int | None = None

    def configure(self, path: str | None, fmt: str, debug: bool) -> None:
        self.path = path or None
        self.format = fmt
        self.threshold = _LEVELS["debug" if debug else "warning"]

    def _line(self, level: str, msg: str) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.format == "json":
            return ('{"level":' + _json.encode_basestring(level) + ',"msg":'
                    + _json.encode_basestring(msg) + ',"time":"' + stamp + '"}\n')
        return f'time="{stamp}" level={level} msg={_json.encode_basestring(msg)}\n'

    def write(self, level: str, msg: str) -> None:
        if _LEVELS[level] < self.threshold:
            return
        data = self._line(level, msg).encode()
        if self.path is None:
            _write_all(2, data)
            return
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                                   | os.O_SYNC | os.O_CLOEXEC, 0o644)
            except OSError as err:
                _write_all(2, f"pyrunc: cannot open log file {self.path}: "
                              f"{err.strerror}\n".encode())
                self.path = None
                _write_all(2, data)
                return
        _write_all(self._fd, data)

    def fatal(self, msg: str) -> None:
        """Log the error that ends this invocation."""
        self.write("error", msg)
        if self.path is not None:
            _write_all(2, (msg + "\n").encode())


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            n = os.write(fd, data)
            data = data[n:]
    except OSError:
        pass


LOG = _Logger()


def debug(msg: str) -> None:
    LOG.write("debug", msg)


def warning(msg: str) -> None:
    LOG.write("warning", msg)


def flush_stdio() -> None:
    """Flush Python's buffers before a fork, so nothing is written twice."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
