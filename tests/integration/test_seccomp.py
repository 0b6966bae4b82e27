"""config-linux.md#configLinuxSeccomp, looked at from inside the container,
against pyrunc and runc."""
from __future__ import annotations

import ctypes
import json
import os
import socket
import struct
import subprocess
import threading

import pytest

from helpers import assert_nothing_left


def _profile(default="SCMP_ACT_ALLOW", syscalls=(), **extra):
    prof = {"defaultAction": default, "syscalls": list(syscalls)}
    prof.update(extra)
    return prof


def _run(runtime, bundle, cid, script, profile, nnp=True):
    bundle.config["process"]["args"] = ["sh", "-c", script]
    bundle.config["process"]["noNewPrivileges"] = nnp
    bundle.config["linux"]["seccomp"] = profile
    return runtime.run_container(bundle, cid)


@pytest.mark.parametrize("nnp", [True, False])
def test_errno_action_configLinuxSeccomp(runtime, bundle, cid, nnp):
    """A denied syscall fails with the configured errno; the filter is in
    place with or without no_new_privs (then it is loaded while pyrunc still
    has CAP_SYS_ADMIN)."""
    prof = _profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                               "errnoRet": 13}])
    res = _run(runtime, bundle, cid, "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; "
               "/bin/pwd -P; echo rc=$?", prof, nnp)
    if runtime.name == "runc" and not nnp and "working directory is safe" in res.stderr:
        pytest.skip("runc 1.1 calls getcwd itself after loading a filter without "
                    "no_new_privs, so a profile denying getcwd breaks runc's own init")
    assert "Seccomp:\t2" in res.stdout
    assert f"NoNewPrivs:\t{1 if nnp else 0}" in res.stdout
    assert "Permission denied" in res.stderr and "rc=1" in res.stdout, res.stdout + res.stderr


def test_default_errno_ret_configLinuxSeccomp(runtime, bundle, cid):
    prof = _profile(default="SCMP_ACT_ERRNO", defaultErrnoRet=38,
                    syscalls=[{"names": _all_syscalls(exclude={"getcwd"}),
                               "action": "SCMP_ACT_ALLOW"}])
    res = _run(runtime, bundle, cid, "/bin/pwd -P; echo rc=$?", prof)
    assert "Function not implemented" in res.stderr, res.stderr


@pytest.mark.parametrize("action,status", [("SCMP_ACT_KILL_PROCESS", 159),
                                           ("SCMP_ACT_KILL", 159),
                                           ("SCMP_ACT_KILL_THREAD", 159),
                                           ("SCMP_ACT_TRAP", 159)])
def test_kill_and_trap_actions_configLinuxSeccomp(runtime, bundle, cid, action, status):
    """The process making the syscall dies of SIGSYS (128+31 as seen by sh)."""
    prof = _profile(syscalls=[{"names": ["chroot"], "action": action}])
    res = _run(runtime, bundle, cid, "chroot / true; echo rc=$?", prof)
    assert f"rc={status}" in res.stdout, res.stdout + res.stderr


def test_trace_without_tracer_configLinuxSeccomp(runtime, bundle, cid):
    """SCMP_ACT_TRACE with no tracer attached: the syscall fails with ENOSYS."""
    prof = _profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_TRACE",
                               "errnoRet": 1}])
    res = _run(runtime, bundle, cid, "/bin/pwd -P; echo rc=$?", prof)
    assert "rc=1" in res.stdout and "Function not implemented" in res.stderr, res.stderr


def test_log_action_and_flags_configLinuxSeccomp(runtime, bundle, cid):
    prof = _profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_LOG"}],
                    flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                    architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    res = _run(runtime, bundle, cid, "/bin/pwd -P", prof)
    if runtime.name == "runc" and "seccomp flags are not yet supported" in res.stderr:
        pytest.skip("runc 1.1 has no seccomp flags (runc 1.2 added them)")
    assert res.returncode == 0 and res.stdout == "/\n", res.stderr


# kill(2) arguments: (pid, signal). Probing signals 10 and 15 against each operator.
@pytest.mark.parametrize("op,value,value_two,denied", [
    ("SCMP_CMP_EQ", 10, 0, {10}),
    ("SCMP_CMP_NE", 15, 0, {10}),
    ("SCMP_CMP_LT", 12, 0, {10}),
    ("SCMP_CMP_LE", 10, 0, {10}),
    ("SCMP_CMP_GT", 12, 0, {15}),
    ("SCMP_CMP_GE", 15, 0, {15}),
    ("SCMP_CMP_MASKED_EQ", 0b1000, 0b1000, {10, 15}),
    ("SCMP_CMP_MASKED_EQ", 0b0101, 0b0101, {15}),
])
def test_argument_operators_configLinuxSeccomp(runtime, bundle, cid, op, value, value_two,
                                               denied):
    prof = _profile(syscalls=[{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                               "args": [{"index": 1, "value": value, "valueTwo": value_two,
                                         "op": op}]}])
    script = ("for s in 10 15; do sleep 30 & p=$!; "
              "if kill -$s $p 2>/dev/null; then echo $s:ok; else echo $s:denied; kill -9 $p; fi; "
              "done")
    res = _run(runtime, bundle, cid, script, prof)
    got = {int(x.split(":")[0]) for x in res.stdout.split() if x.endswith(":denied")}
    assert got == denied, res.stdout + res.stderr


def test_unknown_syscall_is_skipped(runtime, bundle, cid):
    prof = _profile(syscalls=[{"names": ["no_such_syscall", "getcwd"],
                               "action": "SCMP_ACT_ERRNO"}])
    res = _run(runtime, bundle, cid, "/bin/pwd -P; echo rc=$?", prof)
    assert "rc=1" in res.stdout, res.stdout + res.stderr


def _all_syscalls(exclude=()) -> list[str]:
    """The native syscall table, from libseccomp."""
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    lib.seccomp_arch_native.restype = ctypes.c_uint32
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    arch = lib.seccomp_arch_native()
    names = []
    for nr in range(0, 600):
        ptr = lib.seccomp_syscall_resolve_num_arch(ctypes.c_uint32(arch), nr)
        if ptr:
            name = ctypes.string_at(ptr).decode()
            libc.free(ptr)
            if name not in exclude:
                names.append(name)
    return names


def test_docker_sized_profile_loads(runtime, bundle, cid):
    """An allow-list the size of Docker's default profile (every syscall of the
    table, one rule each, plus argument rules and unknown names) loads and the
    container runs; the syscalls left out are denied."""
    names = _all_syscalls(exclude={"mkdir", "mkdirat", "personality", "clone"})
    assert len(names) > 300
    rules = [{"names": [n], "action": "SCMP_ACT_ALLOW"} for n in names]
    rules += [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]}
              for v in (0, 8, 131072, 131080, 4294967295)]
    rules.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]})
    rules.append({"names": ["futex_waitv_from_the_future", "landlock_xyz"],
                  "action": "SCMP_ACT_ALLOW"})
    prof = _profile(default="SCMP_ACT_ERRNO", syscalls=rules,
                    architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    bundle.config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    res = _run(runtime, bundle, cid, "echo hello; (sleep 0 &); mkdir /tmp/x; echo rc=$?", prof)
    assert "hello" in res.stdout and "rc=1" in res.stdout, res.stdout + res.stderr
    assert "Operation not permitted" in res.stderr


# --- SCMP_ACT_NOTIFY and the listener -------------------------------------------------

_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)
_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp)


class Agent:
    """A seccomp agent on a unix socket: takes the container process state and
    the notify fd, then answers one notification with EACCES."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.state: dict = {}
        self.fd_kind = ""
        self.syscall_nr = -1
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                msg, fds, _flags, _addr = socket.recv_fds(conn, 65536, 1)
                data = msg
                while True:
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
            self.state = json.loads(data)
            fd = fds[0]
            self.fd_kind = os.readlink(f"/proc/self/fd/{fd}")
            import fcntl

            req = bytearray(80)
            fcntl.ioctl(fd, _NOTIF_RECV, req)
            notif_id = struct.unpack_from("<Q", req, 0)[0]
            self.syscall_nr = struct.unpack_from("<i", req, 16)[0]
            fcntl.ioctl(fd, _NOTIF_SEND, bytearray(struct.pack("<Qqii", notif_id, 0, -13, 0)))
            os.close(fd)
        except Exception as err:  # noqa: BLE001 - reported by the test
            self.error = err

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("flags", [[], ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]])
def test_notify_listener_containerprocessstate(runtime, bundle, cid, tmp_path, flags):
    if flags and runtime.name == "runc":
        pytest.skip("runc 1.1 has no seccomp flags (runc 1.2 added them)")
    path = str(tmp_path / "agent.sock")
    agent = Agent(path)
    try:
        prof = _profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}],
                        listenerPath=path, listenerMetadata="hello-agent", flags=flags)
        bundle.config["annotations"] = {"org.example": "x"}
        bundle.config["process"]["args"] = ["sh", "-c", "/bin/pwd -P; echo rc=$?"]
        bundle.config["linux"]["seccomp"] = prof
        runtime.create(bundle, cid, check=True)
        pid = runtime.state(cid)["pid"]
        runtime.run("start", cid, check=True)
        agent.thread.join(30)
        assert agent.error is None, agent.error
        st = agent.state
        assert st["fds"] == ["seccompFd"] and st["metadata"] == "hello-agent"
        assert st["pid"] == pid
        assert st["state"]["id"] == cid and st["state"]["status"] == "creating"
        assert st["state"]["bundle"] == bundle.path and "ociVersion" in st
        assert agent.fd_kind == "anon_inode:seccomp notify"
        assert agent.syscall_nr == 79  # getcwd on x86_64
        assert runtime.wait_status(cid, "stopped") == "stopped"
    finally:
        agent.close()


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("profile,needle", [
    (_profile(default="SCMP_ACT_NOPE"), "linux.seccomp.defaultAction"),
    (_profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_FOO"}]),
     "linux.seccomp.syscalls[0].action"),
    (_profile(architectures=["SCMP_ARCH_Z80"]), "linux.seccomp.architectures[0]"),
    (_profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]),
     "linux.seccomp.syscalls[0].errnoRet"),
    (_profile(default="SCMP_ACT_ALLOW", defaultErrnoRet=5), "linux.seccomp.defaultErrnoRet"),
    (_profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                         "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]),
     "linux.seccomp.syscalls[0].args[0].op"),
    (_profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}]),
     "linux.seccomp.listenerPath"),
    (_profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}],
              listenerPath="/nonexistent/agent.sock"), "/nonexistent/agent.sock"),
    (_profile(flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]),
     "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
])
def test_bad_seccomp_config(runtime, bundle, cid, profile, needle):
    bundle.config["linux"]["seccomp"] = profile
    res = runtime.create(bundle, cid)
    if runtime.name == "runc" and res.returncode == 0:
        runtime.run("delete", "--force", cid)
        pytest.skip(f"runc 1.1 accepts this ({needle}); the spec requires an error")
    assert res.returncode == 1, res.stderr
    if runtime.name == "pyrunc":
        assert needle in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)


@pytest.mark.parametrize("nnp", [True, False])
@pytest.mark.parametrize("errno_ret", [1, 38, 6], ids=["EPERM", "ENOSYS", "ENXIO"])
def test_profile_older_than_the_runtimes_syscalls_configLinuxSeccomp(request, runtime, bundle,
                                                                     cid, nnp, errno_ret):
    """A real profile that predates close_range, openat2, clone3, faccessat2 or
    the new mount API (runtime-tools' generated one, say) refuses them with EPERM or
    ENOSYS, or with whatever errno it likes (runc's seccomp.bats uses a
    defaultErrnoRet of ENXIO): the runtime's own last steps fall back (fd by
    fd, openat), and the container runs, with exec as well."""
    if runtime.name == "runc" and errno_ret == 6 and not nnp:
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "runc 1.1.5 bug: its exec lookup calls faccessat2 after a filter loaded without "
            "no_new_privs, and takes ENXIO for 'no such file' ('exec /bin/sh: no such device "
            "or address')")))
    prof = _profile(syscalls=[{"names": ["close_range", "openat2", "clone3", "fsopen",
                                         "fsmount", "open_tree", "move_mount",
                                         "mount_setattr", "pidfd_open", "pidfd_send_signal",
                                         "faccessat2"],
                               "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret}])
    res = _run(runtime, bundle, cid, "ls /proc/self/fd", prof, nnp)
    assert res.returncode == 0, res.stderr
    assert sorted(int(x) for x in res.stdout.split()) == [0, 1, 2, 3], res.stdout
    bundle.config["process"]["args"] = ["sleep", "60"]
    runtime.run_container(bundle, f"{cid}-x", "--detach", check=True)
    res = runtime.run("exec", f"{cid}-x", "ls", "/proc/self/fd")
    assert res.returncode == 0, res.stderr
    assert sorted(int(x) for x in res.stdout.split()) == [0, 1, 2, 3], res.stdout


def test_comparisons_of_one_argument_are_alternatives_configLinuxSeccomp(runtime, bundle, cid):
    """Two comparisons of the same argument in one rule cannot both hold, so
    they are read as alternatives, each a rule of its own (runc's reading,
    which its profiles rely on); comparisons of different arguments must all
    hold."""
    prof = _profile(syscalls=[
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 12, "op": "SCMP_CMP_EQ"}]},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 0, "value": 99999, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 14, "op": "SCMP_CMP_EQ"}]}])
    res = _run(runtime, bundle, cid, "trap '' USR1 USR2 ALRM; for s in USR1 USR2 ALRM; do "
               "kill -$s $$ 2>/dev/null; echo $s=$?; done", prof)
    assert res.returncode == 0, res.stderr
    # USR1 and USR2 each match an alternative; ALRM to pid 1 matches only one
    # of the two comparisons that must both hold, so it goes through.
    assert res.stdout.split() == ["USR1=1", "USR2=1", "ALRM=0"], res.stdout


_NEWER_THAN_THE_PROFILE = r"""
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    long r = syscall(1000, 0, 0, 0);          /* no such call, above every listed one */
    printf("%ld %d\n", r, r < 0 ? errno : 0);
    errno = 0;
    r = syscall(SYS_sethostname, "x", 1);     /* a known call the profile leaves out */
    printf("%ld %d\n", r, r < 0 ? errno : 0);
    return 0;
}
"""


def test_syscall_newer_than_the_profile_gets_enosys_configLinuxSeccomp(runtime, bundle, cid,
                                                                        tmp_path):
    """With a default action other than allow, a system call above every one
    the profile names gets ENOSYS (so the C library falls back, as for clone3
    under an older profile), as runc does; one the profile leaves out below
    that keeps the default errno."""
    src, prog = tmp_path / "t.c", tmp_path / "newer"
    src.write_text(_NEWER_THAN_THE_PROFILE)
    res = subprocess.run(["gcc", "-static", "-O1", "-o", str(prog), str(src)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"building the test program (gcc, libc6-dev: tests/setup.sh): {res.stderr}")
    bundle.config["mounts"].append({"destination": "/newer", "type": "bind",
                                    "source": str(prog), "options": ["bind", "ro"]})
    bundle.config["process"]["args"] = ["/newer"]
    bundle.config["linux"]["seccomp"] = _profile(
        default="SCMP_ACT_ERRNO", defaultErrnoRet=1,
        syscalls=[{"names": _all_syscalls(exclude={"sethostname"}), "action": "SCMP_ACT_ALLOW"}])
    res = runtime.run_container(bundle, cid)
    assert res.returncode == 0, res.stderr
    if runtime.name == "runc" and res.stdout.startswith("-1 1\n"):
        pytest.skip("runc 1.1.5 answers with the default errno when defaultErrnoRet is set; "
                    "current runc (its seccomp.bats) gives ENOSYS")
    assert res.stdout.splitlines() == ["-1 38", "-1 1"], res.stdout
