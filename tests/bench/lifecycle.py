#!/usr/bin/env python3
"""Benchmark: N sequential containers through create/start/delete and through
`run`, and N `exec`s into a running container, for pyrunc beside runc (and
crun, where this host lets it run), in one run, reported as ratios to runc.
Also the peak RSS of each runtime command. Needs root and busybox-static.

    python3 tests/bench/lifecycle.py [-n 30] [--pyrunc /usr/local/bin/pyrunc]

A benchmark, not a test: it asserts nothing about time.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from helpers import build_rootfs


def _spawn(argv: list[str]) -> tuple[float, int]:
    """(seconds, exit status) of one call, stdio on /dev/null."""
    devnull = os.open(os.devnull, os.O_RDWR)
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                       (os.POSIX_SPAWN_DUP2, devnull, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(devnull)
    return elapsed, os.waitstatus_to_exitcode(status)


def _peak_rss(argv: list[str]) -> int:
    """Peak RSS in KiB of one call. Measured through busybox's `time`: a child's
    ru_maxrss includes the memory of whatever process exec'd it, so it must be
    a small one, not this Python process. busybox reports ru_maxrss (KiB)
    converted as if it were pages, hence the division."""
    with tempfile.TemporaryFile() as err:
        subprocess.run(["/bin/busybox", "time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                       stderr=err, stdin=subprocess.DEVNULL)
        err.seek(0)
        last = err.read().decode().strip().splitlines()[-1]
    return int(last) * 1024 // os.sysconf("SC_PAGE_SIZE")


class Result:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lifecycle: list[float] = []
        self.run: list[float] = []
        self.exec: list[float] = []
        self.rss: dict[str, int] = {}
        self.error = ""


def bench_runtime(name: str, binary: str, bundle: str, n: int) -> Result:
    res = Result(name)
    root = tempfile.mkdtemp(prefix=f"bench-{name}-")
    base = [binary, "--root", root]
    try:
        for i in range(n + 2):  # two warm-up rounds
            cid = f"b{i}"
            total = 0.0
            for step in (["create", "--bundle", bundle, cid], ["start", cid],
                         ["delete", "--force", cid]):
                if step[0] == "delete":
                    _wait_stopped(base, cid)
                secs, code = _spawn(base + step)
                if code != 0:
                    res.error = _why(base, step, code)
                    return res
                total += secs
            secs, code = _spawn(base + ["run", "--bundle", bundle, f"r{i}"])
            if code != 0:
                res.error = f"run exited {code}"
                return res
            if i >= 2:
                res.lifecycle.append(total)
                res.run.append(secs)
        res.error = _bench_exec(res, base, bundle, n)
        if res.error:
            return res
        for i in range(3):  # peak RSS, in a separate pass (the wrapper costs time)
            cid = f"m{i}"
            for step in (["create", "--bundle", bundle, cid], ["start", cid],
                         ["delete", "--force", cid], ["run", "--bundle", bundle, f"mr{i}"]):
                if step[0] == "delete":
                    _wait_stopped(base, cid)
                res.rss[step[0]] = max(res.rss.get(step[0], 0), _peak_rss(base + step))
    finally:
        for cid in os.listdir(root):
            subprocess.run(base + ["delete", "--force", cid], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return res


def _bench_exec(res: Result, base: list[str], bundle: str, n: int) -> str:
    """`exec ID true` into one running container (every `docker exec`)."""
    if _spawn(base + ["run", "--detach", "--bundle", bundle + "-sleep", "x"])[1] != 0:
        return "run --detach exited non-zero"
    try:
        for i in range(n + 2):
            secs, code = _spawn(base + ["exec", "x", "true"])
            if code != 0:
                return f"exec exited {code}"
            if i >= 2:
                res.exec.append(secs)
    finally:
        subprocess.run(base + ["delete", "--force", "x"], capture_output=True)
    return ""


def _why(base: list[str], step: list[str], code: int) -> str:
    """The failing command's own message (e.g. crun refuses hybrid cgroups)."""
    subprocess.run(base + ["delete", "--force", step[-1]], capture_output=True)
    out = subprocess.run(base + step, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    subprocess.run(base + ["delete", "--force", step[-1]], capture_output=True)
    lines = (out.stderr or out.stdout).strip().splitlines()
    return f"{step[0]} exited {code}: {lines[-1] if lines else ''}"


def _wait_stopped(base: list[str], cid: str) -> None:
    """`true` exits at once; delete without --force wants it stopped, so poll
    (outside the timed part)."""
    for _ in range(500):
        out = subprocess.run(base + ["state", cid], capture_output=True, text=True).stdout
        if '"stopped"' in out:
            return
        time.sleep(0.002)


def _cell(times: list[float], ref: list[float] | None, width: int, gap: str = " ") -> str:
    """'mean ms (median ms) ratio-to-runc x' for one mode."""
    mean, median = statistics.mean(times) * 1e3, statistics.median(times) * 1e3
    ratio = mean / (statistics.mean(ref) * 1e3) if ref else float("nan")
    return f"{mean:{width}.1f} ms ({median:6.1f} ms){gap}{ratio:5.2f}x"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=30, help="containers per runtime and mode")
    ap.add_argument("--pyrunc", default=shutil.which("pyrunc") or "pyrunc")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                    help="another runtime binary in the same run (say an older pyrunc)")
    args = ap.parse_args()
    top = tempfile.mkdtemp(prefix="bench-bundle-")
    os.chmod(top, 0o755)
    build_rootfs(os.path.join(top, "rootfs"))  # config.json names it "rootfs"
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    from pyrunc.default_spec import default_spec

    cfg = default_spec()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["true"]
    cfg["ociVersion"] = "1.0.2"  # nothing newer is used; crun 1.8 refuses later versions
    with open(os.path.join(top, "config.json"), "w") as f:
        json.dump(cfg, f)
    # The same rootfs with a process that stays up, for exec.
    os.mkdir(top + "-sleep")
    cfg["root"]["path"] = os.path.join(top, "rootfs")  # runc refuses a symlinked rootfs
    cfg["process"]["args"] = ["sleep", "1000"]
    with open(os.path.join(top + "-sleep", "config.json"), "w") as f:
        json.dump(cfg, f)
    candidates = [("pyrunc", args.pyrunc)] + [tuple(a.split("=", 1)) for a in args.also] + [
        ("runc", shutil.which("runc")), ("crun", shutil.which("crun"))]
    results = [bench_runtime(name, path, top, args.n) for name, path in candidates if path]
    shutil.rmtree(top, ignore_errors=True)
    shutil.rmtree(top + "-sleep", ignore_errors=True)
    ref = next((r for r in results if r.name == "runc" and not r.error), None)
    print(f"{args.n} containers per mode, busybox `true`, mean (median) per container")
    print(f"{'runtime':8} {'create+start+delete':>26} {'ratio':>6} {'run':>22} {'ratio':>6}"
          f" {'exec':>22} {'ratio':>6}   peak RSS KiB (create/start/delete/run)")
    for r in results:
        if r.error:
            print(f"{r.name:8} failed: {r.error}")
            continue
        rss = "/".join(str(r.rss.get(k, 0)) for k in ("create", "start", "delete", "run"))
        print(f"{r.name:8} {_cell(r.lifecycle, ref and ref.lifecycle, 10, gap='   ')} "
              f"{_cell(r.run, ref and ref.run, 8)} {_cell(r.exec, ref and ref.exec, 8)}   {rss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
