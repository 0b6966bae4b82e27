"""spec/config-schema.json and spec/state-schema.json, and pyrunc.schema.

Three validators are compared here:

* pyrunc.schema.Validator, the small interpreter the runtime uses;
* jsonschema's Draft202012Validator on the same (our) schemas, which must agree
  with it on every document;
* the upstream runtime-spec JSON schemas (draft-04, reference material in
  /work/shared/reference/runtime-spec/schema), which must accept every document
  ours accepts and reject every document ours should reject, except for the
  deliberate divergences listed in STRICTER / LOOSER below with the spec text
  that justifies each.
"""
from __future__ import annotations

import copy
import json
import os
import pathlib
import re
import sys

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pyrunc.errors import ConfigError  # noqa: E402
from pyrunc.schema import Validator  # noqa: E402

SPEC_DIR = ROOT / "spec"
REFERENCE = pathlib.Path(os.environ.get("PYRUNC_RUNTIME_SPEC",
                                        "/work/shared/reference/runtime-spec"))
UPSTREAM_DIR = REFERENCE / "schema"


def _load(path: pathlib.Path) -> dict:
    with open(path) as f:
        return json.load(f)


CONFIG_SCHEMA = _load(SPEC_DIR / "config-schema.json")
STATE_SCHEMA = _load(SPEC_DIR / "state-schema.json")

OURS = {"config": Validator(CONFIG_SCHEMA), "state": Validator(STATE_SCHEMA)}
# pyrunc counts only JSON integers without a fraction part as "integer" (1.0 is
# not a uid), and only strings without NUL as "string" (paths and arguments are
# C strings); the reference validator is told the same.
_STRICT_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many({
    "integer": lambda _checker, v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda _checker, v: isinstance(v, str) and "\x00" not in v})
_Reference = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                          type_checker=_STRICT_TYPES)
JS = {"config": _Reference(CONFIG_SCHEMA), "state": _Reference(STATE_SCHEMA)}

_upstream_cache: dict = {}


def upstream(kind: str) -> jsonschema.Draft4Validator:
    """The upstream draft-04 schema for `kind`, with its sibling files
    (defs.json, defs-linux.json, config-linux.json, ...) registered under
    file: URIs so their relative refs resolve. The files have no `id`."""
    if kind not in _upstream_cache:
        if not UPSTREAM_DIR.is_dir():
            pytest.fail(f"upstream runtime-spec schemas not found at {UPSTREAM_DIR}")
        base = UPSTREAM_DIR.as_uri() + "/"
        registry = Registry().with_resources(
            (base + p.name, Resource(contents=_load(p), specification=DRAFT4))
            for p in sorted(UPSTREAM_DIR.glob("*.json")))
        name = "config-schema.json" if kind == "config" else "state-schema.json"
        _upstream_cache[kind] = jsonschema.Draft4Validator({"$ref": base + name},
                                                           registry=registry)
    return _upstream_cache[kind]


# --- base documents -------------------------------------------------------------

CAPS_DEFAULT = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def runc_spec() -> dict:
    """What `runc spec` writes."""
    return {
        "ociVersion": "1.2.0",
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": list(CAPS_DEFAULT),
                             "effective": list(CAPS_DEFAULT),
                             "permitted": list(CAPS_DEFAULT)},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


def runc_rootless() -> dict:
    """What `runc spec --rootless` writes (for uid 1000)."""
    doc = runc_spec()
    doc["mounts"] = [m for m in doc["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    for m in doc["mounts"]:
        if m["destination"] == "/dev/pts":
            m["options"].remove("gid=5")
        elif m["destination"] == "/sys":
            m.update(type="none", source="/sys",
                     options=["rbind", "nosuid", "noexec", "nodev", "ro"])
    linux = doc["linux"]
    del linux["resources"]
    linux["namespaces"] = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                           {"type": "mount"}, {"type": "cgroup"}, {"type": "user"}]
    linux["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    return doc


# The allow list of a Docker default seccomp profile (abridged but realistic).
_DOCKER_SYSCALLS = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat
exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark
fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync
fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs
fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait
futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32
geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid
getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area
gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init
inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod
mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open
mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink
mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at
nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal
pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64
preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev
pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg
recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall
rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4
sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx
symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink
unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid
write writev
""".split()


def docker_config() -> dict:
    """Shaped like what dockerd hands to runc for `docker run -it ubuntu bash`."""
    cid = "3f4e5a6b7c8d" + "0" * 52
    caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
            "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    bind = lambda dest, src: {"destination": dest, "type": "bind", "source": src,  # noqa: E731
                              "options": ["rbind", "rprivate"]}
    allow = lambda major, minor: {"allow": True, "type": "c", "major": major,  # noqa: E731
                                  "minor": minor, "access": "rwm"}
    return {
        "ociVersion": "1.1.0",
        "process": {
            "terminal": True,
            "consoleSize": {"height": 50, "width": 200},
            "user": {"uid": 0, "gid": 0, "additionalGids": [0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27]},
            "args": ["bash"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOSTNAME=3f4e5a6b7c8d", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": list(caps), "effective": list(caps),
                             "permitted": list(caps)},
            "apparmorProfile": "docker-default",
            "oomScoreAdj": 0,
        },
        "root": {"path": "/var/lib/docker/overlay2/0123456789abcdef/merged"},
        "hostname": "3f4e5a6b7c8d",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["ro", "nosuid", "noexec", "nodev"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
            bind("/etc/resolv.conf", f"/var/lib/docker/containers/{cid}/resolv.conf"),
            bind("/etc/hostname", f"/var/lib/docker/containers/{cid}/hostname"),
            bind("/etc/hosts", f"/var/lib/docker/containers/{cid}/hosts"),
        ],
        "hooks": {
            "createRuntime": [{
                "path": "/usr/bin/dockerd",
                "args": ["libnetwork-setkey", "-exec-root=/var/run/docker", cid[:12],
                         "a1b2c3d4e5f6"],
            }],
        },
        "linux": {
            "sysctl": {"net.ipv4.ip_unprivileged_port_start": "0",
                       "net.ipv4.ping_group_range": "0 2147483647"},
            "resources": {
                "devices": [
                    {"allow": False, "access": "rwm"},
                    allow(1, 5), allow(1, 3), allow(1, 9), allow(1, 8), allow(5, 0),
                    allow(5, 1), {"allow": False, "type": "c", "major": 10, "minor": 229,
                                  "access": "rwm"},
                    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
                ],
                "memory": {},
                "cpu": {"shares": 0},
                "blockIO": {},
            },
            "cgroupsPath": f"system.slice:docker:{cid}",
            "namespaces": [{"type": "mount"}, {"type": "network"}, {"type": "uts"},
                           {"type": "pid"}, {"type": "ipc"}, {"type": "cgroup"}],
            "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [
                    {"names": list(_DOCKER_SYSCALLS), "action": "SCMP_ACT_ALLOW"},
                    {"names": ["process_vm_readv", "process_vm_writev", "ptrace"],
                     "action": "SCMP_ACT_ALLOW"},
                    {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
                    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
                    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"}]},
                    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
                    {"names": ["arch_prctl", "modify_ldt"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["chroot"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0,
                               "op": "SCMP_CMP_MASKED_EQ"}]},
                    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                ],
            },
            "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore",
                            "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                            "/sys/firmware", "/sys/devices/virtual/powercap"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


def full_config() -> dict:
    """Every field of config.md and config-linux.md that applies to Linux."""
    hook = lambda p: {"path": p, "args": [p.rsplit("/", 1)[-1], "-v"],  # noqa: E731
                      "env": ["A=1"], "timeout": 5}
    doc = runc_spec()
    doc["ociVersion"] = "1.3.0"
    doc["domainname"] = "example.test"
    doc["mounts"].append({
        "destination": "/data", "type": "none", "source": "/srv/data",
        "options": ["rbind", "ridmap"],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    })
    doc["process"].update({
        "consoleSize": {"height": 25, "width": 80},
        "commandLine": "sh -c true",
        "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 6]},
        "capabilities": {k: list(CAPS_DEFAULT) for k in
                         ("bounding", "effective", "inheritable", "permitted", "ambient")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
                    {"type": "RLIMIT_CORE", "hard": 18446744073709551615,
                     "soft": 18446744073709551615}],
        "apparmorProfile": "acme_secure_profile",
        "oomScoreAdj": -1000,
        "scheduler": {"policy": "SCHED_DEADLINE", "nice": -20, "priority": 0,
                      "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"],
                      "runtime": 10000000, "deadline": 20000000, "period": 30000000},
        "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
        "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
        "execCPUAffinity": {"initial": "7", "final": "0-3,7"},
    })
    doc["hooks"] = {kind: [hook(f"/usr/libexec/oci/{kind}")] for kind in
                    ("prestart", "createRuntime", "createContainer", "startContainer",
                     "poststart", "poststop")}
    doc["annotations"] = {"com.example.key": "value", "com.example.empty": ""}
    doc["linux"] = {
        "namespaces": [{"type": t} for t in
                       ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "timeOffsets": {"monotonic": {"secs": 172800, "nanosecs": 0},
                        "boottime": {"secs": -604800, "nanosecs": 999999999}},
        "devices": [
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
             "uid": 0, "gid": 0},
            {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 432},
            {"path": "/dev/ttyU0", "type": "u", "major": 4, "minor": 64},
            {"path": "/run/fifo", "type": "p"},
        ],
        "netDevices": {"eth1": {"name": "container_eth1"}, "dummy0": {}},
        "cgroupsPath": "/myRuntime/myContainer",
        "resources": {
            "devices": [{"allow": False, "access": "rwm"},
                        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                        {"allow": True, "type": "b", "major": 8, "minor": 0, "access": "r"},
                        {"allow": True, "type": "a"}],
            "memory": {"limit": 536870912, "reservation": 268435456, "swap": -1,
                       "kernel": -1, "kernelTCP": -1, "swappiness": 60,
                       "disableOOMKiller": False, "useHierarchy": True,
                       "checkBeforeUpdate": True},
            "cpu": {"shares": 1024, "quota": 1000000, "burst": 1000000, "period": 500000,
                    "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "2-3",
                    "mems": "0-7", "idle": 1},
            "pids": {"limit": 32771},
            "blockIO": {
                "weight": 10, "leafWeight": 10,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                                 {"major": 8, "minor": 16, "weight": 500},
                                 {"major": 8, "minor": 32, "leafWeight": 100}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 700}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}],
            },
            "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200},
                               {"pageSize": "1GB", "limit": 0}],
            "network": {"classID": 1048577,
                        "priorities": [{"name": "eth0", "priority": 500},
                                       {"name": "eth1", "priority": 1000}]},
            "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000},
                     "mlx4_0": {"hcaObjects": 1000}, "rxe3": {"hcaHandles": 7}},
            "unified": {"io.max": "259:0 rbps=2097152 wiops=120",
                        "memory.high": "max"},
        },
        "intelRdt": {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0;1=1f",
                     "memBwSchema": "MB:0=20;1=70",
                     "schemata": ["L3:0=7f0;1=1f", "L2:0=f;1=f"],
                     "enableMonitoring": True},
        "memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "2-3",
                         "flags": ["MPOL_F_STATIC_NODES"]},
        "sysctl": {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "256"},
        "seccomp": {
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_RISCV64",
                              "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_SHEB"],
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "listenerPath": "/run/seccomp-agent.sock",
            "listenerMetadata": "MKNOD=/dev/null",
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mknod"], "action": "SCMP_ACT_NOTIFY"},
                {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 38},
                {"names": ["kill"], "action": "SCMP_ACT_KILL"},
                {"names": ["tkill"], "action": "SCMP_ACT_KILL_THREAD"},
                {"names": ["tgkill"], "action": "SCMP_ACT_TRAP"},
                {"names": ["uname"], "action": "SCMP_ACT_LOG"},
                {"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 2, "value": 4, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"},
                          {"index": 5, "value": 18446744073709551615, "op": "SCMP_CMP_LE"}]},
                {"names": ["setns"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 1, "value": 0, "op": op} for op in
                          ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_GE", "SCMP_CMP_GT")]},
            ],
        },
        "rootfsPropagation": "private",
        "maskedPaths": ["/proc/kcore"],
        "readonlyPaths": ["/proc/sys"],
        "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
        "personality": {"domain": "LINUX32", "flags": []},
    }
    return doc


def state(**kw) -> dict:
    doc = {"ociVersion": "1.3.0", "id": "oci-container1", "status": "running", "pid": 4422,
           "bundle": "/containers/redis", "annotations": {"myKey": "myValue"}}
    doc.update(kw)
    return doc


# --- mutations --------------------------------------------------------------------

DELETE = object()


def mut(doc: dict, path: str, value: object) -> dict:
    """A deep copy of `doc` with the field at dotted `path` ("a.b[2].c")
    replaced by `value`, or removed if value is DELETE."""
    doc = copy.deepcopy(doc)
    keys: list = []
    for part in path.split("."):
        m = re.fullmatch(r"([^\[]*)((?:\[\d+\])*)", part)
        if m.group(1):
            keys.append(m.group(1))
        keys.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    node = doc
    for key in keys[:-1]:
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return doc


RUNC = runc_spec()
ROOTLESS = runc_rootless()
DOCKER = docker_config()
FULL = full_config()
MINIMAL = {"ociVersion": "1.3.0"}

# (name, document) pairs every validator must accept.
VALID_CONFIGS: list[tuple[str, object]] = [
    ("runc-spec", RUNC),
    ("runc-spec-rootless", ROOTLESS),
    ("docker", DOCKER),
    ("full", FULL),
    ("minimal", MINIMAL),
    ("root-only", {"ociVersion": "1.3.0", "root": {"path": "rootfs"}}),
    ("no-process", mut(RUNC, "process", DELETE)),
    ("process-only-cwd", mut(MINIMAL, "process", {"cwd": "/"})),
    ("empty-sections", {"ociVersion": "1.0.0", "mounts": [], "hooks": {}, "annotations": {},
                        "linux": {"namespaces": [], "resources": {}, "sysctl": {},
                                  "timeOffsets": {}, "netDevices": {}}}),
    ("unknown-properties", {
        "ociVersion": "1.3.0", "x-vendor": {"anything": [1, None]},
        "process": {"cwd": "/", "args": ["sh"], "futureField": 7,
                    "user": {"uid": 0, "gid": 0, "sid": "S-1-5"}},
        "linux": {"newThing": True,
                  "resources": {"memory": {"limit": 1, "futureKnob": "x"}, "misc": {}},
                  "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                              "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                            "comment": "not in the spec"}]}},
        "hooks": {"onExplode": [1, 2, 3]},
    }),
    ("uid-max", mut(RUNC, "process.user.uid", 4294967295)),
    ("gid-max-additional", mut(RUNC, "process.user.additionalGids", [0, 4294967295])),
    ("rlimit-infinity", mut(RUNC, "process.rlimits[0]",
                            {"type": "RLIMIT_MEMLOCK", "soft": 18446744073709551615,
                             "hard": 18446744073709551615})),
    ("every-rlimit", mut(RUNC, "process.rlimits", [
        {"type": t, "soft": 0, "hard": 0} for t in
        ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
         "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE",
         "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING",
         "RLIMIT_STACK")])),
    ("memory-unlimited", mut(FULL, "linux.resources.memory",
                             {"limit": -1, "swap": -1, "reservation": -1})),
    ("memory-int64-extremes", mut(FULL, "linux.resources.memory",
                                  {"limit": 9223372036854775807,
                                   "kernel": -9223372036854775808})),
    ("pids-zero", mut(RUNC, "linux.resources.pids", {"limit": 0})),
    ("pids-unlimited", mut(RUNC, "linux.resources.pids", {"limit": -1})),
    ("cpu-quota-unlimited", mut(RUNC, "linux.resources.cpu", {"quota": -1, "period": 100000})),
    ("swappiness-100", mut(FULL, "linux.resources.memory.swappiness", 100)),
    ("blkio-weight-uint16-max", mut(FULL, "linux.resources.blockIO.weight", 65535)),
    ("device-pipe-no-numbers", mut(RUNC, "linux.devices", [{"path": "/p", "type": "p"}])),
    ("device-negative-major", mut(RUNC, "linux.devices",
                                  [{"path": "/dev/x", "type": "c", "major": -1, "minor": -1}])),
    ("mount-relative-destination", mut(RUNC, "mounts[0].destination", "proc")),
    ("mount-only-destination", mut(RUNC, "mounts", [{"destination": "/tmp"}])),
    ("namespace-with-path", mut(RUNC, "linux.namespaces[1]",
                                {"type": "network", "path": "/var/run/netns/neta"})),
    ("hook-timeout-1", mut(RUNC, "hooks", {"poststop": [{"path": "/bin/true",
                                                         "timeout": 1}]})),
    ("annotation-empty-value", mut(RUNC, "annotations", {"k": ""})),
    ("oom-score-adj-any-int", mut(RUNC, "process.oomScoreAdj", 1000)),
    ("scheduler-minimal", mut(RUNC, "process.scheduler", {"policy": "SCHED_OTHER"})),
    ("scheduler-all-flags", mut(RUNC, "process.scheduler", {
        "policy": "SCHED_RR", "priority": 99, "nice": 19,
        "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
                  "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS",
                  "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX"]})),
    ("io-priority-rt", mut(RUNC, "process.ioPriority",
                           {"class": "IOPRIO_CLASS_RT", "priority": 0})),
    ("seccomp-minimal", mut(RUNC, "linux.seccomp", {"defaultAction": "SCMP_ACT_ALLOW"})),
    ("seccomp-listener-path-only", mut(RUNC, "linux.seccomp", {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]})),
    ("rootfs-propagation-each", mut(FULL, "linux.rootfsPropagation", "unbindable")),
    ("personality-linux", mut(RUNC, "linux.personality", {"domain": "LINUX"})),
    ("memory-policy-default", mut(RUNC, "linux.memoryPolicy", {"mode": "MPOL_DEFAULT"})),
    ("intel-rdt-closid-only", mut(RUNC, "linux.intelRdt", {"closID": "/"})),
    ("time-offsets-partial", mut(RUNC, "linux.timeOffsets", {"monotonic": {"secs": 1}})),
    ("other-platform-sections", {"ociVersion": "1.3.0", "windows": {"layerFolders": ["C:\\l"]},
                                 "solaris": {}, "vm": {"kernel": {"path": "/vmlinuz"}},
                                 "zos": {}, "freebsd": {}}),
    ("windows-user-fields", mut(RUNC, "process.user.username", "containeradministrator")),
]

# (name, document, expected path prefix of our error) every validator must reject.
INVALID_CONFIGS: list[tuple[str, object, str]] = [
    ("not-an-object", [], "document"),
    ("string-document", "config", "document"),
    ("no-oci-version", mut(RUNC, "ociVersion", DELETE), "document"),
    ("oci-version-number", mut(RUNC, "ociVersion", 1.2), "ociVersion"),
    ("root-not-object", mut(RUNC, "root", "rootfs"), "root"),
    ("root-without-path", mut(RUNC, "root.path", DELETE), "root"),
    ("root-path-number", mut(RUNC, "root.path", 5), "root.path"),
    ("root-readonly-string", mut(RUNC, "root.readonly", "yes"), "root.readonly"),
    ("mounts-object", mut(RUNC, "mounts", {"destination": "/x"}), "mounts"),
    ("mount-without-destination", mut(RUNC, "mounts[1].destination", DELETE), "mounts[1]"),
    ("mount-options-string", mut(RUNC, "mounts[2].options", "ro"), "mounts[2].options"),
    ("mount-source-null", mut(RUNC, "mounts[0].source", None), "mounts[0].source"),
    ("mount-uidmapping-negative", mut(FULL, "mounts[7].uidMappings[0].hostID", -1),
     "mounts[7].uidMappings[0].hostID"),
    ("process-not-object", mut(RUNC, "process", ["sh"]), "process"),
    ("process-without-cwd", mut(RUNC, "process.cwd", DELETE), "process"),
    ("cwd-number", mut(RUNC, "process.cwd", 0), "process.cwd"),
    ("args-number-item", mut(RUNC, "process.args", ["sh", 1]), "process.args[1]"),
    ("args-string", mut(RUNC, "process.args", "sh"), "process.args"),
    ("env-string", mut(RUNC, "process.env", "PATH=/bin"), "process.env"),
    ("env-null-item", mut(RUNC, "process.env", [None]), "process.env[0]"),
    ("terminal-string", mut(RUNC, "process.terminal", "true"), "process.terminal"),
    ("terminal-int", mut(RUNC, "process.terminal", 1), "process.terminal"),
    ("console-size-no-width", mut(FULL, "process.consoleSize.width", DELETE),
     "process.consoleSize"),
    ("console-size-negative", mut(FULL, "process.consoleSize.height", -1),
     "process.consoleSize.height"),
    ("uid-negative", mut(RUNC, "process.user.uid", -1), "process.user.uid"),
    ("uid-2-32", mut(RUNC, "process.user.uid", 2**32), "process.user.uid"),
    ("uid-string", mut(RUNC, "process.user.uid", "0"), "process.user.uid"),
    ("uid-bool", mut(RUNC, "process.user.uid", True), "process.user.uid"),
    ("uid-fraction", mut(RUNC, "process.user.uid", 0.5), "process.user.uid"),
    ("gid-null", mut(RUNC, "process.user.gid", None), "process.user.gid"),
    ("umask-negative", mut(FULL, "process.user.umask", -1), "process.user.umask"),
    ("additional-gid-negative", mut(FULL, "process.user.additionalGids", [5, -6]),
     "process.user.additionalGids[1]"),
    ("rlimits-object", mut(RUNC, "process.rlimits", {"RLIMIT_NOFILE": 1}), "process.rlimits"),
    ("rlimit-without-soft", mut(RUNC, "process.rlimits[0].soft", DELETE),
     "process.rlimits[0]"),
    ("rlimit-without-type", mut(RUNC, "process.rlimits[0].type", DELETE),
     "process.rlimits[0]"),
    ("rlimit-lowercase-type", mut(RUNC, "process.rlimits[0].type", "rlimit_nofile"),
     "process.rlimits[0].type"),
    ("rlimit-hard-negative", mut(RUNC, "process.rlimits[0].hard", -1),
     "process.rlimits[0].hard"),
    ("rlimit-soft-2-64", mut(RUNC, "process.rlimits[0].soft", 2**64),
     "process.rlimits[0].soft"),
    ("capabilities-string", mut(RUNC, "process.capabilities.bounding", "CAP_KILL"),
     "process.capabilities.bounding"),
    ("capability-number", mut(RUNC, "process.capabilities.effective", [1]),
     "process.capabilities.effective[0]"),
    ("no-new-privileges-int", mut(RUNC, "process.noNewPrivileges", 1),
     "process.noNewPrivileges"),
    ("oom-score-adj-string", mut(RUNC, "process.oomScoreAdj", "100"), "process.oomScoreAdj"),
    ("oom-score-adj-fraction", mut(RUNC, "process.oomScoreAdj", 1.5), "process.oomScoreAdj"),
    ("apparmor-number", mut(RUNC, "process.apparmorProfile", 3), "process.apparmorProfile"),
    ("scheduler-no-policy", mut(FULL, "process.scheduler.policy", DELETE), "process.scheduler"),
    ("scheduler-bad-policy", mut(FULL, "process.scheduler.policy", "SCHED_FOO"),
     "process.scheduler.policy"),
    ("scheduler-nice-int32", mut(FULL, "process.scheduler.nice", 2**31),
     "process.scheduler.nice"),
    ("scheduler-bad-flag", mut(FULL, "process.scheduler.flags", ["SCHED_FLAG_FAST"]),
     "process.scheduler.flags[0]"),
    ("scheduler-runtime-negative", mut(FULL, "process.scheduler.runtime", -1),
     "process.scheduler.runtime"),
    ("io-priority-bad-class", mut(FULL, "process.ioPriority.class", "IOPRIO_CLASS_NONE"),
     "process.ioPriority.class"),
    ("io-priority-no-class", mut(FULL, "process.ioPriority.class", DELETE),
     "process.ioPriority"),
    ("io-priority-huge", mut(FULL, "process.ioPriority.priority", 2**31),
     "process.ioPriority.priority"),
    ("exec-cpu-affinity-number", mut(FULL, "process.execCPUAffinity.initial", 7),
     "process.execCPUAffinity.initial"),
    ("selinux-label-list", mut(FULL, "process.selinuxLabel", []), "process.selinuxLabel"),
    ("hostname-number", mut(RUNC, "hostname", 5), "hostname"),
    ("domainname-list", mut(RUNC, "domainname", []), "domainname"),
    ("hooks-list", mut(RUNC, "hooks", []), "hooks"),
    ("hook-without-path", mut(FULL, "hooks.prestart[0].path", DELETE), "hooks.prestart[0]"),
    ("hook-timeout-zero", mut(FULL, "hooks.poststart[0].timeout", 0),
     "hooks.poststart[0].timeout"),
    ("hook-timeout-negative", mut(FULL, "hooks.createRuntime[0].timeout", -3),
     "hooks.createRuntime[0].timeout"),
    ("hook-timeout-string", mut(FULL, "hooks.poststop[0].timeout", "5"),
     "hooks.poststop[0].timeout"),
    ("hook-args-string", mut(FULL, "hooks.startContainer[0].args", "x"),
     "hooks.startContainer[0].args"),
    ("hook-env-number-item", mut(FULL, "hooks.createContainer[0].env", [1]),
     "hooks.createContainer[0].env[0]"),
    ("hooks-poststop-object", mut(FULL, "hooks.poststop", {"path": "/x"}), "hooks.poststop"),
    ("annotations-list", mut(RUNC, "annotations", ["a=b"]), "annotations"),
    ("annotation-value-number", mut(RUNC, "annotations", {"a": 1}), "annotations.a"),
    ("linux-list", mut(RUNC, "linux", []), "linux"),
    ("namespace-bogus", mut(RUNC, "linux.namespaces[1].type", "bogus"),
     "linux.namespaces[1].type"),
    ("namespace-net", mut(RUNC, "linux.namespaces[1].type", "net"),
     "linux.namespaces[1].type"),
    ("namespace-without-type", mut(RUNC, "linux.namespaces[0]", {"path": "/proc/1/ns/pid"}),
     "linux.namespaces[0]"),
    ("namespace-path-number", mut(RUNC, "linux.namespaces[0].path", 1),
     "linux.namespaces[0].path"),
    ("uid-mapping-without-size", mut(ROOTLESS, "linux.uidMappings[0].size", DELETE),
     "linux.uidMappings[0]"),
    ("uid-mapping-host-negative", mut(ROOTLESS, "linux.uidMappings[0].hostID", -1),
     "linux.uidMappings[0].hostID"),
    ("gid-mapping-container-2-32", mut(ROOTLESS, "linux.gidMappings[0].containerID", 2**32),
     "linux.gidMappings[0].containerID"),
    ("time-offset-secs-string", mut(FULL, "linux.timeOffsets.monotonic.secs", "1"),
     "linux.timeOffsets.monotonic.secs"),
    ("time-offset-nanosecs-negative", mut(FULL, "linux.timeOffsets.boottime.nanosecs", -1),
     "linux.timeOffsets.boottime.nanosecs"),
    ("device-bad-type", mut(FULL, "linux.devices[0].type", "x"), "linux.devices[0].type"),
    ("device-type-two-letters", mut(FULL, "linux.devices[0].type", "cb"),
     "linux.devices[0].type"),
    ("device-without-path", mut(FULL, "linux.devices[1].path", DELETE), "linux.devices[1]"),
    ("device-without-type", mut(FULL, "linux.devices[1].type", DELETE), "linux.devices[1]"),
    ("device-major-string", mut(FULL, "linux.devices[0].major", "10"),
     "linux.devices[0].major"),
    ("device-file-mode-negative", mut(FULL, "linux.devices[0].fileMode", -1),
     "linux.devices[0].fileMode"),
    ("device-uid-2-32", mut(FULL, "linux.devices[0].uid", 2**32), "linux.devices[0].uid"),
    ("net-device-string", mut(FULL, "linux.netDevices.eth1", "eth1"), "linux.netDevices.eth1"),
    ("net-device-name-number", mut(FULL, "linux.netDevices.eth1.name", 1),
     "linux.netDevices.eth1.name"),
    ("cgroups-path-number", mut(FULL, "linux.cgroupsPath", 1), "linux.cgroupsPath"),
    ("device-rule-without-allow", mut(RUNC, "linux.resources.devices[0].allow", DELETE),
     "linux.resources.devices[0]"),
    ("device-rule-allow-string", mut(RUNC, "linux.resources.devices[0].allow", "false"),
     "linux.resources.devices[0].allow"),
    ("device-rule-access-list", mut(RUNC, "linux.resources.devices[0].access", ["r"]),
     "linux.resources.devices[0].access"),
    ("memory-limit-string", mut(FULL, "linux.resources.memory.limit", "1G"),
     "linux.resources.memory.limit"),
    ("memory-limit-int64-overflow", mut(FULL, "linux.resources.memory.limit", 2**63),
     "linux.resources.memory.limit"),
    ("memory-swappiness-negative", mut(FULL, "linux.resources.memory.swappiness", -1),
     "linux.resources.memory.swappiness"),
    ("memory-oom-killer-string", mut(FULL, "linux.resources.memory.disableOOMKiller", "no"),
     "linux.resources.memory.disableOOMKiller"),
    ("cpu-shares-negative", mut(FULL, "linux.resources.cpu.shares", -1),
     "linux.resources.cpu.shares"),
    ("cpu-quota-overflow", mut(FULL, "linux.resources.cpu.quota", 2**63),
     "linux.resources.cpu.quota"),
    ("cpu-cpus-number", mut(FULL, "linux.resources.cpu.cpus", 2), "linux.resources.cpu.cpus"),
    ("pids-limit-string", mut(FULL, "linux.resources.pids.limit", "max"),
     "linux.resources.pids.limit"),
    ("blkio-weight-too-big", mut(FULL, "linux.resources.blockIO.weight", 70000),
     "linux.resources.blockIO.weight"),
    ("blkio-weight-device-no-major", mut(FULL, "linux.resources.blockIO.weightDevice[0].major",
                                         DELETE), "linux.resources.blockIO.weightDevice[0]"),
    ("blkio-throttle-rate-negative",
     mut(FULL, "linux.resources.blockIO.throttleReadBpsDevice[0].rate", -1),
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate"),
    ("hugepage-without-limit", mut(FULL, "linux.resources.hugepageLimits[0].limit", DELETE),
     "linux.resources.hugepageLimits[0]"),
    ("hugepage-limit-negative", mut(FULL, "linux.resources.hugepageLimits[1].limit", -1),
     "linux.resources.hugepageLimits[1].limit"),
    ("network-class-id-negative", mut(FULL, "linux.resources.network.classID", -1),
     "linux.resources.network.classID"),
    ("network-priority-without-name",
     mut(FULL, "linux.resources.network.priorities[0].name", DELETE),
     "linux.resources.network.priorities[0]"),
    ("rdma-handles-negative", mut(FULL, "linux.resources.rdma.mlx5_1.hcaHandles", -1),
     "linux.resources.rdma.mlx5_1.hcaHandles"),
    ("unified-value-number", mut(FULL, "linux.resources.unified", {"pids.max": 10}),
     "linux.resources.unified.pids.max"),
    ("sysctl-value-number", mut(FULL, "linux.sysctl", {"net.ipv4.ip_forward": 1}),
     "linux.sysctl.net.ipv4.ip_forward"),
    ("seccomp-without-default", mut(FULL, "linux.seccomp.defaultAction", DELETE),
     "linux.seccomp"),
    ("seccomp-bad-default", mut(FULL, "linux.seccomp.defaultAction", "SCMP_ACT_BOGUS"),
     "linux.seccomp.defaultAction"),
    ("seccomp-bad-action", mut(FULL, "linux.seccomp.syscalls[0].action", "SCMP_ACT_DENY"),
     "linux.seccomp.syscalls[0].action"),
    ("seccomp-empty-names", mut(FULL, "linux.seccomp.syscalls[0].names", []),
     "linux.seccomp.syscalls[0].names"),
    ("seccomp-without-names", mut(FULL, "linux.seccomp.syscalls[0].names", DELETE),
     "linux.seccomp.syscalls[0]"),
    ("seccomp-without-action", mut(FULL, "linux.seccomp.syscalls[1].action", DELETE),
     "linux.seccomp.syscalls[1]"),
    ("seccomp-bad-op", mut(FULL, "linux.seccomp.syscalls[8].args[0].op", "SCMP_CMP_XOR"),
     "linux.seccomp.syscalls[8].args[0].op"),
    ("seccomp-arg-without-value", mut(FULL, "linux.seccomp.syscalls[8].args[1].value", DELETE),
     "linux.seccomp.syscalls[8].args[1]"),
    ("seccomp-arg-index-negative", mut(FULL, "linux.seccomp.syscalls[8].args[0].index", -1),
     "linux.seccomp.syscalls[8].args[0].index"),
    ("seccomp-arg-value-2-64", mut(FULL, "linux.seccomp.syscalls[8].args[0].valueTwo", 2**64),
     "linux.seccomp.syscalls[8].args[0].valueTwo"),
    ("seccomp-bad-arch", mut(FULL, "linux.seccomp.architectures", ["SCMP_ARCH_Z80"]),
     "linux.seccomp.architectures[0]"),
    ("seccomp-bad-flag", mut(FULL, "linux.seccomp.flags", ["SECCOMP_FILTER_FLAG_NEW"]),
     "linux.seccomp.flags[0]"),
    ("seccomp-errno-negative", mut(FULL, "linux.seccomp.defaultErrnoRet", -1),
     "linux.seccomp.defaultErrnoRet"),
    ("seccomp-errno-ret-string", mut(FULL, "linux.seccomp.syscalls[2].errnoRet", "EPERM"),
     "linux.seccomp.syscalls[2].errnoRet"),
    ("rootfs-propagation-bogus", mut(FULL, "linux.rootfsPropagation", "recursive"),
     "linux.rootfsPropagation"),
    ("masked-paths-string", mut(FULL, "linux.maskedPaths", "/proc/kcore"), "linux.maskedPaths"),
    ("readonly-paths-number-item", mut(FULL, "linux.readonlyPaths", [1]),
     "linux.readonlyPaths[0]"),
    ("mount-label-number", mut(FULL, "linux.mountLabel", 1), "linux.mountLabel"),
    ("personality-bad-domain", mut(FULL, "linux.personality.domain", "LINUX64"),
     "linux.personality.domain"),
    ("personality-flags-string", mut(FULL, "linux.personality.flags", "x"),
     "linux.personality.flags"),
    ("memory-policy-bad-mode", mut(FULL, "linux.memoryPolicy.mode", "MPOL_RANDOM"),
     "linux.memoryPolicy.mode"),
    ("memory-policy-bad-flag", mut(FULL, "linux.memoryPolicy.flags", ["MPOL_F_X"]),
     "linux.memoryPolicy.flags[0]"),
    ("intel-rdt-closid-number", mut(FULL, "linux.intelRdt.closID", 1), "linux.intelRdt.closID"),
    ("intel-rdt-monitoring-string", mut(FULL, "linux.intelRdt.enableMonitoring", "yes"),
     "linux.intelRdt.enableMonitoring"),
    ("intel-rdt-schemata-string", mut(FULL, "linux.intelRdt.schemata", "L3:0=f"),
     "linux.intelRdt.schemata"),
    ("windows-string", mut(MINIMAL, "windows", "x"), "windows"),
    ("vm-list", mut(MINIMAL, "vm", []), "vm"),
]

# Documents ours rejects and the upstream schema accepts, each because the spec
# text says more than the upstream schema encodes.
STRICTER_CONFIGS: list[tuple[str, object, str]] = [
    # config.md#configPOSIXUser: "uid (int, REQUIRED)", "gid (int, REQUIRED)".
    ("user-without-uid", mut(RUNC, "process.user.uid", DELETE), "process.user"),
    ("user-without-gid", mut(RUNC, "process.user.gid", DELETE), "process.user"),
    # config.md#configLinuxProcess: ioPriority "priority (int, REQUIRED)".
    ("io-priority-without-priority", mut(FULL, "process.ioPriority.priority", DELETE),
     "process.ioPriority"),
    # config.md#configProcess: args "at least one entry is REQUIRED (non-Windows)".
    ("args-empty", mut(RUNC, "process.args", []), "process.args"),
    # config.md#configPOSIXProcess: rlimit type "Linux: valid values are defined in
    # the getrlimit(2) man page"; upstream only checks ^RLIMIT_[A-Z]+$.
    ("rlimit-unknown-resource", mut(RUNC, "process.rlimits[0].type", "RLIMIT_BOGUS"),
     "process.rlimits[0].type"),
    # config.md#configPOSIXMounts: uidMappings "If specified, it MUST be specified
    # along with gidMappings" (and the other way round).
    ("mount-uid-mappings-alone", mut(FULL, "mounts[7].gidMappings", DELETE), "mounts[7]"),
    ("mount-gid-mappings-alone", mut(FULL, "mounts[7].uidMappings", DELETE), "mounts[7]"),
    # config.md#configAnnotations: "Keys MUST NOT be an empty string."
    ("annotation-empty-key", mut(RUNC, "annotations", {"": "x"}), "annotations"),
    # config-linux.md#configLinuxDevices: "major, minor (int64, REQUIRED unless type is p)".
    ("device-char-without-major", mut(FULL, "linux.devices[0].major", DELETE),
     "linux.devices[0]"),
    ("device-block-without-minor", mut(FULL, "linux.devices[1].minor", DELETE),
     "linux.devices[1]"),
    # config-linux.md#configLinuxDeviceAllowedlist: type "a (all), c (char), or b (block)".
    ("device-rule-type-u", mut(RUNC, "linux.resources.devices[0].type", "u"),
     "linux.resources.devices[0].type"),
    # config-linux.md#configLinuxMemory: swappiness "The values are from 0 to 100."
    ("memory-swappiness-101", mut(FULL, "linux.resources.memory.swappiness", 101),
     "linux.resources.memory.swappiness"),
    # config-linux.md#configLinuxBlockIO: weightDevice "You MUST specify at least one
    # of weight or leafWeight in a given entry".
    ("blkio-weight-device-no-weights", mut(FULL, "linux.resources.blockIO.weightDevice[1]",
                                           {"major": 8, "minor": 16}),
     "linux.resources.blockIO.weightDevice[1]"),
    # config-linux.md#configLinuxBlockIO: throttle entries "rate (uint64, REQUIRED)".
    ("blkio-throttle-without-rate",
     mut(FULL, "linux.resources.blockIO.throttleWriteIOPSDevice[0].rate", DELETE),
     "linux.resources.blockIO.throttleWriteIOPSDevice[0]"),
    # config-linux.md#configLinuxRDMA: "You MUST specify at least one of the
    # hcaHandles or hcaObjects in a given entry".
    ("rdma-entry-empty", mut(FULL, "linux.resources.rdma.rxe3", {}),
     "linux.resources.rdma.rxe3"),
    # config-linux.md#configLinuxTimeOffset: "The name of the clock is the entry key.
    # Entry values are objects" -- for every key, not only boottime and monotonic.
    ("time-offset-realtime-number", mut(FULL, "linux.timeOffsets.realtime", 5),
     "linux.timeOffsets.realtime"),
    # config-linux.md#configLinuxSeccomp: listenerMetadata "MUST NOT be set if
    # listenerPath is not set".
    ("seccomp-metadata-without-listener", mut(FULL, "linux.seccomp.listenerPath", DELETE),
     "linux.seccomp"),
    # config-linux.md#configLinuxMemoryPolicy: "mode (string, REQUIRED)".
    ("memory-policy-without-mode", mut(FULL, "linux.memoryPolicy.mode", DELETE),
     "linux.memoryPolicy"),
    # config-linux.md#configLinuxPersonality: "domain (string, REQUIRED)".
    ("personality-without-domain", mut(FULL, "linux.personality.domain", DELETE),
     "linux.personality"),
    # A NUL can be in a JSON string but not in a C string: paths, names and
    # arguments would be cut short there (or refused by the os module).
    ("args-nul", mut(RUNC, "process.args[0]", "s\x00h"), "process.args[0]"),
    ("mount-destination-nul", mut(RUNC, "mounts[0].destination", "/proc\x00/x"),
     "mounts[0].destination"),
    ("cgroups-path-nul", mut(FULL, "linux.cgroupsPath", "a\x00b"), "linux.cgroupsPath"),
    ("sysctl-key-nul", mut(FULL, "linux.sysctl", {"net.ipv4.ip_forward\x00": "1"}),
     "linux.sysctl"),
    ("net-device-key-nul", mut(FULL, "linux.netDevices", {"eth\x000": {}}),
     "linux.netDevices"),
]

# Documents ours accepts and the upstream schema rejects.
LOOSER_CONFIGS: list[tuple[str, object]] = [
    # config-linux.md#configLinuxPIDS: "limit (int64, OPTIONAL)" -- upstream still
    # lists it as required.
    ("pids-without-limit", mut(FULL, "linux.resources.pids", {})),
    # config-linux.md#configLinuxDevices: "fileMode (uint32, OPTIONAL)"; upstream caps
    # it at 0777, which rules out setuid/setgid/sticky bits.
    ("device-file-mode-sticky", mut(FULL, "linux.devices[0].fileMode", 0o1666)),
    # Not expressible without `pattern` (our validator has none); the text gives the
    # formats only in prose: execCPUAffinity "comma-separated list, with dashes",
    # hugepage pageSize "<size><unit-prefix>B", memBwSchema "MUST start with MB:".
    ("exec-cpu-affinity-words", mut(FULL, "process.execCPUAffinity.final", "all cpus")),
    ("hugepage-page-size-lowercase", mut(FULL, "linux.resources.hugepageLimits[0].pageSize",
                                         "2mb")),
    ("intel-rdt-mem-bw-without-prefix", mut(FULL, "linux.intelRdt.memBwSchema", "0=20;1=70")),
    # config-linux.md#configLinuxRootfsMountPropagation lists shared, slave, private
    # and unbindable; Docker writes "rslave"/"rshared" there and runc accepts them,
    # so refusing them would refuse real Docker bundles.
    ("rootfs-propagation-rslave", mut(DOCKER, "linux.rootfsPropagation", "rslave")),
    ("rootfs-propagation-rshared", mut(FULL, "linux.rootfsPropagation", "rshared")),
]

VALID_STATES: list[tuple[str, object]] = [
    ("running", state()),
    ("created", state(status="created", annotations={})),
    ("creating", state(status="creating")),
    ("stopped-no-pid", {k: v for k, v in state(status="stopped").items() if k != "pid"}),
    ("stopped-pid-0", state(status="stopped", pid=0)),
    ("minimal-stopped", {"ociVersion": "1.0.2", "id": "x", "status": "stopped", "bundle": "/b"}),
    ("unknown-properties", state(created="2024-01-01T00:00:00Z", owner="root",
                                 rootfs="/b/rootfs")),
]
INVALID_STATES: list[tuple[str, object, str]] = [
    ("list", [], "document"),
    ("no-id", mut(state(), "id", DELETE), "document"),
    ("no-bundle", mut(state(), "bundle", DELETE), "document"),
    ("no-status", mut(state(), "status", DELETE), "document"),
    ("no-oci-version", mut(state(), "ociVersion", DELETE), "document"),
    ("status-number", state(status=1), "status"),
    ("status-empty", state(status=""), "status"),
    ("pid-negative", state(pid=-1), "pid"),
    ("pid-string", state(pid="4422"), "pid"),
    ("id-number", state(id=7), "id"),
    ("bundle-null", state(bundle=None), "bundle"),
    ("annotations-value-number", state(annotations={"a": 1}), "annotations.a"),
    ("annotations-list", state(annotations=[]), "annotations"),
]
STRICTER_STATES: list[tuple[str, object, str]] = [
    # runtime.md#runtimeState: pid "REQUIRED when status is created or running on Linux".
    ("running-without-pid", mut(state(), "pid", DELETE), "document"),
    ("created-without-pid", mut(state(status="created"), "pid", DELETE), "document"),
    # runtime.md#runtimeState: annotation keys follow config.md (non-empty).
    ("annotation-empty-key", state(annotations={"": "v"}), "annotations"),
]
LOOSER_STATES: list[tuple[str, object]] = [
    # runtime.md#runtimeState: "Additional values MAY be defined by the runtime";
    # upstream enumerates only the four the spec defines. runc reports "paused".
    ("paused", state(status="paused")),
]


# --- examples from the spec text -------------------------------------------------

_TOP_KEYS = set(CONFIG_SCHEMA["properties"])
_LINUX_KEYS = set(CONFIG_SCHEMA["$defs"]["Linux"]["properties"])
_RESOURCE_KEYS = set(CONFIG_SCHEMA["$defs"]["Resources"]["properties"])


def _wrap_example(frag: dict) -> dict | None:
    keys = set(frag)
    if keys <= _TOP_KEYS:
        doc = dict(frag)
        doc.setdefault("ociVersion", "1.3.0")
        return doc
    is_rule_list = (frag.get("devices") and isinstance(frag["devices"], list)
                    and "allow" in frag["devices"][0])
    if keys <= _LINUX_KEYS and not is_rule_list:
        return {"ociVersion": "1.3.0", "linux": frag}
    if keys <= _RESOURCE_KEYS:
        return {"ociVersion": "1.3.0", "linux": {"resources": frag}}
    return None


def spec_examples(md_name: str) -> list[tuple[str, dict]]:
    """The ```json examples of a spec document that are well-formed JSON, each
    wrapped into a whole config.json."""
    text = (REFERENCE / md_name).read_text()
    out = []
    for i, block in enumerate(re.findall(r"```json\n(.*?)```", text, re.S)):
        block = block.strip().rstrip(",")
        for candidate in (block, "{" + block + "}"):
            try:
                frag = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(frag, dict):
                doc = _wrap_example(frag)
                if doc is not None:
                    out.append((f"{md_name}#{i}", doc))
            break
    return out


def _spec_example_configs() -> list[tuple[str, dict]]:
    if not REFERENCE.is_dir():
        return []
    return spec_examples("config.md") + spec_examples("config-linux.md")


SPEC_EXAMPLE_CONFIGS = _spec_example_configs()


def _spec_example_states() -> list[tuple[str, dict]]:
    """runtime.md's state example and the state inside config-linux.md's
    container process state example."""
    out = []
    if not REFERENCE.is_dir():
        return out
    for md_name in ("runtime.md", "config-linux.md"):
        text = (REFERENCE / md_name).read_text()
        for i, block in enumerate(re.findall(r"```json\n(.*?)```", text, re.S)):
            try:
                doc = json.loads(block)
            except ValueError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("state"), dict):
                doc = doc["state"]
            if isinstance(doc, dict) and "status" in doc:
                out.append((f"{md_name}#{i}", doc))
    return out


SPEC_EXAMPLE_STATES = _spec_example_states()


def _ids(cases):
    return [c[0] for c in cases]


# --- 1. the schemas are schemas ------------------------------------------------------

@pytest.mark.parametrize("name", ["config-schema.json", "state-schema.json"])
def test_schema_is_valid_draft_2020_12(name):
    schema = _load(SPEC_DIR / name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


_SUPPORTED = {"type", "enum", "const", "properties", "required", "additionalProperties",
              "propertyNames", "items", "minItems", "maxItems", "uniqueItems", "minLength",
              "minimum", "maximum", "anyOf", "oneOf", "allOf", "not", "$ref",
              "title", "description", "$comment"}


def _walk_schemas(schema, where="#"):
    """Every subschema with its location."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for key in ("properties", "$defs"):
        for name, sub in schema.get(key, {}).items():
            yield from _walk_schemas(sub, f"{where}/{key}/{name}")
    for key in ("additionalProperties", "propertyNames", "items", "not"):
        if key in schema:
            yield from _walk_schemas(schema[key], f"{where}/{key}")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key, ())):
            yield from _walk_schemas(sub, f"{where}/{key}/{i}")


@pytest.mark.parametrize("schema", [CONFIG_SCHEMA, STATE_SCHEMA], ids=["config", "state"])
def test_schema_uses_only_what_pyrunc_schema_understands(schema):
    for where, sub in _walk_schemas(schema):
        extra = set(sub) - _SUPPORTED - ({"$schema", "$defs"} if where == "#" else set())
        assert not extra, f"{where} uses {sorted(extra)}"
        ref = sub.get("$ref")
        if ref is not None:
            assert ref.startswith("#/$defs/") and ref[len("#/$defs/"):] in schema["$defs"], \
                f"{where}: bad $ref {ref}"
        assert sub.get("additionalProperties", True) is not False, \
            f"{where}: unknown properties must be allowed (config.md#configExtensibility)"


# --- 2. pyrunc.schema agrees with jsonschema ------------------------------------------

def _all_config_docs():
    return ([(n, d) for n, d in VALID_CONFIGS] + [(n, d) for n, d, _ in INVALID_CONFIGS]
            + [(n, d) for n, d, _ in STRICTER_CONFIGS] + [(n, d) for n, d in LOOSER_CONFIGS]
            + SPEC_EXAMPLE_CONFIGS)


def _all_state_docs():
    return ([(n, d) for n, d in VALID_STATES] + [(n, d) for n, d, _ in INVALID_STATES]
            + [(n, d) for n, d, _ in STRICTER_STATES] + [(n, d) for n, d in LOOSER_STATES]
            + SPEC_EXAMPLE_STATES)


def test_corpus_is_big_enough():
    assert len(_all_config_docs()) + len(_all_state_docs()) >= 60
    # The spec's own examples are part of the corpus; make sure extraction works.
    assert len(SPEC_EXAMPLE_CONFIGS) >= 20, SPEC_EXAMPLE_CONFIGS
    assert len(SPEC_EXAMPLE_STATES) >= 2, SPEC_EXAMPLE_STATES


@pytest.mark.parametrize("name,doc", _all_config_docs(), ids=_ids(_all_config_docs()))
def test_config_validators_agree(name, doc):
    assert OURS["config"].is_valid(doc) == JS["config"].is_valid(doc)


@pytest.mark.parametrize("name,doc", _all_state_docs(), ids=_ids(_all_state_docs()))
def test_state_validators_agree(name, doc):
    assert OURS["state"].is_valid(doc) == JS["state"].is_valid(doc)


@pytest.mark.parametrize("name,doc", VALID_CONFIGS + LOOSER_CONFIGS + SPEC_EXAMPLE_CONFIGS,
                         ids=_ids(VALID_CONFIGS + LOOSER_CONFIGS + SPEC_EXAMPLE_CONFIGS))
def test_valid_config_accepted(name, doc):
    OURS["config"].validate(doc)


@pytest.mark.parametrize("name,doc,where", INVALID_CONFIGS + STRICTER_CONFIGS,
                         ids=_ids(INVALID_CONFIGS + STRICTER_CONFIGS))
def test_invalid_config_rejected(name, doc, where):
    with pytest.raises(ConfigError) as err:
        OURS["config"].validate(doc)
    assert str(err.value).startswith(where + ":"), str(err.value)


@pytest.mark.parametrize("name,doc", VALID_STATES + LOOSER_STATES + SPEC_EXAMPLE_STATES,
                         ids=_ids(VALID_STATES + LOOSER_STATES + SPEC_EXAMPLE_STATES))
def test_valid_state_accepted(name, doc):
    OURS["state"].validate(doc)


@pytest.mark.parametrize("name,doc,where", INVALID_STATES + STRICTER_STATES,
                         ids=_ids(INVALID_STATES + STRICTER_STATES))
def test_invalid_state_rejected(name, doc, where):
    with pytest.raises(ConfigError) as err:
        OURS["state"].validate(doc)
    assert str(err.value).startswith(where + ":"), str(err.value)


def _leaves(doc, path=()):
    """Paths of the scalars and empty containers in doc."""
    if isinstance(doc, dict) and doc:
        for k, v in doc.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(doc, list) and doc:
        for i, v in enumerate(doc):
            yield from _leaves(v, path + (i,))
    else:
        yield path


def _replace(doc, path, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


_INT_EDGES = [0, 1, -1, 7, 10, 100, 101, 511, 512, 1000, 65535, 65536, 2**31 - 1, 2**31,
              -2**31, -2**31 - 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, -2**63, -2**63 - 1,
              2**64 - 1, 2**64]
_STRING_EDGES = ["", "p", "c", "a", "x", "pid", "net", "RLIMIT_NOFILE", "RLIMIT_BOGUS",
                 "SCMP_ACT_ALLOW", "SCMP_ACT_BOGUS", "SCMP_CMP_EQ", "SCHED_RR", "LINUX",
                 "MPOL_BIND", "IOPRIO_CLASS_RT", "private", "rslave", "2MB", "MB:0=1",
                 "0-3,7", "/abs", "created", "paused"]


def json_values(key_text, float_filter=lambda f: True):
    scalars = (st.none() | st.booleans()
               | st.integers(min_value=-2**65, max_value=2**65) | st.sampled_from(_INT_EDGES)
               | st.floats(allow_nan=False, allow_infinity=False).filter(float_filter)
               | st.text(max_size=12) | st.sampled_from(_STRING_EDGES))
    return st.recursive(
        scalars,
        lambda inner: (st.lists(inner, max_size=4)
                       | st.dictionaries(key_text, inner, max_size=4)),
        max_leaves=8)


CONFIG_BASES = [RUNC, ROOTLESS, DOCKER, FULL]
STATE_BASES = [state(), state(status="stopped", pid=0),
               {"ociVersion": "1", "id": "x", "status": "stopped", "bundle": "/b"}]
_SETTINGS = settings(max_examples=300, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _same_kind(old):
    """Values of the old leaf's JSON type, so that many mutants stay valid or
    fail only on a range or an enum rather than on the type."""
    if isinstance(old, bool):
        return st.booleans()
    if isinstance(old, int):
        return (st.sampled_from(_INT_EDGES) | st.integers(min_value=old - 3, max_value=old + 3)
                | st.integers(min_value=-2**64, max_value=2**64))
    if isinstance(old, str):
        return st.sampled_from(_STRING_EDGES) | st.text(max_size=8)
    if isinstance(old, list):
        return st.lists(st.sampled_from(_STRING_EDGES) | st.sampled_from(_INT_EDGES), max_size=3)
    return st.just(old)


@st.composite
def mutations(draw, bases, values):
    """(base, path, mutant): `base` with the leaf at `path` replaced."""
    base = draw(st.sampled_from(bases))
    path = draw(st.sampled_from(list(_leaves(base))))
    old = base
    for key in path:
        old = old[key]
    value = draw(values | _same_kind(old))
    return base, path, _replace(base, path, value)


@_SETTINGS
@given(mutations(CONFIG_BASES, json_values(st.text(max_size=6))))
def test_config_validators_agree_on_mutations(case):
    _, _, doc = case
    assert OURS["config"].is_valid(doc) == JS["config"].is_valid(doc)


@_SETTINGS
@given(mutations(STATE_BASES, json_values(st.text(max_size=6))))
def test_state_validators_agree_on_mutations(case):
    _, _, doc = case
    assert OURS["state"].is_valid(doc) == JS["state"].is_valid(doc)


# --- 3. the upstream schema ----------------------------------------------------------

@pytest.mark.parametrize("name,doc", VALID_CONFIGS + SPEC_EXAMPLE_CONFIGS,
                         ids=_ids(VALID_CONFIGS + SPEC_EXAMPLE_CONFIGS))
def test_upstream_accepts_valid_configs(name, doc):
    upstream("config").validate(doc)


@pytest.mark.parametrize("name,doc,where", INVALID_CONFIGS, ids=_ids(INVALID_CONFIGS))
def test_upstream_rejects_invalid_configs(name, doc, where):
    assert not upstream("config").is_valid(doc)


@pytest.mark.parametrize("name,doc,where", STRICTER_CONFIGS, ids=_ids(STRICTER_CONFIGS))
def test_stricter_than_upstream_configs(name, doc, where):
    assert upstream("config").is_valid(doc), "no longer a divergence: move it to INVALID"
    assert not OURS["config"].is_valid(doc)


@pytest.mark.parametrize("name,doc", LOOSER_CONFIGS, ids=_ids(LOOSER_CONFIGS))
def test_looser_than_upstream_configs(name, doc):
    assert not upstream("config").is_valid(doc), "no longer a divergence: move it to VALID"
    assert OURS["config"].is_valid(doc)


@pytest.mark.parametrize("name,doc", VALID_STATES + SPEC_EXAMPLE_STATES,
                         ids=_ids(VALID_STATES + SPEC_EXAMPLE_STATES))
def test_upstream_accepts_valid_states(name, doc):
    upstream("state").validate(doc)


@pytest.mark.parametrize("name,doc,where", INVALID_STATES, ids=_ids(INVALID_STATES))
def test_upstream_rejects_invalid_states(name, doc, where):
    assert not upstream("state").is_valid(doc)


@pytest.mark.parametrize("name,doc,where", STRICTER_STATES, ids=_ids(STRICTER_STATES))
def test_stricter_than_upstream_states(name, doc, where):
    assert upstream("state").is_valid(doc)
    assert not OURS["state"].is_valid(doc)


@pytest.mark.parametrize("name,doc", LOOSER_STATES, ids=_ids(LOOSER_STATES))
def test_looser_than_upstream_states(name, doc):
    assert not upstream("state").is_valid(doc)
    assert OURS["state"].is_valid(doc)


def _divergence_at(path, value) -> str | None:
    names = [p for p in path if isinstance(p, str)]
    last = names[-1] if names else None
    parent = names[-2] if len(names) > 1 else None
    if last in ("initial", "final") and parent == "execCPUAffinity":
        return "looser: pattern"
    if last in ("pageSize", "memBwSchema"):
        return "looser: pattern"
    if last == "fileMode" and isinstance(value, int) and 511 < value <= 2**32 - 1:
        return "looser: fileMode is uint32"
    if last == "rootfsPropagation" and value in ("rshared", "rslave", "rprivate",
                                                 "runbindable"):
        return "looser: recursive propagation"
    if last == "limit" and parent == "pids" and value == {}:
        return "looser: pids.limit is optional"
    if last == "pids" and isinstance(value, dict) and "limit" not in value:
        return "looser: pids.limit is optional"
    if last == "type" and parent == "rlimits" and isinstance(value, str) \
            and re.search(r"^RLIMIT_[A-Z]+$", value):
        return "stricter: rlimit resource names"
    if last == "type" and parent == "devices" and "resources" in names:
        return "stricter: allowlist type a/b/c"
    if last == "type" and parent == "devices" and isinstance(value, str) \
            and re.search(r"^[cbup]$", value):
        return "stricter: major/minor required unless p (and no trailing newline)"
    if last == "swappiness" and isinstance(value, int) and 100 < value <= 2**64 - 1:
        return "stricter: swappiness 0..100"
    if isinstance(value, str) and "\x00" in value:
        return "stricter: no NUL in strings"
    if last == "status" and isinstance(value, str):
        return "state: status values beyond the spec's four; pid required when running"
    return None


def _documented_divergence(base, path, value) -> str | None:
    """Which documented divergence (STRICTER_*/LOOSER_* above) explains ours and
    upstream disagreeing after the leaf at `path` of `base` became `value`
    (looking inside `value` too when it is a container)."""
    for sub_path, sub_value in _walk_values(value):
        reason = _divergence_at(tuple(path) + sub_path, sub_value)
        if reason:
            return reason
    return None


def _walk_values(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_values(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_values(v, path + (i,))


_SAFE_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.", min_size=1, max_size=6)


@_SETTINGS
@given(mutations(CONFIG_BASES, json_values(_SAFE_KEYS)))
def test_upstream_agrees_on_config_mutations(case):
    base, path, doc = case
    value = doc
    for key in path:
        value = value[key]
    ours, theirs = OURS["config"].is_valid(doc), upstream("config").is_valid(doc)
    if ours != theirs:
        assert _documented_divergence(base, path, value), (path, value, ours, theirs)


@_SETTINGS
@given(mutations(STATE_BASES, json_values(_SAFE_KEYS)))
def test_upstream_agrees_on_state_mutations(case):
    base, path, doc = case
    value = doc
    for key in path:
        value = value[key]
    ours, theirs = OURS["state"].is_valid(doc), upstream("state").is_valid(doc)
    if ours != theirs:
        assert _documented_divergence(base, path, value), (path, value, ours, theirs)


# --- 4. error messages -------------------------------------------------------------------

@pytest.mark.parametrize("doc,prefix,needle", [
    (mut(RUNC, "process.user.uid", -1), "process.user.uid: ", "minimum"),
    (mut(RUNC, "linux.namespaces[1].type", "bogus"), "linux.namespaces[1].type: ", "bogus"),
    (mut(RUNC, "process.rlimits[0].soft", DELETE), "process.rlimits[0]: ", "'soft'"),
    (mut(FULL, "hooks.poststart[0].timeout", 0), "hooks.poststart[0].timeout: ", "minimum"),
    (mut(FULL, "linux.seccomp.syscalls[3].action", "SCMP_ACT_NOPE"),
     "linux.seccomp.syscalls[3].action: ", "SCMP_ACT_NOPE"),
    (mut(FULL, "linux.resources.memory.limit", "1G"), "linux.resources.memory.limit: ",
     "integer"),
    (mut(DOCKER, "mounts[9].options", "ro"), "mounts[9].options: ", "array"),
    (mut(RUNC, "annotations", {"com.example": 1}), "annotations.com.example: ", "string"),
    (mut(RUNC, "ociVersion", DELETE), "document: ", "'ociVersion'"),
    (mut(FULL, "linux.devices[0].major", DELETE), "linux.devices[0]: ", "'major'"),
    (mut(FULL, "mounts[7].gidMappings", DELETE), "mounts[7]: ", "'gidMappings'"),
    (mut(FULL, "linux.seccomp.listenerPath", DELETE), "linux.seccomp: ", "'listenerPath'"),
    (mut(DOCKER, "linux.resources.devices[1].type", "z"), "linux.resources.devices[1].type: ",
     "not one of"),
    (mut(FULL, "process.user.additionalGids[1]", 2**32), "process.user.additionalGids[1]: ",
     "maximum"),
    (mut(RUNC, "process.env[1]", "TERM=\x00"), "process.env[1]: ", "NUL"),
    (mut(FULL, "linux.resources.unified", {"memory.max\x00": "1"}),
     "linux.resources.unified: ", "NUL"),
])
def test_error_names_the_json_path(doc, prefix, needle):
    with pytest.raises(ConfigError) as err:
        OURS["config"].validate(doc)
    msg = str(err.value)
    assert msg.startswith(prefix), msg
    assert needle in msg, msg


def test_state_error_names_the_json_path():
    with pytest.raises(ConfigError) as err:
        OURS["state"].validate(state(pid=-1))
    assert str(err.value).startswith("pid: ")
