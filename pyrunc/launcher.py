"""Write a lean, sealed launcher for pyrunc: `python -m pyrunc.launcher DEST`.

The console script pip generates imports `re` before anything else (~8 ms
on every runtime command, and a lifecycle is three or more commands), and it
runs the interpreter with the caller's PYTHON* environment, so a caller's
PYTHONPATH could put code into a process running as root. The launcher runs
the interpreter isolated (-I) and imports only pyrunc. It also skips the
site module (-S), which costs ~3 ms in a virtualenv (setuptools' .pth hook),
and puts the directories pyrunc and its dependencies live in on sys.path.

The interpreter it runs is a private copy made immutable (FS_IMMUTABLE_FL),
in `sealed/` of the virtualenv pyrunc is installed in.
pyrunc's init and exec'd processes are forks of it until their execve, so
`/proc/PID/exe` of each is that file: a container that can reach them (one
granted CAP_SYS_PTRACE, say) must not be able to open it for writing and
replace the host's interpreter (CVE-2019-5736). runc copies its binary into
a sealed memfd at every start for the same reason; an immutable copy costs
nothing per command. An immutable file cannot be opened for writing, renamed
or removed, even by root, until the flag is cleared, which needs
CAP_LINUX_IMMUTABLE in the host's user namespace.
"""
from __future__ import annotations

import os
import sys

from .linux import fileio

TEMPLATE = """#!{python} -IS
import sys
sys.path += {paths!r}
from pyrunc.cli import run
run()
"""

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x10


def set_immutable(path: str, on: bool) -> None:
    """chattr +i / -i. OSError where the filesystem or the caller cannot."""
    import fcntl
    import struct

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        flags = struct.unpack("l", fcntl.ioctl(fd, FS_IOC_GETFLAGS, b"\0" * 8))[0]
        flags = flags | FS_IMMUTABLE_FL if on else flags & ~FS_IMMUTABLE_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("l", flags))
    finally:
        os.close(fd)


def sealed_interpreter(directory: str, python: str) -> tuple[str, str]:
    """Copy the interpreter to DIRECTORY/bin/python and make the copy
    immutable. DIRECTORY gets a pyvenv.cfg naming the real interpreter's
    home, as a virtualenv does, so that the copy finds the same standard
    library wherever it lives (a bare copy searches upwards from its own
    place and may find another Python's). Returns (path, warning): the
    warning says why the copy could not be sealed (it is used all the same)."""
    real = os.path.realpath(python)
    bindir = os.path.join(directory, "bin")
    os.makedirs(bindir, exist_ok=True)
    with open(os.path.join(directory, "pyvenv.cfg"), "w") as f:
        f.write(f"home = {os.path.dirname(real)}\ninclude-system-site-packages = false\n"
                f"version = {sys.version.split()[0]}\n")
    copy = os.path.join(bindir, "python")
    if os.path.exists(copy):
        try:
            set_immutable(copy, False)
        except OSError:
            pass
        os.unlink(copy)
    with open(real, "rb") as f:
        fileio.write_atomic(copy, f.read(), 0o555, exact_mode=True)
    try:
        set_immutable(copy, True)
    except OSError as err:
        return copy, (f"cannot make {copy} immutable ({err.strerror}): a container that "
                      "can ptrace pyrunc's processes could overwrite this interpreter")
    return copy, ""


def import_paths() -> list[str]:
    """The directories pyrunc and the dependencies it imports at run time
    live in (one site-packages when installed; more when run from a
    checkout)."""
    import importlib.util

    out: list[str] = []
    for name in ("pyrunc", "prctl", "pyroute2", "click"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            continue
        origin = os.path.abspath(spec.origin)
        top = (os.path.dirname(os.path.dirname(origin)) if spec.submodule_search_locations
               else os.path.dirname(origin))
        if top not in out:
            out.append(top)
    return out


def write(dest: str, python: str = sys.executable, sealed_dir: str | None = None,
          seal: bool = True) -> str:
    """Write the launcher; returns a warning ("" if none). The sealed copy
    goes to sealed_dir, by default `sealed/` in this interpreter's prefix
    (the virtualenv pyrunc is installed in)."""
    warning = ""
    if seal:
        python, warning = sealed_interpreter(sealed_dir or os.path.join(sys.prefix, "sealed"),
                                             python)
    fileio.write_atomic(dest, TEMPLATE.format(python=python, paths=import_paths()).encode(),
                        0o755, exact_mode=True)
    return warning


def main() -> int:
    args = sys.argv[1:]
    seal = "--no-seal" not in args
    args = [a for a in args if a != "--no-seal"]
    if len(args) != 1:
        sys.stderr.write("usage: python -m pyrunc.launcher [--no-seal] DEST\n")
        return 2
    warning = write(args[0], seal=seal)
    if warning:
        sys.stderr.write(f"pyrunc.launcher: warning: {warning}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
