"""OCI hooks: config.md#configHooks (configHooksPrestart,
configHooksCreateRuntime, configHooksCreateContainer,
configHooksStartContainer, configHooksPoststart, configHooksPoststop) and
runtime.md#runtimeLifecycle steps 3-13, against pyrunc and runc.

Every hook is the same shell script (host /bin/sh; for startContainer a
copy inside the container's private rootfs, where /bin/sh is busybox). It
appends one tab-separated record to a log in a host directory, which is
bind-mounted at /hooklog for the hooks that run after pivot_root:

    label, argv (its own /proc/self/cmdline), environ (/proc/self/environ),
    mnt/pid/net namespace links, $$, output of a check snippet, stdin state

runc 1.1 deviates from the spec in places (it runs poststart hooks inside
`create`, with status "created"; a failing startContainer hook does not
fail `start`; ...): those runc cases are skipped with the reason.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from helpers import Bundle, assert_nothing_left, cgroup_dirs_for, wait_gone

KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop")
RUNTIME_NS = ("prestart", "createRuntime", "poststart", "poststop")
CONTAINER_NS = ("createContainer", "startContainer")
STATUS = {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
          "startContainer": "created", "poststart": "running", "poststop": "stopped"}
ANNOTATIONS = {"com.example.hooks": "yes", "org.example/second": "a b"}
HOOK_PATH_ENV = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

RUNC_POSTSTART_AT_CREATE = ("runc 1.1 runs poststart hooks inside `create` (libcontainer "
                            "linuxContainer.start), before the program runs, with status "
                            "\"created\"")

# LABEL LOG [RC [CHECK]]: append one record to LOG, then exit RC (or, with
# RC=sleep, exec sleep 30). /proc/self is opened by the shell itself (exec
# 3<...): in createContainer hooks /proc is still the host's procfs, where
# /proc/$$ would name another process.
HOOK_SCRIPT = r"""#!/bin/sh
label=$1 log=$2 rc=${3:-0} check=$4
state=$(cat)
exec 3</proc/self/cmdline 4</proc/self/environ
argv=$(tr '\000\t\n' '\001  ' <&3)
envs=$(tr '\000\t\n' '\001  ' <&4)
exec 3<&- 4<&-
pid=$(printf '%s' "$state" | tr -d ' \n' | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
out=
if [ -n "$check" ]; then out=$(eval "$check" 2>&1 | tr '\t\n' '  '); fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$argv" "$envs" \
    "$(readlink /proc/self/ns/mnt)" "$(readlink /proc/self/ns/pid)" \
    "$(readlink /proc/self/ns/net)" "$$" "$out" "$(printf '%s' "$state" | tr '\t\n' '  ')" \
    >> "$log"
if [ "$rc" = sleep ]; then exec sleep 30; fi
exit "$rc"
"""


def _nul_list(text: str) -> list[str]:
    """A NUL-terminated list (cmdline, environ; NUL written as \\x01)."""
    if not text:
        return []
    assert text.endswith("\x01"), repr(text)
    return text[:-1].split("\x01")


class Record:
    def __init__(self, line: str) -> None:
        fields = line.rstrip("\n").split("\t")
        assert len(fields) == 9, f"malformed hook record: {line!r}"
        self.label = fields[0]
        self.kind = self.label.split("-")[0]
        self.argv = _nul_list(fields[1])
        self.env = _nul_list(fields[2])
        self.ns = {"mnt": fields[3], "pid": fields[4], "net": fields[5]}
        self.selfpid = int(fields[6])
        self.out = fields[7]
        self.raw_state = fields[8]

    @property
    def state(self) -> dict:
        return json.loads(self.raw_state)

    def __repr__(self) -> str:
        return f"Record({self.label})"


class Hooks:
    """A bundle with a private rootfs copy, a log directory bind-mounted at
    /hooklog and the hook script on the host and in the rootfs."""

    def __init__(self, tmp_path, rootfs: str) -> None:
        self.tmp = tmp_path
        root = str(tmp_path / "rootfs")
        subprocess.run(["cp", "-a", rootfs, root], check=True)
        self.bundle = Bundle(str(tmp_path / "bundle"), root, ["true"])
        self.logdir = tmp_path / "hooklog"
        self.logdir.mkdir()
        os.chmod(self.logdir, 0o777)
        (self.logdir / "sentinel").write_text("")
        self.log = str(self.logdir / "log")
        self.script = str(tmp_path / "hook.sh")  # outside the rootfs: host only
        self._write_script(self.script)
        os.makedirs(os.path.join(root, "hookbin"))
        self._write_script(os.path.join(root, "hookbin", "hook.sh"))
        self.bundle.config["mounts"].append({"destination": "/hooklog", "type": "bind",
                                             "source": str(self.logdir),
                                             "options": ["rbind", "rw"]})
        self.bundle.config["annotations"] = dict(ANNOTATIONS)
        self.bundle.config["hooks"] = {}

    @staticmethod
    def _write_script(path: str) -> None:
        with open(path, "w") as f:
            f.write(HOOK_SCRIPT)
        os.chmod(path, 0o755)

    @property
    def rootfs(self) -> str:
        return self.bundle.rootfs

    def hook(self, kind: str, label: str | None = None, rc: object = 0, check: str = "",
             env: list[str] | None = None, timeout: int | None = None) -> dict:
        """One hook entry; startContainer hooks use the copy in the rootfs and
        the log through the bind mount."""
        label = label or kind
        inside = kind == "startContainer"
        path = "/hookbin/hook.sh" if inside else self.script
        log = "/hooklog/log" if inside else self.log
        entry = {"path": path, "args": [path, label, log, str(rc), check],
                 "env": env if env is not None else self.env(label)}
        if timeout is not None:
            entry["timeout"] = timeout
        return entry

    @staticmethod
    def env(label: str) -> list[str]:
        return [HOOK_PATH_ENV, f"HOOK_LABEL={label}", "HOOK_TEXT=a b=c"]

    def add(self, kind: str, *entries: dict) -> None:
        self.bundle.config["hooks"].setdefault(kind, []).extend(entries)

    def add_all(self, kinds=KINDS, n: int = 1) -> None:
        for kind in kinds:
            self.add(kind, *[self.hook(kind, f"{kind}-{i}") for i in range(n)])

    def records(self) -> list[Record]:
        try:
            with open(self.log) as f:
                return [Record(line) for line in f if not line.startswith("program")]
        except FileNotFoundError:
            return []

    def lines(self) -> list[str]:
        try:
            with open(self.log) as f:
                return [line.split("\t")[0].rstrip("\n") for line in f]
        except FileNotFoundError:
            return []

    def one(self, label: str) -> Record:
        found = [r for r in self.records() if r.label == label]
        assert len(found) == 1, f"{label}: {len(found)} records; log: {self.lines()}"
        return found[0]

    def wait_line(self, label: str, timeout: float = 5) -> bool:
        deadline = time.monotonic() + timeout
        while label not in self.lines():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


@pytest.fixture
def hb(tmp_path, rootfs):
    return Hooks(tmp_path, rootfs)


def own_ns() -> dict:
    return {ns: os.readlink(f"/proc/self/ns/{ns}") for ns in ("mnt", "pid", "net")}


def ns_of(pid: int) -> dict:
    return {ns: os.readlink(f"/proc/{pid}/ns/{ns}") for ns in ("mnt", "pid", "net")}


def names_hook(runtime, stderr: str, kind: str, path: str) -> None:
    """The error names the failing hook: pyrunc says hooks.KIND[i] and the
    path; runc 1.1 only says "error running hook #i" (no kind, no path)."""
    if runtime.name == "runc":
        assert "error running hook #" in stderr, stderr
    else:
        assert f"hooks.{kind}[" in stderr and path in stderr, stderr


def skip_runc(runtime, reason: str) -> None:
    if runtime.name == "runc":
        pytest.skip(reason)


def lifecycle(runtime, hb: Hooks, cid: str) -> int:
    """create, start, kill, delete a `sleep 30` container; the init's pid."""
    hb.bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(hb.bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    hb.init_ns = ns_of(pid)
    runtime.run("start", cid, check=True)
    runtime.run("kill", cid, "KILL", check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    runtime.run("delete", cid, check=True)
    return pid


# --- order ------------------------------------------------------------------------

def test_hooks_run_in_lifecycle_order_runtimeLifecycle(runtime, hb, cid):
    """prestart, createRuntime, createContainer at create (steps 3-5);
    startContainer before the program at start (7-8); poststop at delete (13).
    Two hooks of each kind run in the listed order (configHooks). poststart is
    in the test below (runc runs it at create)."""
    hb.add_all([k for k in KINDS if k != "poststart"], n=2)
    hb.add("createRuntime", hb.hook("createRuntime", "createRuntime-2", timeout=20))
    hb.bundle.config["process"]["args"] = ["sh", "-c", "echo program >> /hooklog/log"]
    runtime.create(hb.bundle, cid, check=True)
    assert hb.lines() == ["prestart-0", "prestart-1", "createRuntime-0", "createRuntime-1",
                          "createRuntime-2", "createContainer-0", "createContainer-1"]
    time.sleep(0.2)
    assert hb.lines()[-1] == "createContainer-1", "something ran before start"
    runtime.run("start", cid, check=True)
    assert hb.wait_line("program")
    assert runtime.wait_status(cid, "stopped") == "stopped"
    assert hb.lines()[7:] == ["startContainer-0", "startContainer-1", "program"]
    runtime.run("delete", cid, check=True)
    assert hb.lines()[10:] == ["poststop-0", "poststop-1"]


def test_poststart_runs_at_start_after_program_configHooksPoststart(runtime, hb, cid):
    """poststart: after the user-specified process is executed, before start
    returns: the init's /proc/PID/cmdline is already the program's."""
    skip_runc(runtime, RUNC_POSTSTART_AT_CREATE)
    check = "tr '\\000' ' ' < /proc/$pid/cmdline"
    hb.add("poststart", hb.hook("poststart", "poststart-0", check=check),
           hb.hook("poststart", "poststart-1", check=check))
    hb.bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(hb.bundle, cid, check=True)
    assert hb.lines() == []
    pid = runtime.state(cid)["pid"]
    runtime.run("start", cid, check=True)
    assert hb.lines() == ["poststart-0", "poststart-1"]  # before start returned
    for label in ("poststart-0", "poststart-1"):
        rec = hb.one(label)
        assert rec.out == "sleep 30 ", rec.out
        assert rec.state["pid"] == pid and rec.state["status"] == "running"


def test_run_runs_all_six_kinds_in_order_runtimeLifecycle(runtime, hb, cid):
    """`run` = create + start + wait + delete: all six kinds, in order."""
    skip_runc(runtime, RUNC_POSTSTART_AT_CREATE)
    hb.add_all()
    hb.bundle.config["process"]["args"] = ["sh", "-c", "echo program >> /hooklog/log"]
    res = runtime.run_container(hb.bundle, cid)
    assert res.returncode == 0, res.stderr
    lines = hb.lines()
    assert [x for x in lines if x != "program"] == [f"{k}-0" for k in KINDS]
    assert lines.index("startContainer-0") < lines.index("program")


# --- namespaces, argv, env, state ----------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_hook_namespace_configHooks(runtime, hb, cid, kind):
    """prestart/createRuntime/poststart/poststop run in the runtime namespace
    (mnt, pid, net: the caller's); createContainer/startContainer in the
    container namespace (the init's)."""
    hb.add(kind, hb.hook(kind))
    lifecycle(runtime, hb, cid)
    rec = hb.one(kind)
    if kind in RUNTIME_NS:
        assert rec.ns == own_ns()
    else:
        assert rec.ns == hb.init_ns
        for ns in ("mnt", "pid", "net"):
            assert rec.ns[ns] != own_ns()[ns]


@pytest.mark.parametrize("kind", CONTAINER_NS)
def test_container_hook_without_env_gets_the_process_env_configHooks(runtime, hb, cid, kind):
    """A createContainer or startContainer hook without env of its own runs
    with the container process's environment (runc's behaviour, which the
    spec leaves open), never with the runtime's own (it would leak the host's
    environment into the container)."""
    runtime.env = dict(os.environ, HOOKTEST_LEAK="leaked")
    hb.bundle.config["process"]["env"] = [HOOK_PATH_ENV, "ONE=two"]
    entry = hb.hook(kind)
    del entry["env"]
    hb.add(kind, entry)
    lifecycle(runtime, hb, cid)
    env = hb.one(kind).env
    assert "ONE=two" in env, env
    assert not any(e.startswith("HOOKTEST_LEAK=") for e in env), env


@pytest.mark.parametrize("kind", KINDS)
def test_hook_state_on_stdin_configHooks(runtime, hb, cid, kind):
    """The state (runtime.md#state) on stdin: pid is the host pid for the
    runtime-namespace hooks, 1 for the container-namespace ones (new pid
    namespace); statuses creating/created/running/stopped."""
    if kind == "poststart":
        skip_runc(runtime, RUNC_POSTSTART_AT_CREATE)
    hb.add(kind, hb.hook(kind))
    pid = lifecycle(runtime, hb, cid)
    st = hb.one(kind).state
    assert isinstance(st["ociVersion"], str) and st["ociVersion"]
    assert st["id"] == cid
    assert st["status"] == STATUS[kind]
    assert st["bundle"] == hb.bundle.path
    assert st.get("annotations") == ANNOTATIONS
    if kind in CONTAINER_NS:
        assert st["pid"] == 1
    elif kind != "poststop":  # pid is required only while the process exists
        assert st["pid"] == pid


@pytest.mark.parametrize("kind", KINDS)
def test_hook_args_and_env_exact_configHooks(runtime, hb, cid, kind):
    """args is execv's argv, argv[0] included (path /bin/sh, argv[0] not the
    path); env is exactly the environ given: nothing of the runtime's own
    environment leaks in."""
    runtime.env = dict(os.environ, HOOKTEST_LEAK="leaked")
    inside = kind == "startContainer"
    # In the container /bin/sh is busybox, which picks the applet by argv[0].
    argv0 = "sh" if inside else "custom-argv0"
    script = "/hookbin/hook.sh" if inside else hb.script
    log = "/hooklog/log" if inside else hb.log
    args = [argv0, script, kind, log, "0", "", "two words", ""]
    env = [HOOK_PATH_ENV, "ONE=1", "SPACES=a b", "EQ=x=y", "EMPTY="]
    hb.add(kind, {"path": "/bin/sh", "args": args, "env": env})
    lifecycle(runtime, hb, cid)
    rec = hb.one(kind)
    assert rec.argv == args
    assert sorted(rec.env) == sorted(env)


def test_hook_without_env_inherits_the_runtime_environment_configHooks(runtime, hb, cid):
    """config.md does not say what a hook without env gets; runc passes its own
    environment (Go's exec.Cmd with a nil Env), and hooks such as GPU ones rely
    on that (PATH), so pyrunc matches runc. With env given, exactly that env
    is passed (test_hook_args_and_env)."""
    runtime.env = dict(os.environ, HOOKTEST_LEAK="leaked")
    entry = hb.hook("createRuntime")
    del entry["env"]
    hb.add("createRuntime", entry)
    runtime.create(hb.bundle, cid, check=True)
    assert "HOOKTEST_LEAK=leaked" in hb.one("createRuntime").env


# --- timing --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["prestart", "createRuntime"])
def test_runtime_create_hooks_see_mounts_before_pivot_configHooksCreateRuntime(
        runtime, hb, cid, kind):
    """After the mounts (the bind mount is in the init's mount namespace) and
    before pivot_root (the init's root is still the host's /)."""
    check = (f"test -e /proc/$pid/root{hb.script} && echo host-root; "
             f"ls /proc/$pid/root{hb.rootfs}/hooklog")
    hb.add(kind, hb.hook(kind, check=check))
    runtime.create(hb.bundle, cid, check=True)
    out = hb.one(kind).out.split()
    assert "host-root" in out and "sentinel" in out, out


def test_create_container_sees_mounts_before_pivot_configHooksCreateContainer(
        runtime, hb, cid):
    """createContainer: the mounts are set up (the bind mount is at its place
    under the rootfs) and pivot_root has not happened (the host's / is the
    root, the path resolves in the runtime namespace)."""
    check = f"test -e {hb.script} && echo host-root; ls {hb.rootfs}/hooklog"
    hb.add("createContainer", hb.hook("createContainer", check=check))
    runtime.create(hb.bundle, cid, check=True)
    out = hb.one("createContainer").out.split()
    assert "host-root" in out and "sentinel" in out, out


def test_start_container_runs_before_program_configHooksStartContainer(runtime, hb, cid):
    """startContainer: after pivot_root (the host's files are gone), before
    the program (its marker is not there yet)."""
    check = (f"test -e {hb.script} && echo host-visible; "
             "test -e /hooklog/ran && echo program-ran || echo program-not-yet")
    hb.add("startContainer", hb.hook("startContainer", check=check))
    hb.bundle.config["process"]["args"] = ["sh", "-c", "touch /hooklog/ran; exec sleep 30"]
    runtime.create(hb.bundle, cid, check=True)
    assert hb.lines() == []
    runtime.run("start", cid, check=True)
    deadline = time.monotonic() + 5
    while not (hb.logdir / "ran").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (hb.logdir / "ran").exists()
    out = hb.one("startContainer").out.split()
    assert out == ["program-not-yet"], out


def test_poststop_runs_after_container_is_deleted_configHooksPoststop(runtime, hb, cid):
    """poststop: after the container is deleted (state, init, cgroups gone)
    and before delete returns."""
    facts = hb.tmp / "facts"
    facts.mkdir()
    check = (f"p=$(cat {facts}/pid); s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); "
             "case $s in ''|Z|X) echo init-gone;; *) echo init-alive;; esac; "
             f"test -e {runtime.root}/{cid} && echo state-left; "
             f"for d in $(cat {facts}/cgroups); do test -d $d && echo cgroup-left; done; "
             "echo checked")
    hb.add("poststop", hb.hook("poststop", check=check))
    hb.bundle.config["process"]["args"] = ["sleep", "30"]
    runtime.create(hb.bundle, cid, check=True)
    (facts / "pid").write_text(str(runtime.state(cid)["pid"]))
    cgroups = cgroup_dirs_for(cid)
    assert cgroups
    (facts / "cgroups").write_text("\n".join(cgroups))
    runtime.run("start", cid, check=True)
    assert hb.lines() == []
    runtime.run("delete", "--force", cid, check=True)
    assert hb.one("poststop").out.split() == ["init-gone", "checked"]


# --- failures --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_runtimeLifecycle(runtime, hb, cid, kind):
    """Steps 3-5: a failing hook is an error, the container is stopped and
    destroyed (nothing left), the poststop hooks run (12-13); no later hook
    (of the same or a later kind) runs."""
    for k in ("prestart", "createRuntime", "createContainer", "startContainer"):
        if k == kind:
            hb.add(k, hb.hook(k, f"{k}-0", rc=3), hb.hook(k, f"{k}-1"))
        else:
            hb.add(k, hb.hook(k, f"{k}-0"))
    hb.add("poststop", hb.hook("poststop", "poststop-0"))
    res = runtime.create(hb.bundle, cid)
    assert res.returncode == 1, res.stderr
    names_hook(runtime, res.stderr, kind, hb.script)
    assert_nothing_left(runtime, cid)
    before = {"prestart": [], "createRuntime": ["prestart-0"],
              "createContainer": ["prestart-0", "createRuntime-0"]}[kind]
    assert hb.lines() == before + [f"{kind}-0", "poststop-0"]
    assert hb.one("poststop-0").state["status"] == "stopped"


def test_failing_start_container_hook_program_never_runs_configHooksStartContainer(
        runtime, hb, cid):
    """Step 7: the program does not run, nor the next startContainer hook."""
    hb.add("startContainer", hb.hook("startContainer", "startContainer-0", rc=3),
           hb.hook("startContainer", "startContainer-1"))
    hb.bundle.config["process"]["args"] = ["sh", "-c", "echo program >> /hooklog/log"]
    runtime.create(hb.bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    runtime.run("start", cid)
    assert wait_gone(pid)
    time.sleep(0.2)
    assert hb.lines() == ["startContainer-0"]


def test_failing_start_container_hook_fails_start_and_destroys_runtimeLifecycle(
        runtime, hb, cid):
    """Step 7: start is an error, the container is stopped and destroyed,
    the poststop hooks run."""
    skip_runc(runtime, "runc 1.1 writes to the exec fifo before running startContainer "
                       "hooks, so `start` exits 0 when one fails; the container is "
                       "left stopped, not destroyed")
    hb.add("startContainer", hb.hook("startContainer", "startContainer-0", rc=3))
    hb.add("poststop", hb.hook("poststop", "poststop-0"))
    hb.bundle.config["process"]["args"] = ["sh", "-c", "echo program >> /hooklog/log"]
    runtime.create(hb.bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    res = runtime.run("start", cid)
    assert res.returncode == 1, res.stderr
    names_hook(runtime, res.stderr, "startContainer", "/hookbin/hook.sh")
    assert wait_gone(pid)
    assert_nothing_left(runtime, cid)
    assert hb.lines() == ["startContainer-0", "poststop-0"]


def test_failing_poststart_hook_fails_start_and_destroys_runtimeLifecycle(runtime, hb, cid):
    """Step 9: start is an error, the (running) container is stopped and
    destroyed, the poststop hooks run; the next poststart hook does not."""
    skip_runc(runtime, RUNC_POSTSTART_AT_CREATE)
    hb.add("poststart", hb.hook("poststart", "poststart-0", rc=3),
           hb.hook("poststart", "poststart-1"))
    hb.add("poststop", hb.hook("poststop", "poststop-0"))
    hb.bundle.config["process"]["args"] = ["sh", "-c", "echo program >> /hooklog/log; "
                                           "exec sleep 30"]
    runtime.create(hb.bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    res = runtime.run("start", cid)
    assert res.returncode == 1, res.stderr
    names_hook(runtime, res.stderr, "poststart", hb.script)
    assert wait_gone(pid)
    assert_nothing_left(runtime, cid)
    assert [x for x in hb.lines() if x != "program"] == ["poststart-0", "poststop-0"]


def test_failing_poststop_hook_is_a_warning_configHooksPoststop(runtime, hb, cid):
    """Step 13: delete still succeeds (the container is gone), with a
    warning. runc logs it at level=error; pyrunc at level=warning."""
    hb.add("poststop", hb.hook("poststop", "poststop-0", rc=3))
    runtime.create(hb.bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    assert runtime.wait_status(cid, "stopped") == "stopped"
    res = runtime.run("delete", cid)
    assert res.returncode == 0, res.stderr
    assert re.search(r"level=(warning|error).*hook", res.stderr), res.stderr
    assert runtime.status(cid) == "absent"
    assert hb.lines() == ["poststop-0"]


def test_failing_poststop_hook_remaining_hooks_run_runtimeLifecycle(runtime, hb, cid):
    """Step 13: "the remaining hooks and lifecycle continue as if the hook had
    succeeded": the next poststop hook still runs."""
    skip_runc(runtime, "runc 1.1 stops at the first failing poststop hook "
                       "(configs.Hooks.RunHooks returns the first error)")
    hb.add("poststop", hb.hook("poststop", "poststop-0", rc=3),
           hb.hook("poststop", "poststop-1"))
    runtime.create(hb.bundle, cid, check=True)
    res = runtime.run("delete", cid)
    assert res.returncode == 0, res.stderr
    assert hb.lines() == ["poststop-0", "poststop-1"]


# --- timeout -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["createRuntime", "createContainer"])
def test_hook_timeout_kills_hook_configHooks(runtime, hb, cid, kind):
    """A hook that outlives its timeout (1 s) is killed and create fails
    after about 1 s, not 30; nothing is left, poststop runs."""
    hb.add(kind, hb.hook(kind, rc="sleep", timeout=1))
    hb.add("poststop", hb.hook("poststop"))
    start = time.monotonic()
    res = runtime.create(hb.bundle, cid)
    elapsed = time.monotonic() - start
    assert res.returncode == 1, res.stderr
    assert 0.9 <= elapsed < 10, elapsed
    assert re.search(r"timed? ?out", res.stderr), res.stderr
    assert_nothing_left(runtime, cid)
    assert hb.lines() == [kind, "poststop"]
    if kind in RUNTIME_NS:
        assert wait_gone(hb.one(kind).selfpid)
    # A createContainer hook is in the container's cgroup: assert_nothing_left.


def test_hook_within_timeout_succeeds_configHooks(runtime, hb, cid):
    hb.add("createRuntime", hb.hook("createRuntime", timeout=5))
    hb.add("createContainer", hb.hook("createContainer", timeout=5))
    runtime.create(hb.bundle, cid, check=True)
    assert hb.lines() == ["createRuntime", "createContainer"]


# --- bad input -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["createRuntime", "createContainer"])
def test_missing_hook_binary_fails_create_configHooks(runtime, hb, cid, kind):
    missing = str(hb.tmp / "no-such-hook")
    hb.add(kind, {"path": missing, "args": [missing]})
    hb.add("poststop", hb.hook("poststop"))
    res = runtime.create(hb.bundle, cid)
    assert res.returncode == 1, res.stderr
    assert missing in res.stderr and "no such file" in res.stderr.lower(), res.stderr
    assert_nothing_left(runtime, cid)
    assert hb.lines() == ["poststop"]


@pytest.mark.parametrize("kind", ["prestart", "poststop"])
def test_relative_hook_path_is_rejected_configHooks(runtime, hb, cid, kind):
    """path MUST be absolute: refused at create, naming the field, even when
    it resolves relative to the caller's directory (the bundle here)."""
    skip_runc(runtime, "runc 1.1 does not validate hooks[].path: it execs a relative "
                       "path from its working directory")
    Hooks._write_script(os.path.join(hb.bundle.path, "hook.sh"))
    hb.add(kind, {"path": "hook.sh", "args": ["hook.sh", kind, hb.log]})
    res = runtime.create(hb.bundle, cid, cwd=hb.bundle.path)
    assert res.returncode == 1, res.stderr
    assert f"hooks.{kind}[0].path" in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)
    runtime.run("delete", "--force", cid)
    assert hb.lines() == []


def test_timeout_zero_is_rejected_configHooks(runtime, hb, cid):
    """timeout, if set, MUST be greater than zero."""
    skip_runc(runtime, "runc 1.1 accepts timeout 0 and kills the hook at once when it "
                       "runs ('hook ran past specified timeout of 0.0s'): no field named")
    hb.add("createRuntime", hb.hook("createRuntime", timeout=0))
    res = runtime.create(hb.bundle, cid)
    assert res.returncode == 1, res.stderr
    assert "hooks.createRuntime[0].timeout" in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)
    assert hb.lines() == []
