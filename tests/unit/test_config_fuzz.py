"""Fuzzing the config loader: "the image and the config may be written by an
attacker". Random and mutated config.json documents go through what
`pyrunc create` does with a bundle before it forks (bundle.load, the
terminal rule, container.create.plan_init with its capability, rlimit,
scheduler and namespace resolution, the cgroup plan, the device rules) and
then through the pure translations it makes after the fork (cgroup v1 and
v2 files, device rules for v1 and as an eBPF program, the seccomp program).
Each document must be accepted, or refused with a PyruncError whose message
starts with the JSON path of a field (`process.user.uid: ...`); never any
other exception, never a hang, never a leaked file descriptor.

A document the upstream runtime-spec schema rejects must be rejected by
pyrunc too, unless test_schema documents the field as one where pyrunc is
deliberately looser.

Deterministic (derandomize=True) and bounded, for CI. The strategies and
load_like_create() are shared with tests/security/test_config_fuzz_containers.py,
which runs a sample of the accepted documents as real containers.
"""
from __future__ import annotations

import copy
import json
import os
import signal
import tempfile

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from test_schema import (_INT_EDGES, _STRING_EDGES, CONFIG_SCHEMA, _documented_divergence,
                         _replace, full_config, json_values, upstream)

from pyrunc import bundle, jsonio
from pyrunc.cgroups import CgroupManager, ebpf, v1, v2
from pyrunc.container import create, launching
from pyrunc.default_spec import default_spec
from pyrunc.errors import PyruncError
from pyrunc.linux import seccomp
from pyrunc.schema import join

CID = "fuzz"

# --- the documents ---------------------------------------------------------------------


def default_base(rootfs: str) -> dict:
    """pyrunc's default spec (`pyrunc spec`) for this rootfs, without a
    terminal (create has no console socket here)."""
    doc = default_spec()
    doc["process"]["terminal"] = False
    doc["root"]["path"] = rootfs
    return doc


def rich_base(rootfs: str) -> dict:
    """test_schema's every-field config, minus what this host's loader must
    refuse whatever else the document says (AppArmor and SELinux labels on a
    kernel without them), so that mutations anywhere reach the later checks."""
    doc = full_config()
    doc["root"] = {"path": rootfs, "readonly": True}
    proc = doc["process"]
    proc["terminal"] = False
    for key in ("apparmorProfile", "selinuxLabel"):
        proc.pop(key, None)
    doc["linux"].pop("mountLabel", None)
    # SCMP_ACT_KILL_PROCESS takes no errno (a rule of pyrunc's loader).
    doc["linux"]["seccomp"].pop("defaultErrnoRet")
    # Architectures every libseccomp 2.5 knows.
    doc["linux"]["seccomp"]["architectures"] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                                "SCMP_ARCH_AARCH64"]
    # libseccomp refuses several comparisons of one argument in a rule (runc
    # splits them into rules; pyrunc refuses them, naming the rule).
    setns = doc["linux"]["seccomp"]["syscalls"][9]
    assert setns["names"] == ["setns"]
    setns["args"] = [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"},
                     {"index": 1, "value": 0, "op": "SCMP_CMP_GE"}]
    # Without the closing allow-all rule, so that the device rules before it
    # reach the device program.
    rules = doc["linux"]["resources"]["devices"]
    assert rules[-1] == {"allow": True, "type": "a"}
    del rules[-1]
    return doc


# Where mutations go: every part of the config, each picked equally often
# (a uniform pick over all nodes would be mostly seccomp syscall names).
SECTIONS = [
    ("ociVersion",), ("root",), ("mounts",), ("hostname",), ("domainname",),
    ("annotations",), ("hooks",),
    ("process",), ("process", "args"), ("process", "env"), ("process", "cwd"),
    ("process", "user"), ("process", "capabilities"), ("process", "rlimits"),
    ("process", "consoleSize"), ("process", "oomScoreAdj"), ("process", "noNewPrivileges"),
    ("process", "scheduler"), ("process", "ioPriority"), ("process", "execCPUAffinity"),
    ("linux",), ("linux", "namespaces"), ("linux", "uidMappings"), ("linux", "gidMappings"),
    ("linux", "timeOffsets"), ("linux", "devices"), ("linux", "netDevices"),
    ("linux", "cgroupsPath"), ("linux", "resources"), ("linux", "resources", "devices"),
    ("linux", "resources", "memory"), ("linux", "resources", "cpu"),
    ("linux", "resources", "pids"), ("linux", "resources", "blockIO"),
    ("linux", "resources", "hugepageLimits"), ("linux", "resources", "network"),
    ("linux", "resources", "rdma"), ("linux", "resources", "unified"),
    ("linux", "intelRdt"), ("linux", "memoryPolicy"), ("linux", "sysctl"),
    ("linux", "seccomp"), ("linux", "seccomp", "syscalls"), ("linux", "rootfsPropagation"),
    ("linux", "maskedPaths"), ("linux", "readonlyPaths"), ("linux", "personality"),
]


def _schema_words() -> tuple[list[str], list[str]]:
    """Every enum string and property name of spec/config-schema.json: values
    and keys that are valid somewhere, so that mutants hit the rules between
    fields (SCMP_ACT_NOTIFY, SCHED_DEADLINE, MPOL_BIND, "user", ...)."""
    enums: set[str] = set()
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for v in node.get("enum", ()):
                if isinstance(v, str):
                    enums.add(v)
            names.update(node.get("properties", {}))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(CONFIG_SCHEMA)
    return sorted(enums), sorted(names)


ENUM_WORDS, PROPERTY_NAMES = _schema_words()

HOSTILE_STRINGS = [
    "", " ", ".", "..", "../..", "/..", "/../../../..", "/", "//", "a/b", "/abs", "x y",
    "/proc/self/fd/3", "/proc/self/fd/7", "/proc/self/exe", "/proc/1/root", "/proc/self/cwd",
    "/proc/self/ns/net", "/proc/self/ns/mnt", "/proc/1/ns/pid", "/dev/null", "/sys",
    "a\x00b", "\x00", "/tmp\x00/x", "\n", "a\nb", "é", "\u202e", "\ud800", "x\udfffy",
    "\U0001f600", "\ufeff", "-1", "0", "1.5", "1e999", "null", "true", "=", "A=", "=B",
    "max", "-", "0-", "-3", "3-0", "0-99999999", "0,,1", "9223372036854775808",
    "x" * 300, "/" + "a/" * 2100, "é" * 5000, "0-4095" * 10,
]
HOSTILE_NUMBERS = list(_INT_EDGES) + [2**31 + 1, -2**32, 10**30, -10**30, 0.5, -1.5, 1.0,
                                      0.0, -0.0, 1e300, -1e300, 2.0**63, 2.0**64]


def deep(depth: int, kind: str = "list") -> object:
    """A value nested `depth` levels deep."""
    value: object = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


KEYS = st.sampled_from(PROPERTY_NAMES) | st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=6)

# (a) random JSON values: test_schema's generator, with hostile scalars and
# deep nesting on top.
random_json = st.recursive(
    json_values(KEYS) | st.sampled_from(HOSTILE_STRINGS) | st.sampled_from(HOSTILE_NUMBERS)
    | st.sampled_from(ENUM_WORDS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=10)
hostile_values = (st.sampled_from(HOSTILE_STRINGS) | st.sampled_from(HOSTILE_NUMBERS)
                  | st.sampled_from([None, True, False, [], {}, [None], {"": ""}])
                  | st.builds(deep, st.sampled_from([30, 300, 800]),
                              st.sampled_from(["list", "dict"]))
                  | random_json)


def _near(old: object) -> st.SearchStrategy:
    """Values of the old value's JSON type: most such mutants pass the schema
    and reach the loader's own rules and the resolution helpers."""
    if isinstance(old, bool):
        return st.booleans()
    if isinstance(old, int):
        return (st.sampled_from(_INT_EDGES)
                | st.integers(min_value=old - 3, max_value=old + 3)
                | st.integers(min_value=-2**64, max_value=2**64))
    if isinstance(old, str):
        return (st.sampled_from(ENUM_WORDS) | st.sampled_from(_STRING_EDGES)
                | st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=8))
    if isinstance(old, list):
        item = old[0] if old else ""
        return st.lists(_near(item) if not isinstance(item, (list, dict)) else st.just(item),
                        max_size=4)
    return st.just(old)


def _nodes(doc: object, path: tuple = ()):
    """Paths of every value in doc, containers included."""
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _nodes(v, path + (i,))


def _get(doc: object, path: tuple) -> object:
    for key in path:
        doc = doc[key]  # type: ignore[index]
    return doc


class Mutation:
    """One edit of a document, for the report of a failing example."""

    def __init__(self, op: str, path: tuple, value: object = None) -> None:
        self.op = op
        self.path = path
        self.value = value

    def __repr__(self) -> str:
        text = repr(self.value)
        return f"{self.op} {'.'.join(map(str, self.path))} {text[:80]}"


@st.composite
def mutate(draw, doc: dict) -> tuple[dict, list[Mutation]]:
    """1-3 edits in parts of `doc` chosen from SECTIONS: replace a value (by
    one of its own type, a hostile one or random JSON), delete it (missing
    required fields), add a property (unknown or misplaced ones), duplicate
    or drop list entries, empty a container."""
    doc = copy.deepcopy(doc)
    done: list[Mutation] = []
    for _ in range(draw(st.integers(1, 3))):
        present = [s for s in SECTIONS if _has(doc, s)]
        if not present:
            break
        section = draw(st.sampled_from(present))
        path = draw(st.sampled_from(list(_nodes(_get(doc, section), section))))
        old = _get(doc, path)
        ops = ["near", "hostile", "delete"]
        if isinstance(old, dict):
            ops += ["extra", "empty"]
        if isinstance(old, list):
            ops += ["empty"] + (["duplicate", "drop"] if old else [])
        op = draw(st.sampled_from(ops))
        # Drawn values are copied: sampled ones ([], {}) are shared between
        # examples, and later edits change what they are put in.
        if op == "near":
            value = copy.deepcopy(draw(_near(old)))
            doc = _replace(doc, path, value)
        elif op == "hostile":
            value = copy.deepcopy(draw(hostile_values))
            doc = _replace(doc, path, value)
        elif op == "delete":
            value = None
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
        elif op == "extra":
            value = (draw(KEYS), copy.deepcopy(draw(hostile_values | _near(""))))
            old[value[0]] = value[1]
        elif op == "empty":
            value = type(old)()
            doc = _replace(doc, path, value)
        elif op == "duplicate":
            value = draw(st.integers(0, len(old) - 1))
            old.append(copy.deepcopy(old[value]))
        else:  # drop
            value = draw(st.integers(0, len(old) - 1))
            del old[value]
        done.append(Mutation(op, path, value))
    return doc, done


def _has(doc: object, path: tuple) -> bool:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return False
        doc = doc[key]
    return True


def mutated(bases: list[dict]) -> st.SearchStrategy:
    """(base index, mutant, mutations) of one of `bases`."""
    return st.integers(0, len(bases) - 1).flatmap(
        lambda i: mutate(bases[i]).map(lambda m: (i, m[0], m[1])))


# --- what create does --------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm: the code under test took too long."""


class time_limit:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        def ring(_signum, _frame):
            raise Hang(f"no answer within {self.seconds}s")

        self.old = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)


def write_config(bundle_dir: str, doc: object) -> None:
    with open(os.path.join(bundle_dir, "config.json"), "w") as f:
        f.write(json.dumps(doc))


def load_like_create(bundle_dir: str) -> bundle.Spec:
    """What `pyrunc create` does with <bundle>/config.json before it forks
    (container.create.create up to parent.launch), minus the state directory
    and the cgroups it makes."""
    spec = bundle.load(bundle_dir)
    opts = create.CreateOptions(bundle=bundle_dir)
    launching.check_terminal(spec.process is not None and spec.process.terminal,
                             opts.console_socket, opts.detach)
    launch = create.plan_init(spec, CID, opts, 0)
    try:
        CgroupManager.plan(spec.cgroups_path, CID)
        create._device_rules(spec)
    finally:
        for _kind, fd, _path in launch.join_fds:
            os.close(fd)
    return spec


def _no_files(_controller: str, _name: str) -> bool:
    return False


_HOST_BACKEND = v2 if CgroupManager.plan("", CID).mode == "v2" else v1


def translate_like_create(spec: bundle.Spec, doc: object) -> None:
    """The pure translations create makes of an accepted config after the
    fork: cgroup files (this host's cgroup version decides; the other one
    must refuse cleanly too), device rules, the seccomp program
    (libseccomp, without the cache)."""
    for backend in (v1, v2):
        try:
            backend.writes(spec.resources, _no_files)
        except PyruncError as err:
            if backend is _HOST_BACKEND:
                raise
            assert named_field(str(err), doc), f"message names no field: {err}"
    rules = create._device_rules(spec)
    for rule in rules:
        rule.v1()
    ebpf.program(*ebpf.reduce(rules))
    sc = spec.seccomp
    if sc is not None:
        seccomp._generate(sc.default_action, sc.default_errno, sc.architectures, sc.rules)


def _paths(doc: object) -> set[str]:
    return {_text(p) for p in _nodes(doc)}


def _text(path: tuple) -> str:
    out = ""
    for key in path:
        out = join(out, key)
    return out


# Messages pyrunc words as runc does, naming no field, that callers match on:
# accepted (and listed in the report of the fuzzing), by their start.
RUNC_WORDED = (
    # create without --console-socket for a config with a terminal
    "cannot allocate tty if pyrunc will detach without setting console socket",
    # process.args[0] not found (Docker turns it into exit status 127)
    "exec: ",
)


def named_field(message: str, doc: object) -> str | None:
    """The field `message` starts with: "document", the JSON path of a value
    in doc, or a missing property of one (`linux.uidMappings: ...` when
    there are none). None if it names no field."""
    if message.startswith("document: "):
        return "document"
    best = None
    for p in _paths(doc):
        if not p or not message.startswith(p):
            continue
        rest = message[len(p):]
        if rest.startswith(": "):
            found = p
        elif rest[:1] in (".", "[") and ": " in rest:
            head = rest.split(": ", 1)[0]
            tail = head[1:] if head[0] == "." else head
            if "." in tail or "[" in tail[1:]:
                continue  # two levels below anything in doc
            found = p + head
        else:
            continue
        if best is None or len(found) > len(best):
            best = found
    if best is None:
        # A missing top-level property: `root: is required on Linux`.
        head = message.split(": ", 1)[0]
        if ": " in message and head in CONFIG_SCHEMA["properties"]:
            return head
    return best


def as_read(doc: object) -> object:
    """doc as pyrunc reads it from config.json (a lone surrogate is U+FFFD):
    what its messages name."""
    try:
        return jsonio.loads(json.dumps(doc))
    except jsonio.JSONError:
        return doc


def check_document(doc: object, bundle_dir: str) -> tuple[bundle.Spec | None, str]:
    """Load doc as create would: (the Spec, "") or, if refused with a
    message naming a field, (None, message). Anything else fails the test."""
    write_config(bundle_dir, doc)
    doc = as_read(doc)
    before = sorted(os.listdir("/proc/self/fd"))
    try:
        with time_limit(10):
            spec = load_like_create(bundle_dir)
            translate_like_create(spec, doc)
        refusal = ""
    except PyruncError as err:
        refusal = str(err)
        assert refusal.startswith(RUNC_WORDED) or named_field(refusal, doc), \
            f"message names no field: {refusal}"
        spec = None
    after = sorted(os.listdir("/proc/self/fd"))
    assert after == before, f"file descriptors left open: {set(after) - set(before)}"
    return spec, refusal


# --- the tests ---------------------------------------------------------------------------

# PYRUNC_FUZZ_EXAMPLES=N: a longer, randomised exploration run (N examples per
# test) instead of CI's fixed sample.
_EXPLORE = int(os.environ.get("PYRUNC_FUZZ_EXAMPLES", "0"))
_SETTINGS = dict(derandomize=not _EXPLORE, deadline=None, database=None, print_blob=False,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much])


def examples(n: int) -> int:
    return _EXPLORE or n


class Work(tuple):
    """(rootfs, bundle directory, bases); short in hypothesis' reports."""

    def __repr__(self) -> str:
        return f"Work({self[1]})"


@pytest.fixture(scope="module")
def work():
    """A rootfs directory and a bundle directory for the documents."""
    with tempfile.TemporaryDirectory(prefix="pyrunc-fuzz-") as top:
        rootfs = os.path.join(top, "rootfs")
        os.mkdir(rootfs)
        bdir = os.path.join(top, "bundle")
        os.mkdir(bdir)
        yield Work((rootfs, bdir, [default_base(rootfs), rich_base(rootfs)]))


def test_bases_are_accepted(work):
    _, bdir, bases = work
    for doc in bases:
        spec, refusal = check_document(doc, bdir)
        assert spec is not None, refusal
        assert upstream("config").is_valid(doc)


def test_sections_cover_every_part_of_the_config(work):
    """Every section mutations go to is in the rich base, and every property
    the schema knows for a config, a process and linux is under a section."""
    rich = work[2][1]
    for section in SECTIONS:
        assert _has(rich, section), section
    covered = {s for s in SECTIONS}
    for where, props in (((), CONFIG_SCHEMA["properties"]),
                         (("process",), CONFIG_SCHEMA["$defs"]["Process"]["properties"]),
                         (("linux",), CONFIG_SCHEMA["$defs"]["Linux"]["properties"]),
                         (("linux", "resources"),
                          CONFIG_SCHEMA["$defs"]["Resources"]["properties"])):
        for name in props:
            if name in ("windows", "solaris", "vm", "zos", "freebsd", "commandLine",
                        "apparmorProfile", "selinuxLabel", "mountLabel"):
                continue  # other platforms; labels the rich base cannot carry here
            path = where + (name,)
            assert any(path[:len(s)] == s for s in covered), path


def test_deeply_nested_document_is_refused(work):
    _, bdir, _ = work
    depth = 100_000
    with open(os.path.join(bdir, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.3.0", "x": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(PyruncError) as err:
        with time_limit(10):
            load_like_create(bdir)
    assert str(err.value).startswith("config.json: ")


def _sweep_values(old: object) -> list:
    """A few hostile values for a field holding `old`: its own type at its
    edges, and other types."""
    if isinstance(old, bool):
        return [not old, "true", 0, None, []]
    if isinstance(old, int):
        return [-1, 2**31, 2**32, 2**63, 2**64, -2**63 - 1, 1.5, "1", None, True]
    if isinstance(old, str):
        return ["a\x00b", "\ud800", "", "..", "/proc/self/fd/3", "x" * 300, "é", 1, None]
    if isinstance(old, list):
        return [[], [None], [old[0]] * 2 if old else [""], "x", {}, None, deep(300)]
    return [{}, [], None, "x", {"": None}, deep(300, "dict")]


def _sweep_paths(section: tuple) -> list[tuple]:
    """The nodes of the rich base that belong to `section` and to no more
    specific one; of the entries of a list, only those shaped unlike the
    entries before them (other keys, another type) are gone into."""
    rich = rich_base("/")
    out = []
    for path in _nodes(_get(rich, section), section):
        owner = max((s for s in SECTIONS if path[:len(s)] == s), key=len)
        if owner != section or _repeats_a_shape(rich, path):
            continue
        out.append(path)
    return out


def _shape(value: object) -> object:
    return tuple(sorted(value)) if isinstance(value, dict) else type(value).__name__


def _repeats_a_shape(doc: object, path: tuple) -> bool:
    node = doc
    for depth, key in enumerate(path):
        if isinstance(key, int) and depth < len(path) - 1:
            if any(_shape(node[j]) == _shape(node[key]) for j in range(key)):
                return True
        node = node[key]
    return False


@pytest.mark.parametrize("section", SECTIONS, ids=".".join)
def test_hostile_value_in_every_field(work, section):
    """Each value of the rich base under `section` replaced, in turn, by each
    of a few hostile values: a sweep, so that no field is left to chance.
    Every failure of the section is listed."""
    _, bdir, bases = work
    rich = bases[1]
    failures = []
    for path in _sweep_paths(section):
        for value in _sweep_values(_get(rich, path)):
            try:
                check_document(_replace(rich, path, value), bdir)
            except Exception as err:  # noqa: BLE001 - every failure of the sweep is listed
                failures.append(f"{_text(path)} = {value!r:.40}: {type(err).__name__}: "
                                f"{str(err).splitlines()[0] if str(err) else ''}")
    assert not failures, "\n".join(failures)


@settings(max_examples=examples(300), **_SETTINGS)
@given(st.one_of(
    random_json,
    st.fixed_dictionaries({"ociVersion": random_json | st.just("1.3.0")},
                          optional={k: random_json for k in CONFIG_SCHEMA["properties"]
                                    if k != "ociVersion"})))
def test_random_documents(work, doc):
    """(a) random JSON, as a whole document and as every top-level field."""
    _, bdir, _ = work
    spec, _ = check_document(doc, bdir)
    if spec is not None and not upstream("config").is_valid(doc):
        assert _documented_divergence({}, (), doc), "upstream rejects what pyrunc accepts"


@settings(max_examples=examples(1200), **_SETTINGS)
@given(st.data())
def test_mutated_configs(work, data):
    """(b) the default and the rich config, 1-3 fields changed."""
    _, bdir, bases = work
    i, doc, done = data.draw(mutated(bases), label="mutant")
    note(f"base {i}: {done}")
    spec, refusal = check_document(doc, bdir)
    note(f"refused: {refusal}" if refusal else "accepted")
    if spec is not None and not upstream("config").is_valid(doc):
        reasons = [_documented_divergence(bases[i], where, _get_or(doc, where))
                   for m in done for where in (m.path, m.path[:-1])]
        why = next(upstream("config").iter_errors(doc)).message
        assert any(reasons), f"upstream rejects what pyrunc accepts ({why:.200}): {done}"


def _get_or(doc: object, path: tuple) -> object:
    try:
        return _get(doc, path)
    except (KeyError, IndexError, TypeError):
        return None
