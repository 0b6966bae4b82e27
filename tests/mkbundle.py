#!/usr/bin/env python3
"""Build a busybox bundle: `python3 tests/mkbundle.py DIR [--pyrunc BIN] [-- ARGS...]`.

The rootfs comes from Debian's busybox-static; config.json is what
`pyrunc spec` writes (the embedded default), with the terminal off and the
process set to ARGS (a greeting by default).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import build_rootfs

GREETING = ["sh", "-c", "echo Hello from a pyrunc container; id; hostname; echo $(ls /)"]


def main(argv: list[str]) -> int:
    args = list(argv)
    process_args = GREETING
    if "--" in args:
        process_args = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    pyrunc = shutil.which("pyrunc") or "pyrunc"
    if "--pyrunc" in args:
        i = args.index("--pyrunc")
        pyrunc = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.stderr.write(__doc__)
        return 2
    bundle = os.path.abspath(args[0])
    os.makedirs(bundle, exist_ok=True)
    os.chmod(bundle, 0o755)
    if os.path.exists(os.path.join(bundle, "config.json")):
        os.unlink(os.path.join(bundle, "config.json"))
    build_rootfs(os.path.join(bundle, "rootfs"))
    subprocess.run([pyrunc, "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        config = json.load(f)
    config["process"]["terminal"] = False
    config["process"]["args"] = process_args
    with open(path, "w") as f:
        json.dump(config, f, indent="\t")
    print(f"bundle ready: {bundle}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
