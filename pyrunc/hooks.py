"""Running OCI hooks (config.md#configHooks): each hook gets the container
state on stdin, its own args and env, and is killed when it outlives its
timeout. Its output is kept for the error message.

Plain fork/execve with a pidfd instead of subprocess: subprocess costs
~15 ms to import, and the init (which runs createContainer and
startContainer hooks) must stay single-threaded.
"""
from __future__ import annotations

import _signal
import os
import select
import time

from . import jsonio
from .errors import PyruncError

_OUTPUT_LIMIT = 4096


class HookError(PyruncError):
    pass


def run_all(kind: str, hooks: list, state: dict, env: list[str] | None = None) -> None:
    """Run the hooks of one kind in order; the first failure raises. A hook
    without env of its own gets `env` (the container process's, for the hooks
    run in the container, as in runc), or else the runtime's environment."""
    if not hooks:
        return
    data = jsonio.dumps(state).encode()
    for i, hook in enumerate(hooks):
        run_one(hook.path, hook.args, hook.env if hook.env is not None else env, hook.timeout,
                data, f"{kind}[{i}]")


def run_each(kind: str, hooks: list, state: dict) -> list[str]:
    """Run every hook of one kind even if some fail (poststop: "the remaining
    hooks and lifecycle continue as if the hook had succeeded"); return the
    failures."""
    data = jsonio.dumps(state).encode()
    failures = []
    for i, hook in enumerate(hooks):
        try:
            run_one(hook.path, hook.args, hook.env, hook.timeout, data, f"{kind}[{i}]")
        except HookError as err:
            failures.append(str(err))
    return failures


def run_one(path: str, args: list[str], env: list[str] | None, timeout: int | None,
            stdin_data: bytes, name: str) -> None:
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        _child(path, args, env, in_r, out_w)
    os.close(in_r)
    os.close(out_w)
    try:
        status, output = _supervise(pid, in_w, out_r, timeout, stdin_data)
    finally:
        os.close(out_r)
    text = output.decode(errors="replace").strip()
    detail = f", output: {text}" if text else ""
    # The field, then runc's words ("error running KIND hook #I"), which
    # callers and runc's tests look for.
    kind, _, index = name.partition("[")
    where = f"hooks.{name}: error running {kind} hook #{index.rstrip(']')}: {path}"
    if status is None:
        raise HookError(f"{where}: timed out after {timeout}s and was killed{detail}")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signame = (_signal.strsignal(sig) or "").lower()  # Go's wording: "bad system call"
        raise HookError(f"{where}: killed by signal {sig} ({signame}){detail}")
    code = os.WEXITSTATUS(status)
    if code != 0:
        raise HookError(f"{where}: exit status {code}{detail}")


def _child(path: str, args: list[str], env: list[str] | None, in_r: int, out_w: int) -> None:
    try:
        from .linux.signals import reset_all

        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        reset_all()
        environ = (dict(os.environ) if env is None else
                   dict(e.split("=", 1) for e in env if "=" in e))
        os.execve(path, args or [path], environ)
    except OSError as err:
        os.write(2, f"exec {path}: {err.strerror}".encode())
    except BaseException as err:  # noqa: BLE001
        os.write(2, f"exec {path}: {err}".encode())
    os._exit(127)


def _supervise(pid: int, in_w: int, out_r: int, timeout: int | None,
               stdin_data: bytes) -> tuple[int | None, bytes]:
    """Feed stdin, collect output, wait; a None status means it timed out and
    was killed."""
    pidfd = os.pidfd_open(pid)
    os.set_blocking(in_w, False)
    deadline = time.monotonic() + timeout if timeout else None
    output = bytearray()
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(out_r, select.POLLIN)
    poller.register(in_w, select.POLLOUT)
    stdin_open = True
    try:
        while True:
            wait_ms = None
            if deadline is not None:
                # poll() takes a C int of milliseconds (~24.8 days); a longer
                # timeout is waited for in several polls.
                wait_ms = min(max(0, int((deadline - time.monotonic()) * 1000)), 2**31 - 1)
            events = poller.poll(wait_ms)
            if not events and deadline is not None and time.monotonic() >= deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return None, bytes(output)
            for fd, _ev in events:
                if fd == in_w and stdin_open:
                    stdin_data = _feed(in_w, stdin_data)
                    if not stdin_data:
                        poller.unregister(in_w)
                        os.close(in_w)
                        stdin_open = False
                elif fd == out_r:
                    chunk = os.read(out_r, 4096)
                    if not chunk:
                        poller.unregister(out_r)
                    output += chunk[: max(0, _OUTPUT_LIMIT - len(output))]
                elif fd == pidfd:
                    _, status = os.waitpid(pid, 0)
                    _drain(out_r, output)
                    return status, bytes(output)
    finally:
        os.close(pidfd)
        if stdin_open:
            os.close(in_w)


def _feed(in_w: int, data: bytes) -> bytes:
    """Write what the pipe takes and return the rest; a hook that closed its
    stdin (EPIPE) gets nothing more."""
    try:
        return data[os.write(in_w, data):]
    except BlockingIOError:
        return data
    except OSError:
        return b""


def _drain(fd: int, output: bytearray) -> None:
    os.set_blocking(fd, False)
    try:
        while len(output) < _OUTPUT_LIMIT:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            output += chunk[: _OUTPUT_LIMIT - len(output)]
    except (BlockingIOError, OSError):
        pass
