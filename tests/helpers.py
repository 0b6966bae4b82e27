"""Test helpers: a busybox bundle, and the runtimes under test (pyrunc, and
runc as the reference) driven through their command lines."""
from __future__ import annotations

import copy
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUSYBOX = "/bin/busybox"


def build_rootfs(path: str) -> str:
    """A busybox rootfs from Debian's busybox-static: every applet as a symlink."""
    os.makedirs(os.path.join(path, "bin"), exist_ok=True)
    for d in ("proc", "sys", "dev", "etc", "tmp", "root", "home/user", "var", "run"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(path, "bin", "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for name in applets:
        link = os.path.join(path, "bin", name)
        if name != "busybox" and not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\ntty:x:5:\nuser:x:1000:\nnogroup:x:65534:\n")
    return path


def base_config(rootfs: str, args: list[str]) -> dict:
    """runc's default spec (as `pyrunc spec` writes it), without a terminal."""
    sys.path.insert(0, REPO)
    from pyrunc.default_spec import default_spec

    cfg = default_spec()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = list(args)
    cfg["root"] = {"path": rootfs, "readonly": True}
    return cfg


class Bundle:
    def __init__(self, path: str, rootfs: str, args: list[str] | None = None) -> None:
        self.path = path
        os.makedirs(path, exist_ok=True)
        self.config = base_config(rootfs, args or ["true"])

    @property
    def rootfs(self) -> str:
        return self.config["root"]["path"]

    def write(self) -> "Bundle":
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)
        return self

    def set(self, dotted: str, value: object) -> "Bundle":
        node = self.config
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        return self.write()

    def copy(self) -> dict:
        return copy.deepcopy(self.config)


class Runtime:
    """A runtime binary under test, with its own state root."""

    def __init__(self, name: str, argv: list[str], root: str, env: dict | None = None) -> None:
        self.name = name
        self.argv = argv
        self.root = root
        self.env = env

    def __repr__(self) -> str:
        return f"Runtime({self.name})"

    def cmd(self, *args: str, root: bool = True) -> list[str]:
        return self.argv + (["--root", self.root] if root else []) + list(args)

    def run(self, *args: str, check: bool = False, timeout: float = 60, input: str | None = None,
            root: bool = True, **kw) -> subprocess.CompletedProcess:
        """Run a command; stdout/stderr are captured through files, not pipes: a
        container inherits them as its stdio, so a pipe would not see EOF
        until the container exits."""
        if kw.pop("capture_output", True) and "stdout" not in kw:
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                proc = subprocess.run(self.cmd(*args, root=root), timeout=timeout,
                                      input=input, env=self.env, stdout=out, stderr=err,
                                      text=True, **kw)
                out.seek(0)
                err.seek(0)
                proc.stdout = out.read().decode(errors="replace")
                proc.stderr = err.read().decode(errors="replace")
        else:
            proc = subprocess.run(self.cmd(*args, root=root), text=True, timeout=timeout,
                                  input=input, env=self.env, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"{self.name} {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def state(self, cid: str) -> dict:
        return json.loads(self.run("state", cid, check=True).stdout)

    def status(self, cid: str) -> str:
        proc = self.run("state", cid)
        if proc.returncode != 0:
            return "absent"
        return json.loads(proc.stdout)["status"]

    def wait_status(self, cid: str, want: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while True:
            got = self.status(cid)
            if got == want or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def create(self, bundle: Bundle, cid: str, *extra: str, **kw) -> subprocess.CompletedProcess:
        bundle.write()
        return self.run("create", "--bundle", bundle.path, *extra, cid, **kw)

    def run_container(self, bundle: Bundle, cid: str, *extra: str, **kw):
        bundle.write()
        return self.run("run", "--bundle", bundle.path, *extra, cid, **kw)

    def container_ids(self) -> list[str]:
        if not os.path.isdir(self.root):
            return []
        return sorted(os.listdir(self.root))

    def cleanup(self) -> None:
        for cid in self.container_ids():
            self.run("delete", "--force", cid)


def pyrunc_argv() -> list[str]:
    """How to call the pyrunc under test: $PYRUNC if set (an installed
    launcher), else this interpreter with the repository on sys.path."""
    env_bin = os.environ.get("PYRUNC")
    if env_bin:
        return [env_bin]
    return [sys.executable, "-c",
            f"import sys; sys.path.insert(0, {REPO!r}); from pyrunc.cli import run; "
            "sys.argv[0] = 'pyrunc'; run()"]


def proc_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout: float = 10) -> bool:
    """Processes orphaned to the VM's PID 1 are reaped only every 1-2 s; a
    zombie counts as gone."""
    deadline = time.monotonic() + timeout
    while proc_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def own_cgroup(controller: str) -> str:
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(",") or (controller == "" and ctrls == ""):
                return path
    return "/"


def cgroup_dirs_for(cid: str) -> list[str]:
    """Where a container with the default cgroupsPath would have cgroups."""
    out = []
    base = "/sys/fs/cgroup"
    if os.path.exists(os.path.join(base, "cgroup.controllers")):
        # pure cgroup v2: /sys/fs/cgroup is the one hierarchy's mount point
        d = os.path.join(base, own_cgroup("").lstrip("/"), cid)
        return [d] if os.path.isdir(d) else []
    for name in sorted(os.listdir(base)):
        mount = os.path.join(base, name)
        if not os.path.ismount(mount):
            continue
        key = "" if name == "unified" else ("name=systemd" if name == "systemd" else name)
        d = os.path.join(mount, own_cgroup(key).lstrip("/"), cid)
        if os.path.isdir(d):
            out.append(d)
    return out


def mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f
                if line.split()[4] == path or line.split()[4].startswith(path + "/")]


def processes_of(cid: str) -> list[int]:
    """Processes whose cgroup path names the container (any hierarchy)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup") as f:
                text = f.read()
        except OSError:
            continue
        if f"/{cid}\n" in text or f"/{cid}/" in text:
            if proc_alive(int(entry)):
                out.append(int(entry))
    return out


def files_under(*tops: str) -> dict[str, tuple[int, int]]:
    """Every file and directory under tops with (mtime_ns, size): what the
    host has, to compare before and after an attack."""
    out = {}
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    continue
                out[path] = (st.st_mtime_ns, st.st_size)
    return out


def assert_nothing_left(runtime: "Runtime", cid: str) -> None:
    """A failed command leaves no state directory, cgroup or process behind."""
    assert cid not in runtime.container_ids(), f"state directory left in {runtime.root}"
    deadline = time.monotonic() + 5
    while processes_of(cid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_of(cid) == [], "processes left in the container's cgroup"
    assert cgroup_dirs_for(cid) == [], "cgroup directories left"


def run_in_pty(argv: list[str], script: bytes = b"", env: dict | None = None,
               timeout: float = 20) -> tuple[str, int]:
    """Run argv with a real pseudo-terminal as its stdio (like a user's shell),
    typing `script` into it once it has started; (output, exit status)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env if env is not None else os.environ)
    if script:
        time.sleep(1.5)
        os.write(fd, script)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)


class ConsoleReceiver:
    """A console socket like containerd's or conmon's: accept once, one
    recvmsg with the name and exactly one fd."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.name = b""
        self.fds: list[int] = []
        self.error = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                self.name, self.fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
        except Exception as err:  # noqa: BLE001
            self.error = err

    def master(self) -> int:
        self.thread.join(30)
        assert self.error is None, self.error
        assert len(self.fds) == 1, self.fds
        return self.fds[0]

    def close(self) -> None:
        self.sock.close()
