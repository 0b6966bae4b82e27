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
    """runc's default spec (as `pyrunc spec` writes it on a cgroup v2 host, so
    with a cgroup namespace on every host), without a terminal."""
    sys.path.insert(0, REPO)
    from pyrunc.default_spec import default_spec

    cfg = default_spec(cgroupns=True)
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

    def write(self) -> Bundle:
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)
        return self

    def set(self, dotted: str, value: object) -> Bundle:
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

    def spawn(self, *args: str) -> Background:
        """Start a command and return at once (races, kills in mid-command)."""
        return Background(self.cmd(*args), self.env)

    def container_ids(self) -> list[str]:
        if not os.path.isdir(self.root):
            return []
        return sorted(os.listdir(self.root))

    def cleanup(self) -> None:
        for cid in self.container_ids():
            self.run("delete", "--force", cid)


class Background:
    """A command running in the background of the test, in a session of its
    own (its pid is the session id of whatever it forks: session_processes),
    its output going to files: a container inherits them, so pipes would not
    see EOF."""

    def __init__(self, argv: list[str], env: dict | None = None) -> None:
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, env=env, start_new_session=True)
        self.pid = self.proc.pid

    def finish(self, timeout: float = 60) -> subprocess.CompletedProcess:
        """Wait for it; its exit status and output."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.proc.args} did not return within {timeout}s") from None
        texts = []
        for f in (self._out, self._err):
            f.seek(0)
            texts.append(f.read().decode(errors="replace"))
            f.close()
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, *texts)


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
    """This process's cgroup in the hierarchy of `controller` ('' for cgroup2,
    'name=systemd' for a named one, "cpu,cpuacct" for co-mounted ones)."""
    wanted = set(controller.split(",")) - {""}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if (wanted and wanted <= set(ctrls.split(","))) or (not wanted and ctrls == ""):
                return path
    return "/"


def cgroup_mounts() -> list[tuple[str, str]]:
    """(mount point, this process's cgroup as seen below it) for every cgroup
    hierarchy mounted on the host (v1, named, cgroup2; wherever mounted and
    however co-mounted), from /proc/self/mountinfo."""
    with open("/proc/self/cgroup") as f:
        mine = [line.rstrip("\n").split(":", 2)[1:] for line in f]
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], set(fields[sep + 3].split(","))
            root, mountpoint = fields[3], fields[4]
            for ctrls, path in mine:
                if fstype == "cgroup2" and ctrls == "":
                    pass
                elif not (fstype == "cgroup" and ctrls and set(ctrls.split(",")) <= options):
                    continue
                rel = os.path.relpath(path, root)
                if rel != ".." and not rel.startswith("../"):  # visible below this mount
                    out.append((mountpoint, os.path.normpath(os.path.join(mountpoint, rel))))
    return out


def cgroup_dirs_for(cid: str) -> list[str]:
    """Where a container with the default cgroupsPath would have cgroups, on
    every mounted hierarchy."""
    out, seen = [], set()
    for _mountpoint, mine in cgroup_mounts():
        d = os.path.join(mine, cid)
        try:
            st = os.stat(d)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) not in seen:  # one hierarchy mounted twice
            seen.add((st.st_dev, st.st_ino))
            out.append(d)
    return sorted(out)


def mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f
                if line.split()[4] == path or line.split()[4].startswith(path + "/")]


def session_processes(sid: int) -> list[int]:
    """Live processes of session sid. A command started with
    start_new_session=True leads its own session, and whatever it forks
    stays in it, orphaned or not, until it calls setsid(): this finds the
    children of a killed runtime that never joined the container's cgroups."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            out.append(int(entry))
    return out


def _poll(probe, timeout: float):
    """probe() until it returns something empty or the deadline passes (the
    VM's PID 1 reaps orphans only every 1-2 s); its last answer."""
    deadline = time.monotonic() + timeout
    got = probe()
    while got and time.monotonic() < deadline:
        time.sleep(0.05)
        got = probe()
    return got


def assert_no_crash(proc: subprocess.CompletedProcess, what: str = "") -> None:
    """A runtime command failed cleanly, if at all: not killed by a signal, no
    Python traceback, no Go panic, no pyrunc "internal error" (the CLI's
    catch-all for an exception it did not expect: a bug all the same)."""
    where = f" ({what})" if what else ""
    text = proc.stdout + proc.stderr
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}{where}"
    for sign in ("Traceback (most recent call last)", "internal error", "panic:", "goroutine "):
        assert sign not in text, f"crashed{where}:\n{text}"


STATUSES = ("creating", "created", "running", "paused", "stopped")


def state_or_absent(runtime: Runtime, cid: str, where: str = "") -> dict | None:
    """`state ID` as callers rely on it, at any moment: the state (valid JSON,
    a known status), or None where it says that the container does not
    exist (exit 1). Anything else, a crash first of all, fails the test."""
    st = runtime.run("state", cid)
    assert_no_crash(st, where)
    if st.returncode == 0:
        doc = json.loads(st.stdout)
        assert doc["id"] == cid and doc["status"] in STATUSES, (where, doc)
        return doc
    assert st.returncode == 1, (where, st.returncode, st.stderr)
    assert "container does not exist" in st.stderr, (where, st.stderr)
    return None


def delete_force(runtime: Runtime, cid: str, where: str = "") -> None:
    """`delete --force ID` succeeds, whatever state the container is in."""
    gone = runtime.run("delete", "--force", cid)
    assert_no_crash(gone, where)
    assert gone.returncode == 0, f"{where}: delete --force failed: {gone.stderr}"


def create_timing(runtime: Runtime, bundle: Bundle, cid: str,
                  status: int = 0) -> tuple[float, float]:
    """Median wall time of a complete `create` of this bundle (which exits
    with status), and median time at which its state directory appears
    (from then on create works on the host: files, cgroups, processes).
    Polled every millisecond (waiting with a timeout would add up to 50 ms:
    subprocess polls)."""
    bundle.write()
    state_dir = os.path.join(runtime.root, cid)
    totals, reserved = [], []
    for _ in range(3):
        t0 = time.monotonic()
        create = runtime.spawn("create", "--bundle", bundle.path, cid)
        seen = None
        while create.proc.poll() is None and time.monotonic() - t0 < 60:
            if seen is None and os.path.exists(state_dir):
                seen = time.monotonic() - t0
            time.sleep(0.001)
        totals.append(time.monotonic() - t0)
        reserved.append(seen if seen is not None else totals[-1])
        done = create.finish()
        assert done.returncode == status, done.stderr
        runtime.run("delete", "--force", cid, check=True)
    assert_nothing_left(runtime, cid, bundle=bundle)
    return sorted(totals)[1], sorted(reserved)[1]  # medians


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


def assert_nothing_left(runtime: Runtime, cid: str, session: int = 0,
                        bundle: Bundle | None = None) -> None:
    """A failed command leaves no state directory, cgroup (on any hierarchy),
    process or mount behind. session: also no live process in the session
    of a runtime command started with start_new_session=True (children that
    never reached the cgroups; given a few seconds to exit by themselves).
    bundle: also no mount left on the host below the bundle or its rootfs."""
    assert cid not in runtime.container_ids(), f"state directory left in {runtime.root}"
    left = _poll(lambda: processes_of(cid), 5)
    assert left == [], f"processes left in the container's cgroup: {_cmdlines(left)}"
    if session:
        left = _poll(lambda: session_processes(session), 5)
        assert left == [], f"processes of the killed command's session left: {_cmdlines(left)}"
    assert cgroup_dirs_for(cid) == [], f"cgroup directories left: {cgroup_dirs_for(cid)}"
    assert mounts_under(runtime.root) == [], f"mounts left: {mounts_under(runtime.root)}"
    if bundle is not None:
        for path in (os.path.realpath(bundle.path), os.path.realpath(bundle.rootfs)):
            assert mounts_under(path) == [], f"mounts left: {mounts_under(path)}"


def _cmdlines(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out.append(f"{pid}: " + f.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass
    return out


def reclaim(cid: str) -> None:
    """Remove what a runtime left of cid after a test that failed (or an
    expected failure of runc): SIGKILL its processes (thawed first) and
    remove its cgroup directories, deepest first, on every hierarchy."""
    for d in cgroup_dirs_for(cid):
        for name, value in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
            try:
                with open(os.path.join(d, name), "w") as f:
                    f.write(value)
            except OSError:
                pass
    for pid in processes_of(cid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    for d in cgroup_dirs_for(cid):
        for sub, _dirs, _files in sorted(os.walk(d), key=lambda w: -w[0].count("/")):
            while True:
                try:
                    os.rmdir(sub)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)


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
