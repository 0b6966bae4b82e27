"""The launcher (pyrunc/launcher.py): the entry script and its sealed copy of
the interpreter, which must find the same standard library as the original
wherever it is put."""
from __future__ import annotations

import os
import subprocess
import sys

from pyrunc import launcher


def test_sealed_copy_runs_pyrunc_with_the_same_python(tmp_path):
    dest = str(tmp_path / "bin" / "pyrunc")
    os.makedirs(os.path.dirname(dest))
    sealed = str(tmp_path / "sealed")
    warning = launcher.write(dest, sealed_dir=sealed)
    copy = os.path.join(sealed, "bin", "python")
    try:
        if os.geteuid() == 0:
            assert warning == "", warning  # root may set the immutable flag
            res = subprocess.run(["lsattr", copy], capture_output=True, text=True)
            assert res.stdout.split()[0].count("i") == 1, res.stdout
        with open(dest) as f:
            assert f.readline() == f"#!{copy} -IS\n"
        out = subprocess.run([dest, "--version"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("pyrunc version"), out.stdout
        base = subprocess.run([copy, "-IS", "-c", "import sys; print(sys.base_prefix)"],
                              capture_output=True, text=True).stdout.strip()
        assert base == sys.base_prefix
    finally:
        if os.path.exists(copy):
            try:
                launcher.set_immutable(copy, False)
            except OSError:
                pass
