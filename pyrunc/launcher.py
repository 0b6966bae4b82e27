"""Write a lean launcher script for pyrunc: `python -m pyrunc.launcher DEST`.

The console script pip generates imports `re` before anything else (~8 ms
on every runtime command, and a lifecycle is three or more commands), and it
runs the interpreter with the caller's PYTHON* environment, so a caller's
PYTHONPATH could put code into a process running as root. The launcher runs
this interpreter isolated (-I) and imports only pyrunc. It also skips the
site module (-S), which costs ~3 ms in a virtualenv (setuptools' .pth hook),
and puts the one directory pyrunc and its dependencies live in on sys.path.
"""
from __future__ import annotations

import os
import sys

TEMPLATE = """#!{python} -IS
import sys
sys.path.append({site!r})
from pyrunc.cli import run
run()
"""


def write(dest: str, python: str = sys.executable) -> None:
    import pyrunc

    site = os.path.dirname(os.path.dirname(os.path.abspath(pyrunc.__file__)))
    tmp = dest + ".tmp"
    with open(tmp, "w") as f:
        f.write(TEMPLATE.format(python=python, site=site))
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)


def main() -> int:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m pyrunc.launcher DEST\n")
        return 2
    write(sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
