"""Reading a bundle: config.json, validated against spec/config-schema.json,
turned into plain typed objects. This is the only module that knows the field
names of config.json; everything below it takes these objects or plain values.
"""
from __future__ import annotations

import os

from . import jsonio
from .cgroups.devices import Rule as DeviceRule
from .errors import ConfigError

SPEC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "spec")
_PACKAGED_SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spec")

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer",
              "poststart", "poststop")

# The kernel's device numbers (dev_t inside the kernel: MINORBITS is 20), what
# mknod(2), devices.allow and the cgroup device program can name.
MAJOR_MAX = (1 << 12) - 1
MINOR_MAX = (1 << 20) - 1

# Process ids are what runc allows (0 to 2**31-1): the kernel reserves
# (uid_t)-1, and signed 32-bit ids are what every tool handles.
_MAX_ID = 2**31 - 1


class IDMap:
    __slots__ = ("container_id", "host_id", "size")

    def __init__(self, container_id: int, host_id: int, size: int) -> None:
        self.container_id = container_id
        self.host_id = host_id
        self.size = size

    def line(self) -> str:
        return f"{self.container_id} {self.host_id} {self.size}\n"


class Mount:
    __slots__ = ("destination", "source", "type", "options", "uid_mappings", "gid_mappings")

    def __init__(self, destination: str, source: str, type: str, options: list[str],
                 uid_mappings: list[IDMap] = (), gid_mappings: list[IDMap] = ()) -> None:
        self.destination = destination
        self.source = source
        self.type = type
        self.options = options
        self.uid_mappings = list(uid_mappings)
        self.gid_mappings = list(gid_mappings)

    @property
    def is_bind(self) -> bool:
        return "bind" in self.options or "rbind" in self.options


class Namespace:
    __slots__ = ("type", "path")

    def __init__(self, type: str, path: str = "") -> None:
        self.type = type
        self.path = path


class User:
    __slots__ = ("uid", "gid", "umask", "additional_gids")

    def __init__(self, uid: int = 0, gid: int = 0, umask: int | None = None,
                 additional_gids: list[int] = ()) -> None:
        self.uid = uid
        self.gid = gid
        self.umask = umask
        self.additional_gids = list(additional_gids)


class Rlimit:
    __slots__ = ("type", "soft", "hard")

    def __init__(self, type: str, soft: int, hard: int) -> None:
        self.type = type
        self.soft = soft
        self.hard = hard


class Capabilities:
    __slots__ = ("bounding", "effective", "inheritable", "permitted", "ambient")

    def __init__(self, raw: dict) -> None:
        self.bounding: list[str] = list(raw.get("bounding") or [])
        self.effective: list[str] = list(raw.get("effective") or [])
        self.inheritable: list[str] = list(raw.get("inheritable") or [])
        self.permitted: list[str] = list(raw.get("permitted") or [])
        self.ambient: list[str] = list(raw.get("ambient") or [])


class Process:
    """config.md#configProcess (and the process.json of `exec`)."""

    __slots__ = ("args", "env", "cwd", "user", "terminal", "console_size", "rlimits",
                 "capabilities", "no_new_privileges", "oom_score_adj", "apparmor_profile",
                 "selinux_label", "io_priority", "scheduler", "exec_cpu_affinity", "raw")

    def __init__(self, raw: dict) -> None:
        self.raw = raw
        self.args: list[str] = list(raw.get("args") or [])
        self.env: list[str] = list(raw.get("env") or [])
        self.cwd: str = raw.get("cwd", "/")
        u = raw.get("user") or {}
        umask = u.get("umask")
        # umask(2) keeps mask & 0777; os.umask() takes a C int.
        self.user = User(u.get("uid", 0), u.get("gid", 0),
                         umask & 0o777 if umask is not None else None,
                         u.get("additionalGids") or [])
        self.terminal: bool = bool(raw.get("terminal", False))
        size = raw.get("consoleSize") or {}
        self.console_size = (size.get("height", 0), size.get("width", 0))
        self.rlimits = [Rlimit(r["type"], r["soft"], r["hard"]) for r in raw.get("rlimits") or []]
        caps = raw.get("capabilities")
        self.capabilities = Capabilities(caps) if caps is not None else None
        self.no_new_privileges: bool = bool(raw.get("noNewPrivileges", False))
        self.oom_score_adj: int | None = raw.get("oomScoreAdj")
        self.apparmor_profile: str = raw.get("apparmorProfile", "")
        self.selinux_label: str = raw.get("selinuxLabel", "")
        io = raw.get("ioPriority")
        self.io_priority = (io["class"], io["priority"]) if io is not None else None
        s = raw.get("scheduler")
        self.scheduler = (s["policy"], s.get("nice", 0), s.get("priority", 0),
                          list(s.get("flags") or []), s.get("runtime", 0),
                          s.get("deadline", 0), s.get("period", 0)) if s is not None else None
        aff = raw.get("execCPUAffinity") or {}
        self.exec_cpu_affinity = (aff.get("initial", ""), aff.get("final", ""))


class Device:
    __slots__ = ("path", "type", "major", "minor", "file_mode", "uid", "gid")

    def __init__(self, path: str, type: str, major: int, minor: int,
                 file_mode: int | None, uid: int | None, gid: int | None) -> None:
        self.path = path
        self.type = type
        self.major = major
        self.minor = minor
        self.file_mode = file_mode
        self.uid = uid
        self.gid = gid


class Hook:
    __slots__ = ("path", "args", "env", "timeout")

    def __init__(self, raw: dict) -> None:
        self.path: str = raw["path"]
        self.args: list[str] = list(raw.get("args") or [self.path])
        # No env given: the hook inherits the runtime's environment, as with
        # runc (config.md does not say; hooks such as GPU ones rely on PATH).
        env = raw.get("env")
        self.env: list[str] | None = list(env) if env is not None else None
        self.timeout: int | None = raw.get("timeout")


class Seccomp:
    """config-linux.md#configLinuxSeccomp, as plain values."""

    __slots__ = ("default_action", "default_errno", "architectures", "flags",
                 "listener_path", "listener_metadata", "rules")

    def __init__(self, raw: dict) -> None:
        from .linux.seccomp import Rule

        self.default_action: str = raw["defaultAction"]
        self.default_errno: int | None = raw.get("defaultErrnoRet")
        self.architectures: list[str] = list(raw.get("architectures") or [])
        flags = raw.get("flags")  # None (absent) is not [] (no flags): runc's default
        self.flags: list[str] | None = list(flags) if flags is not None else None
        self.listener_path: str = raw.get("listenerPath", "")
        self.listener_metadata: str = raw.get("listenerMetadata", "")
        self.rules = [Rule(list(s["names"]), s["action"], s.get("errnoRet"),
                           [(a["index"], a["value"], a.get("valueTwo", 0), a["op"])
                            for a in s.get("args") or []])
                      for s in raw.get("syscalls") or []]

    def uses(self, action: str) -> bool:
        return self.default_action == action or any(r.action == action for r in self.rules)


class Spec:
    """A validated config.json."""

    def __init__(self, raw: dict, bundle: str) -> None:
        self.raw = raw
        self.bundle = bundle
        self.oci_version: str = raw.get("ociVersion", "")
        root = raw.get("root") or {}
        self.root_path = os.path.join(bundle, root.get("path", "rootfs"))
        self.root_readonly: bool = bool(root.get("readonly", False))
        self.mounts = [_mount(m) for m in raw.get("mounts") or []]
        proc = raw.get("process")
        self.process = Process(proc) if proc is not None else None
        self.hostname: str | None = raw.get("hostname")
        self.domainname: str | None = raw.get("domainname")
        self.annotations: dict[str, str] = dict(raw.get("annotations") or {})
        hooks = raw.get("hooks") or {}
        self.hooks = {kind: [Hook(h) for h in hooks.get(kind) or []] for kind in HOOK_KINDS}
        linux = raw.get("linux") or {}
        self.namespaces = [Namespace(n["type"], n.get("path", "")) for n in
                           linux.get("namespaces") or []]
        self.uid_mappings = [_idmap(m) for m in linux.get("uidMappings") or []]
        self.gid_mappings = [_idmap(m) for m in linux.get("gidMappings") or []]
        self.time_offsets = {clock: (v.get("secs", 0), v.get("nanosecs", 0))
                             for clock, v in (linux.get("timeOffsets") or {}).items()}
        self.devices = [Device(d["path"], d["type"], d.get("major", 0), d.get("minor", 0),
                               d.get("fileMode"), d.get("uid"), d.get("gid"))
                        for d in linux.get("devices") or []]
        self.cgroups_path: str = linux.get("cgroupsPath", "")
        self.resources = parse_resources(linux.get("resources") or {})
        self.device_rules = self.resources.devices
        self.rootfs_propagation: str = linux.get("rootfsPropagation", "")
        self.masked_paths: list[str] = list(linux.get("maskedPaths") or [])
        self.readonly_paths: list[str] = list(linux.get("readonlyPaths") or [])
        self.sysctl: dict[str, str] = dict(linux.get("sysctl") or {})
        self.mount_label: str = linux.get("mountLabel", "")
        seccomp = linux.get("seccomp")
        self.seccomp = Seccomp(seccomp) if seccomp is not None else None
        pers = linux.get("personality")
        self.personality = (pers["domain"], list(pers.get("flags") or [])) if pers else None
        mpol = linux.get("memoryPolicy")
        self.memory_policy = (mpol["mode"], mpol.get("nodes", ""),
                              list(mpol.get("flags") or [])) if mpol else None
        rdt = linux.get("intelRdt")
        self.intel_rdt = (rdt.get("closID", ""), rdt.get("l3CacheSchema", ""),
                          rdt.get("memBwSchema", ""), list(rdt.get("schemata") or []),
                          bool(rdt.get("enableMonitoring", False))) if rdt is not None else None
        self.net_devices = {host: (dev or {}).get("name") or host
                            for host, dev in (linux.get("netDevices") or {}).items()}

    def namespace(self, kind: str) -> Namespace | None:
        for ns in self.namespaces:
            if ns.type == kind:
                return ns
        return None

    def has_new_namespace(self, kind: str) -> bool:
        ns = self.namespace(kind)
        return ns is not None and not ns.path


def parse_resources(raw: dict):
    """config-linux.md#configLinuxControlGroups `resources` (also the document
    `update --resources` reads) as cgroups.resources values."""
    from .cgroups.resources import CPU, BlockIO, Memory, Resources

    res = Resources()
    m = raw.get("memory")
    if m is not None:
        res.memory = Memory(limit=m.get("limit"), reservation=m.get("reservation"),
                            swap=m.get("swap"), kernel=m.get("kernel"),
                            kernel_tcp=m.get("kernelTCP"), swappiness=m.get("swappiness"),
                            disable_oom_killer=m.get("disableOOMKiller"),
                            use_hierarchy=m.get("useHierarchy"),
                            check_before_update=m.get("checkBeforeUpdate"))
    c = raw.get("cpu")
    if c is not None:
        res.cpu = CPU(shares=c.get("shares"), quota=c.get("quota"), burst=c.get("burst"),
                      period=c.get("period"), realtime_runtime=c.get("realtimeRuntime"),
                      realtime_period=c.get("realtimePeriod"), cpus=c.get("cpus"),
                      mems=c.get("mems"), idle=c.get("idle"))
    pids = raw.get("pids")
    if pids is not None:
        res.pids_limit = pids.get("limit")
    b = raw.get("blockIO")
    if b is not None:
        def devs(key: str) -> list:
            return [(d["major"], d["minor"], d["rate"]) for d in b.get(key) or []]

        res.block_io = BlockIO(
            weight=b.get("weight"), leaf_weight=b.get("leafWeight"),
            weight_device=[(d["major"], d["minor"], d.get("weight"), d.get("leafWeight"))
                           for d in b.get("weightDevice") or []],
            throttle_read_bps=devs("throttleReadBpsDevice"),
            throttle_write_bps=devs("throttleWriteBpsDevice"),
            throttle_read_iops=devs("throttleReadIOPSDevice"),
            throttle_write_iops=devs("throttleWriteIOPSDevice"))
    res.hugepage_limits = [(h["pageSize"], h["limit"]) for h in raw.get("hugepageLimits") or []]
    net = raw.get("network")
    if net is not None:
        res.net_class_id = net.get("classID")
        res.net_priorities = [(p["name"], p["priority"]) for p in net.get("priorities") or []]
    res.rdma = {dev: (v.get("hcaHandles"), v.get("hcaObjects"))
                for dev, v in (raw.get("rdma") or {}).items()}
    res.unified = dict(raw.get("unified") or {})
    res.devices = [DeviceRule(r.get("allow", False), r.get("type", "a"), r.get("major"),
                              r.get("minor"), r.get("access", "rwm"))
                   for r in raw.get("devices") or []]
    for i, rule in enumerate(res.devices):
        # config-linux.md: "A composition of r (read), w (write), and m
        # (mknod)"; devices.allow refuses anything else (EINVAL), and no
        # access at all unless the rule is the bare "a" (all devices).
        access = rule.access
        if (not set(access) <= {"r", "w", "m"} or len(set(access)) != len(access)
                or not access and rule.v1() != "a"):
            raise ConfigError(f"linux.resources.devices[{i}].access: {access!r} is not "
                              "a composition of r (read), w (write) and m (mknod)")
        # config-linux.md: unset means any (runc: -1 too); other numbers are
        # the kernel's (devices.allow and the eBPF program compare them as
        # such; 2**31 used to break the program's encoding).
        for name, value, top in (("major", rule.major, MAJOR_MAX),
                                 ("minor", rule.minor, MINOR_MAX)):
            if value is not None and not -1 <= value <= top:
                raise ConfigError(f"linux.resources.devices[{i}].{name}: {value} is neither "
                                  f"-1 (any) nor a device {name} number (0 to {top})")
    return res


def load_resources(doc: object, where: str):
    """A LinuxResources document from `update --resources`, validated."""
    validator().validate_def(doc, "Resources", where)
    return parse_resources(doc)  # type: ignore[arg-type]


def load_process(doc: object, where: str) -> Process:
    """A process.json for `exec --process` (config.md#configProcess), validated."""
    validator().validate_def(doc, "Process", where)
    proc = Process(doc)  # type: ignore[arg-type]
    check_process(proc, where)
    return proc


class ProcessFlags:
    """runc exec's flags that shape the process (`exec ID CMD...` without
    --process), as the command line gave them; "" and [] mean not given."""

    __slots__ = ("args", "env", "cwd", "user", "additional_gids", "caps", "no_new_privs",
                 "tty", "apparmor", "process_label")

    def __init__(self, args: list[str], env: list[str] | None = None, cwd: str = "",
                 user: str = "", additional_gids: list[str] | None = None,
                 caps: list[str] | None = None, no_new_privs: bool = False,
                 tty: bool = False, apparmor: str = "", process_label: str = "") -> None:
        self.args = args
        self.env: list[str] = env or []
        self.cwd = cwd
        self.user = user            # uid[:gid]
        self.additional_gids: list[str] = additional_gids or []
        self.caps: list[str] = caps or []
        self.no_new_privs = no_new_privs
        self.tty = tty
        self.apparmor = apparmor
        self.process_label = process_label


def exec_process(base: dict | None, flags: ProcessFlags) -> Process:
    """`exec ID CMD...`: the container's process settings with runc exec's
    flags on top."""
    raw = dict(base or {})
    raw["args"] = list(flags.args)
    merged = list(raw.get("env") or [])
    for item in flags.env:
        key = item.split("=", 1)[0] + "="
        merged = [e for e in merged if not e.startswith(key)] + [item]
    raw["env"] = merged
    if flags.cwd:
        raw["cwd"] = flags.cwd
    raw.setdefault("cwd", "/")
    u = dict(raw.get("user") or {"uid": 0, "gid": 0})
    user = flags.user
    if user:
        uid, _, gid = user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            raise ConfigError(f"--user: {user!r} is not uid[:gid]")
        u["uid"] = int(uid)
        if gid:
            u["gid"] = int(gid)
    if flags.additional_gids:
        gids = []
        for g in flags.additional_gids:
            if not g.isdigit():
                raise ConfigError(f"--additional-gids: {g!r} is not a number")
            gids.append(int(g))
        u["additionalGids"] = gids
    raw["user"] = u
    caps = flags.caps
    if caps:
        # runc's rule since CVE-2022-29162: --cap goes into the bounding,
        # effective and permitted sets, never into inheritable (a process
        # with inheritable capabilities gains them from file capabilities at
        # execve), and into ambient only where the config has an inheritable
        # set (ambient needs the capability inheritable too).
        c = {k: list(v) for k, v in (raw.get("capabilities") or {}).items() if v is not None}
        keys = ["bounding", "effective", "permitted"]
        if "inheritable" in c:
            keys.append("ambient")
        for key in keys:
            c[key] = list(dict.fromkeys(list(c.get(key) or []) + list(caps)))
        raw["capabilities"] = c
    if flags.no_new_privs:
        raw["noNewPrivileges"] = True
    raw["terminal"] = flags.tty
    if flags.apparmor:
        raw["apparmorProfile"] = flags.apparmor
    if flags.process_label:
        raw["selinuxLabel"] = flags.process_label
    validator().validate_def(raw, "Process", "process")
    proc = Process(raw)
    check_process(proc, "process")
    return proc


def _idmap(m: dict) -> IDMap:
    return IDMap(m["containerID"], m["hostID"], m["size"])


def _mount(m: dict) -> Mount:
    dest = m["destination"]
    if not dest.startswith("/"):
        # config.md#configMounts: relative destinations are relative to "/".
        dest = "/" + dest
    return Mount(dest, m.get("source", ""), m.get("type", ""), list(m.get("options") or []),
                 [_idmap(x) for x in m.get("uidMappings") or []],
                 [_idmap(x) for x in m.get("gidMappings") or []])


# --- loading and validation --------------------------------------------------

_validator = None


def _schema_path() -> str:
    for base in (_PACKAGED_SPEC, SPEC_DIR):
        path = os.path.join(base, "config-schema.json")
        if os.path.exists(path):
            return path
    raise ConfigError("pyrunc installation is broken: spec/config-schema.json not found")


def validator():
    global _validator
    if _validator is None:
        from .schema import Validator

        with open(_schema_path(), "rb") as f:
            _validator = Validator(jsonio.loads(f.read()))  # type: ignore[arg-type]
    return _validator


def load(bundle: str) -> Spec:
    """Read, validate and type `<bundle>/config.json`."""
    bundle = os.path.abspath(bundle)
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConfigError(f"JSON specification file {path} not found") from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    try:
        doc = jsonio.loads(raw)
    except ValueError as err:
        raise ConfigError(f"config.json: invalid JSON: {err}") from None
    return from_dict(doc, bundle)  # type: ignore[arg-type]


# runc's words for some schema errors, added after the field: callers and
# runc's own tests match on them.
_RUNC_WORDS = (("linux.memoryPolicy: 'mode'", "invalid memory policy mode"),
               ("linux.memoryPolicy.mode", "invalid memory policy mode"),
               ("linux.memoryPolicy.flags", "invalid memory policy flag"),
               ("linux.memoryPolicy.nodes", "invalid memory policy node"),
               ("linux.memoryPolicy", "invalid memory policy"))


def _with_runc_words(err: ConfigError) -> ConfigError:
    text = str(err)
    for prefix, words in _RUNC_WORDS:
        if text.startswith(prefix):
            field, _, rest = text.partition(": ")
            return ConfigError(f"{field}: {words}: {rest}")
    return err


def from_dict(doc: dict, bundle: str) -> Spec:
    try:
        validator().validate(doc)
    except ConfigError as err:
        raise _with_runc_words(err) from None
    spec = Spec(doc, bundle)
    check(spec)
    return spec


def check(spec: Spec) -> None:
    """Rules of config.md / config-linux.md that a schema cannot express."""
    raw = spec.raw
    if not is_semver(spec.oci_version):
        raise ConfigError(f"ociVersion: {spec.oci_version!r} is not a SemVer 2.0.0 version "
                          "(config.md#configSpecificationVersion)")
    if "root" not in raw:
        raise ConfigError("root: is required on Linux (config.md#configRoot)")
    if not os.path.isdir(spec.root_path):
        raise ConfigError(f"root.path: {spec.root_path} is not a directory "
                          "(config.md#configRoot)")
    if spec.process is not None:
        check_process(spec.process, "process")
    _check_namespaces(spec)
    for kind, hooks in spec.hooks.items():
        for i, hook in enumerate(hooks):
            if not hook.path.startswith("/"):
                raise ConfigError(f"hooks.{kind}[{i}].path: {hook.path!r} must be an "
                                  "absolute path (config.md#configHooks)")
    for i, m in enumerate(spec.mounts):
        check_path_length(m.destination, f"mounts[{i}].destination")
    for i, dev in enumerate(spec.devices):
        if not dev.path.startswith("/"):
            raise ConfigError(f"linux.devices[{i}].path: {dev.path!r} must be absolute")
        check_path_length(dev.path, f"linux.devices[{i}].path")
        for name, value in (("uid", dev.uid), ("gid", dev.gid)):
            if value == 2**32 - 1:
                # (uid_t)-1: chown(2) would leave the node owned by root.
                raise ConfigError(f"linux.devices[{i}].{name}: 4294967295 is no owner; "
                                  "chown(2) reads it as 'leave unchanged'")
        if dev.type != "p":
            for name, value, top in (("major", dev.major, MAJOR_MAX),
                                     ("minor", dev.minor, MINOR_MAX)):
                if not 0 <= value <= top:
                    raise ConfigError(f"linux.devices[{i}].{name}: {value} is not a device "
                                      f"{name} number (0 to {top})")
    if spec.seccomp is not None:
        _check_seccomp(spec.seccomp)
    _check_linux_process(spec)
    for field, paths in (("maskedPaths", spec.masked_paths),
                         ("readonlyPaths", spec.readonly_paths)):
        for i, p in enumerate(paths):
            if not p.startswith("/"):
                raise ConfigError(f"linux.{field}[{i}]: {p!r} must be an absolute path")
            check_path_length(p, f"linux.{field}[{i}]")
        if paths and spec.namespace("mount") is None:
            # The bind mounts would be made in the host's mount namespace
            # (runc: "unable to restrict sys entries without a private MNT
            # namespace").
            raise ConfigError(f"linux.{field}: needs a mount namespace of the container's "
                              "own (linux.namespaces); the mounts would be the host's")


_IDENT_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")


def _numeric(part: str) -> bool:
    return part.isascii() and part.isdigit() and (part == "0" or part[0] != "0")


def _identifiers(text: str, prerelease: bool) -> bool:
    for ident in text.split("."):
        if not ident or not set(ident) <= _IDENT_CHARS:
            return False
        if prerelease and ident.isdigit() and not _numeric(ident):
            return False
    return True


def is_semver(version: str) -> bool:
    """SemVer 2.0.0 (semver.org, clauses 2, 9 and 10): MAJOR.MINOR.PATCH
    without leading zeros, then an optional -prerelease (numeric identifiers
    without leading zeros) and an optional +build, each made of dot-separated
    non-empty [0-9A-Za-z-] identifiers."""
    rest, plus, build = version.partition("+")
    if plus and not _identifiers(build, prerelease=False):
        return False
    core, dash, pre = rest.partition("-")
    if dash and not _identifiers(pre, prerelease=True):
        return False
    parts = core.split(".")
    return len(parts) == 3 and all(_numeric(p) for p in parts)


def _check_linux_process(spec: Spec) -> None:
    """Translations the init will need, checked before anything is created."""
    from .linux import lsm, sched, sysctl

    proc = spec.process
    if proc is not None:
        lsm.check(proc.apparmor_profile, proc.selinux_label, spec.mount_label)
        if proc.scheduler is not None:
            sched.sched_attr(*proc.scheduler)
        for which, text in zip(("initial", "final"), proc.exec_cpu_affinity):
            if text:
                sched.parse_list(text, f"process.execCPUAffinity.{which}")
    elif spec.mount_label:
        lsm.check("", "", spec.mount_label)
    if spec.personality is not None and spec.personality[1]:
        raise ConfigError("linux.personality.flags: no flag values are supported "
                          "(config-linux.md#configLinuxPersonality)")
    if spec.memory_policy is not None:
        sched.mempolicy(*spec.memory_policy)
    if spec.sysctl:
        sysctl.check(spec.sysctl, _private_namespaces(spec))
    if spec.net_devices and not spec.has_new_namespace("network"):
        raise ConfigError("linux.netDevices: moving interfaces needs a new network "
                          "namespace (linux.namespaces)")
    for host, name in spec.net_devices.items():
        if "/" in name or len(name) > 15 or not name:
            raise ConfigError(f"linux.netDevices.{host}.name: {name!r} is not an interface "
                              "name")


def _private_namespaces(spec: Spec) -> set[str]:
    """Namespace types the container does not share with the runtime."""
    out = set()
    for ns in spec.namespaces:
        if not ns.path:
            out.add(ns.type)
            continue
        from .linux.namespaces import proc_name

        try:
            if os.stat(ns.path).st_ino != os.stat(f"/proc/self/ns/{proc_name(ns.type)}").st_ino:
                out.add(ns.type)
        except OSError:
            out.add(ns.type)  # the join itself reports a missing path
    return out


def _check_seccomp(sc: Seccomp) -> None:
    """config-linux.md#configLinuxSeccomp rules beyond the schema."""
    from .linux.seccomp import WITH_ERRNO

    if sc.default_errno is not None and sc.default_action not in WITH_ERRNO:
        raise ConfigError(f"linux.seccomp.defaultErrnoRet: {sc.default_action} does not take "
                          "an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)")
    for i, rule in enumerate(sc.rules):
        if rule.errno_ret is not None and rule.action not in WITH_ERRNO:
            raise ConfigError(f"linux.seccomp.syscalls[{i}].errnoRet: {rule.action} does not "
                              "take an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)")
        if rule.action == "SCMP_ACT_NOTIFY":
            # The init hands the listener fd to pyrunc with sendmsg(2) after the
            # filter is loaded: notifying that call could never be answered.
            for name in ("sendmsg", "write"):
                if name in rule.names:
                    raise ConfigError(f"linux.seccomp.syscalls[{i}]: SCMP_ACT_NOTIFY cannot be "
                                      f"used for the {name} syscall (pyrunc needs it to hand "
                                      "the listener fd over)")
    if sc.default_action == "SCMP_ACT_NOTIFY":
        raise ConfigError("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY as the default would "
                          "notify the runtime's own last system calls; use it per syscall")
    if sc.uses("SCMP_ACT_NOTIFY") and not sc.listener_path:
        raise ConfigError("linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used "
                          "(nothing would answer the notifications)")
    if sc.listener_metadata and not sc.listener_path:
        raise ConfigError("linux.seccomp.listenerMetadata: must not be set without "
                          "listenerPath")
    if "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" in (sc.flags or ()) and not sc.uses(
            "SCMP_ACT_NOTIFY"):
        raise ConfigError("linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only "
                          "applies to SCMP_ACT_NOTIFY (the kernel refuses it otherwise)")
    if sc.listener_path and not sc.listener_path.startswith("/"):
        raise ConfigError(f"linux.seccomp.listenerPath: {sc.listener_path!r} must be absolute")


def check_process(proc: Process, where: str) -> None:
    if not proc.args:
        raise ConfigError(f"{where}.args: at least one entry is required "
                          "(config.md#configProcess)")
    if not proc.cwd.startswith("/"):
        raise ConfigError(f"{where}.cwd: {proc.cwd!r} must be an absolute path "
                          "(config.md#configProcess)")
    check_path_length(proc.cwd, f"{where}.cwd")
    u = proc.user
    for field, value in ([(f"{where}.user.uid", u.uid), (f"{where}.user.gid", u.gid)]
                         + [(f"{where}.user.additionalGids[{i}]", gid)
                            for i, gid in enumerate(u.additional_gids)]):
        # runc's range: 4294967295 is (uid_t)-1, which setresuid(2) and
        # setresgid(2) read as "leave unchanged" -- the process would stay root.
        if value > _MAX_ID:
            raise ConfigError(f"{field}: {value} is above {_MAX_ID}, the highest id a "
                              "process can be given")
    if proc.terminal:
        # struct winsize holds unsigned shorts (config.md: ignored without a
        # terminal).
        for name, value in zip(("height", "width"), proc.console_size):
            if value > 65535:
                raise ConfigError(f"{where}.consoleSize.{name}: {value} is more than a "
                                  "terminal can have (65535)")
    seen: set[str] = set()
    for i, lim in enumerate(proc.rlimits):
        if lim.type in seen:
            raise ConfigError(f"{where}.rlimits[{i}].type: duplicate {lim.type} "
                              "(config.md#configPOSIXProcess)")
        seen.add(lim.type)


def check_path_length(path: str, field: str) -> None:
    """A path in the container must be one the kernel takes (ENAMETOOLONG
    otherwise, from deep in the init): at most PATH_MAX - 1 bytes, each
    component at most NAME_MAX."""
    if len(path) < 64:
        return  # 63 characters are at most 252 bytes
    data = os.fsencode(path)
    if len(data) > 4095:
        raise ConfigError(f"{field}: {len(data)} bytes long; the kernel takes paths of at "
                          "most 4095 (PATH_MAX)")
    for part in data.split(b"/"):
        if len(part) > 255:
            raise ConfigError(f"{field}: has a component {len(part)} bytes long; the kernel "
                              "takes at most 255 (NAME_MAX)")


def _check_namespaces(spec: Spec) -> None:
    seen: set[str] = set()
    for i, ns in enumerate(spec.namespaces):
        if ns.type in seen:
            raise ConfigError(f"linux.namespaces[{i}].type: duplicate namespace "
                              f"{ns.type!r} (config-linux.md#configLinuxNamespaces)")
        seen.add(ns.type)
        if ns.path and not ns.path.startswith("/"):
            raise ConfigError(f"linux.namespaces[{i}].path: {ns.path!r} must be an "
                              "absolute path")
    user = spec.namespace("user")
    if (spec.uid_mappings or spec.gid_mappings) and user is None:
        raise ConfigError("linux.uidMappings: mappings need a user namespace "
                          "(config-linux.md#configLinuxUserNamespaceMappings)")
    if user is not None and not user.path and not (spec.uid_mappings and spec.gid_mappings):
        raise ConfigError("linux.uidMappings: a new user namespace needs uidMappings "
                          "and gidMappings")
    for field, maps in (("linux.uidMappings", spec.uid_mappings),
                        ("linux.gidMappings", spec.gid_mappings)):
        check_id_mappings(maps, field)
    if user is not None and not user.path and spec.process is not None:
        # setresuid/setresgid/setgroups refuse an id the new namespace does
        # not map (EINVAL, in the init).
        u = spec.process.user
        ids = [("process.user.uid", u.uid, "linux.uidMappings", spec.uid_mappings),
               ("process.user.gid", u.gid, "linux.gidMappings", spec.gid_mappings)]
        ids += [(f"process.user.additionalGids[{i}]", gid, "linux.gidMappings",
                 spec.gid_mappings) for i, gid in enumerate(u.additional_gids)]
        for field, value, maps_field, maps in ids:
            if not any(m.container_id <= value < m.container_id + m.size for m in maps):
                raise ConfigError(f"{field}: {value} is not mapped in {maps_field}, so the "
                                  "process could not take it in its user namespace")
    if spec.hostname and spec.namespace("uts") is None:
        raise ConfigError("hostname: setting a hostname needs a private uts namespace")
    if spec.domainname and spec.namespace("uts") is None:
        raise ConfigError("domainname: setting a domainname needs a private uts namespace")
    for field, name in (("hostname", spec.hostname), ("domainname", spec.domainname)):
        # sethostname(2)/setdomainname(2): EINVAL past the utsname field.
        if name is not None and len(name) > 16 and len(os.fsencode(name)) > 64:
            raise ConfigError(f"{field}: {len(os.fsencode(name))} bytes long; the kernel "
                              "takes at most 64")
    if spec.time_offsets and not spec.has_new_namespace("time"):
        raise ConfigError("linux.timeOffsets: offsets need a new time namespace "
                          "(config-linux.md#configLinuxTimeOffset)")
    for clock in spec.time_offsets:
        if clock not in ("monotonic", "boottime"):
            raise ConfigError(f"linux.timeOffsets.{clock}: unknown clock (only "
                              "monotonic and boottime have time namespace offsets)")


# user_namespaces(7): at most 340 lines in uid_map/gid_map (Linux 4.15+).
_MAX_ID_MAPS = 340


def check_id_mappings(maps: list[IDMap], field: str) -> None:
    """What the kernel would refuse in uid_map/gid_map, refused here with the
    field's name (config-linux.md#configLinuxUserNamespaceMappings): empty
    ranges, ranges past 2^32, overlapping ranges on either side."""
    if len(maps) > _MAX_ID_MAPS:
        raise ConfigError(f"{field}: {len(maps)} ranges; the kernel takes at most "
                          f"{_MAX_ID_MAPS}")
    for i, m in enumerate(maps):
        if m.size < 1:
            raise ConfigError(f"{field}[{i}].size: must be at least 1")
        for name, start in (("containerID", m.container_id), ("hostID", m.host_id)):
            if start + m.size > 1 << 32:
                raise ConfigError(f"{field}[{i}]: {name} {start} + size {m.size} goes past "
                                  "the last id (4294967295)")
        for j, other in enumerate(maps[:i]):
            for name, a, b in (("containerID", m.container_id, other.container_id),
                               ("hostID", m.host_id, other.host_id)):
                if a < b + other.size and b < a + m.size:
                    raise ConfigError(f"{field}[{i}]: its {name} range overlaps "
                                      f"{field}[{j}]")
