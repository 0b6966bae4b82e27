"""Issue 9, class 1 (CVE-2024-21626): no fd of the runtime reaches the
container, and none is reachable while the container's paths are resolved.

runc's leak was a host directory fd open in its init while `process.cwd`
was resolved: cwd `/proc/self/fd/N` started the process in the host's
filesystem. Each case tries every N from 3 to 64 (runtime-linux.md
#runtimeLinuxFileDescriptors: only the fds the caller passes are the
process's) and checks what the host has afterwards: a process that escaped
writes a file where it lands; a read-only root means it cannot write
anywhere inside the container.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from helpers import files_under

FDS = range(3, 65)
MARK = "pwned-by-cwd"


def _escape_marks(*tops: str, inside: str = "/nonexistent") -> list[str]:
    """Marks a process (or a mount) left outside the container's root
    (`inside`: made within the root is no escape)."""
    return [p for p in files_under(*tops) if os.path.basename(p).startswith(MARK)
            and not p.startswith(inside + "/")]


def _inside(stdout: str) -> bool:
    """`pwd -P` printed a path inside the container (getcwd says
    "(unreachable)" for a directory outside the root)."""
    first = stdout.splitlines()[0] if stdout else ""
    return first.startswith("/") and "unreachable" not in stdout


def test_cwd_through_proc_self_fd_runtimeLinuxFileDescriptors(runtime, bundle, cid, tmp_path):
    """process.cwd = /proc/self/fd/N: the container never starts with its
    working directory outside its root (and so never writes there)."""
    bundle.config["root"]["readonly"] = True
    started = []
    for n in FDS:
        bundle.config["process"]["cwd"] = f"/proc/self/fd/{n}"
        bundle.config["process"]["args"] = ["sh", "-c", f"pwd -P; touch {MARK}-{n}"]
        res = runtime.run_container(bundle, f"{cid}-{n}", timeout=30)
        if res.returncode == 0 or res.stdout:
            started.append(n)
            assert _inside(res.stdout), (n, res.stdout, res.stderr)
    assert _escape_marks(runtime.root, str(tmp_path), "/run") == []
    if runtime.name != "runc":
        # pyrunc refuses a magic link as the cwd outright.
        assert started == []


def test_exec_cwd_through_proc_self_fd(runtime, bundle, cid, tmp_path):
    """exec --cwd /proc/self/fd/N: the same for a process joining a running
    container (the exec'd process has opened the container's namespaces)."""
    bundle.config["root"]["readonly"] = True
    bundle.config["process"]["args"] = ["sleep", "600"]
    runtime.run_container(bundle, cid, "--detach", check=True)
    for n in FDS:
        res = runtime.run("exec", "--cwd", f"/proc/self/fd/{n}", cid, "sh", "-c",
                          f"pwd -P; touch {MARK}-exec-{n}", timeout=30)
        if res.returncode == 0 or res.stdout:
            assert _inside(res.stdout), (n, res.stdout, res.stderr)
        elif runtime.name != "runc":
            assert "process.cwd" in res.stderr, res.stderr
    assert _escape_marks(runtime.root, str(tmp_path), "/run") == []


def test_program_through_proc_self_fd(runtime, bundle, cid):
    """process.args[0] = /proc/self/fd/N: execve would resolve it before
    close-on-exec applies, so the runtime's fds must be closed by then; no
    fd of the runtime is a program to run."""
    for n in FDS:
        bundle.config["process"]["args"] = [f"/proc/self/fd/{n}"]
        res = runtime.run_container(bundle, f"{cid}-{n}", timeout=30)
        assert res.returncode != 0, (n, res.stdout)


@pytest.mark.parametrize("preserve", [0, 2])
def test_only_the_callers_fds_reach_the_process(runtime, bundle, cid, preserve):
    """runtime-linux.md#runtimeLinuxFileDescriptors: fds 0-2 and those the
    caller passes (--preserve-fds), nothing of the runtime's."""
    bundle.config["process"]["args"] = ["sh", "-c", "ls /proc/self/fd"]
    bundle.write()
    cmd = runtime.cmd("run", "--bundle", bundle.path, "--preserve-fds", str(preserve), cid)
    opened = " ".join(f"{3 + i}</dev/null" for i in range(preserve))
    res = subprocess.run(["sh", "-c", f'exec "$@" {opened}', "sh"] + cmd,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    fds = sorted(int(x) for x in res.stdout.split())
    # ls opens the directory it lists: one more fd, the lowest free one.
    assert fds == list(range(3 + preserve + 1)), res.stdout


def test_mount_destination_through_a_magic_link(runtime, hostile, cid, tmp_path):
    """An image symlink to /proc/self/fd/N as a mount destination: the mount
    (and the directories made for it) stay inside the root; nothing is made
    in whatever directory the runtime had open as fd N."""
    rootfs = hostile.rootfs
    for n in FDS:
        link = os.path.join(rootfs, f"leak{n}")
        os.symlink(f"/proc/self/fd/{n}", link)
        hostile.config["mounts"].append({"destination": f"/leak{n}/{MARK}-mnt-{n}",
                                         "type": "tmpfs", "source": "tmpfs",
                                         "options": ["nosuid"]})
        res = runtime.run_container(hostile, f"{cid}-{n}", timeout=30)
        hostile.config["mounts"].pop()
        os.unlink(link)
        if runtime.name != "runc":
            assert res.returncode != 0, (n, res.stdout)
    assert _escape_marks(runtime.root, str(tmp_path), "/run", inside=rootfs) == []
