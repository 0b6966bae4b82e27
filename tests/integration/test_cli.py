"""The command-line contract runc's callers depend on (argv parsing, output
formats, the --log file, error phrases: runtime-callers.md §1, §3, §4),
against pyrunc and runc; pyrunc-only where runc 1.1.5 differs or where the
behaviour is pyrunc's own."""
from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import sys

import pytest

from helpers import REPO, Bundle, Runtime, cgroup_dirs_for, pyrunc_argv, wait_gone

HEADER = "ID          PID         STATUS      BUNDLE      CREATED     OWNER"
TEXT_LINE = re.compile(r'^time="([^"]+)" level=(\w+) msg="((?:[^"\\]|\\.)*)"$')


def _rfc3339(text: str) -> datetime.datetime:
    """Parse an RFC3339 time (Z or ±hh:mm, optional fraction); it must carry a zone."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    assert m, f"not RFC3339: {text!r}"
    stamp = datetime.datetime.fromisoformat(m.group(1) + m.group(3).replace("Z", "+00:00"))
    assert stamp.tzinfo is not None
    return stamp


def _json_lines(path) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    assert text == "" or text.endswith("\n"), repr(text)
    return [json.loads(line) for line in text.splitlines()]


def _both_runtimes(tmp_path) -> list[Runtime]:
    runc = shutil.which("runc")
    if runc is None:
        pytest.fail("runc is not installed")
    return [Runtime("pyrunc", pyrunc_argv(), str(tmp_path / "pyrunc-both-root")),
            Runtime("runc", [runc], str(tmp_path / "runc-both-root"))]


# --- global flags (runtime-callers.md §1.1, §1.2) -------------------------------------

@pytest.mark.parametrize("spelling", [["--root", "R"], ["--root=R"], ["-root", "R"],
                                      ["-root=R"]], ids=["two-dash", "two-dash-eq",
                                                         "one-dash", "one-dash-eq"])
def test_root_flag_spellings(runtime, bundle, cid, spelling):
    runtime.create(bundle, cid, check=True)
    argv = [part.replace("R", runtime.root) for part in spelling]
    res = runtime.run(*argv, "list", "-q", root=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"{cid}\n"


def test_relative_root_is_made_absolute(runtime, bundle, cid, tmp_path):
    runtime.create(bundle, cid, check=True)
    rel = os.path.relpath(runtime.root, tmp_path)
    res = runtime.run("--root", rel, "state", cid, root=False, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["id"] == cid


@pytest.mark.parametrize("order", [
    ["--log", "F", "--log-format", "json", "--root", "R"],
    ["--log-format=json", "--log", "F", "--root=R"],
    ["--root", "R", "--log-format", "json", "--log=F"],
    ["-log-format", "json", "-log", "F", "-root", "R"],
    ["--debug=false", "--log", "F", "--root", "R", "--log-format", "json"],
])
def test_log_flags_in_any_order_and_spelling(runtime, cid, tmp_path, order):
    logfile = str(tmp_path / "log.json")
    argv = [p.replace("F", logfile).replace("R", runtime.root) for p in order]
    res = runtime.run(*argv, "state", cid, root=False)
    assert res.returncode == 1
    lines = _json_lines(logfile)
    assert len(lines) == 1, lines
    assert lines[0]["level"] == "error" and lines[0]["msg"] == "container does not exist"


@pytest.mark.parametrize("flags", [["--rootless=false"], ["--rootless", "false"],
                                   ["--rootless", "auto"], ["--rootless=true"],
                                   ["--systemd-cgroup=false"], ["--criu", "/x"],
                                   ["--criu=/usr/sbin/criu"]],
                         ids=lambda flags: "_".join(flags).replace("/", "").lstrip("-"))
def test_more_global_flags_accepted(runtime, bundle, cid, flags):
    """A bool parser would take `false` of `--rootless false` as the command;
    --criu PATH is still sent by go-runc 1.0 (runc 1.1 has the flag too)."""
    runtime.create(bundle, cid, check=True)
    res = runtime.run(*flags, "--root", runtime.root, "list", "-q", root=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"{cid}\n"


def test_bad_log_format_is_an_error(runtime):
    res = runtime.run("--log-format", "yaml", "list")
    assert res.returncode == 1
    assert "yaml" in res.stderr
    assert res.stdout == ""


# --- --version (runtime-callers.md §3.5) ------------------------------------------------

@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version_format(runtime, flag):
    res = runtime.run(flag, root=False)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert re.fullmatch(rf"{runtime.name} version \S+", lines[0]), lines
    assert any(re.fullmatch(r"commit: \S+", line) for line in lines[1:]), lines
    spec = [line for line in lines if line.startswith("spec: ")]
    assert len(spec) == 1 and re.fullmatch(r"spec: \d+\.\d+\.\d+\S*", spec[0]), lines
    if runtime.name == "pyrunc":
        assert spec[0] == "spec: 1.3.0"
    # dockerd: on the first line containing "version", the text before is the name
    name, _, version = lines[0].partition(" version ")
    assert name == runtime.name and version


# --- the log file (runtime-callers.md §4.1, §4.2, §4.4) ---------------------------------

def test_log_json_one_line_per_failure(runtime, cid, tmp_path):
    logfile = tmp_path / "log.json"
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=2)
    for n, op in enumerate([("state", cid), ("kill", cid, "9"), ("delete", cid),
                            ("start", cid)], start=1):
        res = runtime.run("--log", str(logfile), "--log-format", "json", *op)
        assert res.returncode == 1
        lines = _json_lines(logfile)
        assert len(lines) == n, lines
        entry = lines[-1]
        assert sorted(entry) == ["level", "msg", "time"]
        assert entry["level"] == "error"
        assert entry["msg"] == "container does not exist"
        stamp = _rfc3339(entry["time"])
        after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=2)
        assert before <= stamp <= after
        # the log is not stderr: the plain message goes there too; stdout stays clean
        assert res.stderr == "container does not exist\n"
        assert res.stdout == ""


def test_log_json_keys_sorted_and_compact(runtime, cid, tmp_path):
    logfile = tmp_path / "log.json"
    runtime.run("--log", str(logfile), "--log-format", "json", "state", cid)
    text = logfile.read_text()
    assert re.fullmatch(r'\{"level":"error","msg":"container does not exist",'
                        r'"time":"[^"]+"\}\n', text), text


def test_log_json_create_failure_chain(runtime, bundle, cid, tmp_path):
    """containerd takes the last error entry's msg as the whole error: it must
    carry the chain with the phrase Docker maps to exit 127."""
    logfile = tmp_path / "log.json"
    bundle.config["process"]["args"] = ["nonexistent-binary"]
    bundle.write()
    res = runtime.run("--log", str(logfile), "--log-format", "json", "create", "--bundle",
                      bundle.path, cid)
    assert res.returncode == 1
    lines = _json_lines(logfile)
    assert len(lines) == 1, lines
    msg = lines[0]["msg"]
    assert lines[0]["level"] == "error"
    assert msg.startswith(f"{runtime.name} create failed: ")
    assert 'exec: "nonexistent-binary": executable file not found in $PATH' in msg
    assert res.stderr == msg + "\n"
    assert res.stdout == ""


def test_log_json_usage_error(runtime, tmp_path):
    """Flag-parse errors take the same path (runc: FatalWriter)."""
    logfile = tmp_path / "log.json"
    res = runtime.run("--log", str(logfile), "--log-format", "json", "state", "--bogus", "x")
    assert res.returncode == 1
    lines = _json_lines(logfile)
    assert len(lines) == 1, lines
    assert lines[0]["level"] == "error"
    assert lines[0]["msg"] == "flag provided but not defined: -bogus"
    assert "flag provided but not defined: -bogus\n" in res.stderr


def test_log_nothing_on_success(runtime, bundle, cid, tmp_path):
    """Without a tty the runtime's stdout/stderr are the container's: nothing may
    be written there, nor to the log (Podman reads the log as one JSON object)."""
    logfile = tmp_path / "log.json"
    bundle.config["process"]["args"] = ["sleep", "300"]
    bundle.write()
    log = ["--log", str(logfile), "--log-format", "json"]
    for op in (("create", "--bundle", bundle.path, cid), ("start", cid), ("state", cid),
               ("kill", cid, "KILL"), ("delete", "--force", cid), ("list",)):
        res = runtime.run(*log, *op)
        assert res.returncode == 0, res.stderr
        assert res.stderr == ""
        if op[0] not in ("state", "list"):
            assert res.stdout == "", op
    assert _json_lines(logfile) == []
    assert not logfile.exists() or logfile.stat().st_size == 0


def test_log_text_on_stderr_without_log_flag(runtime, cid):
    res = runtime.run("state", cid)
    assert res.returncode == 1
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    m = TEXT_LINE.match(lines[0])
    assert m, lines[0]
    _rfc3339(m.group(1))
    assert m.group(2) == "error"
    assert m.group(3) == "container does not exist"


def test_log_text_escapes_quotes(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["nonexistent-binary"]
    res = runtime.create(bundle, cid)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    m = TEXT_LINE.match(lines[0])
    assert m, lines[0]
    assert m.group(2) == "error"
    assert r'exec: \"nonexistent-binary\": executable file not found in $PATH' in m.group(3)


def test_log_text_to_file(runtime, cid, tmp_path):
    logfile = tmp_path / "log.txt"
    res = runtime.run("--log", str(logfile), "state", cid)
    assert res.returncode == 1
    assert res.stderr == "container does not exist\n"
    lines = logfile.read_text().splitlines()
    assert len(lines) == 1
    m = TEXT_LINE.match(lines[0])
    assert m and m.group(2) == "error" and m.group(3) == "container does not exist", lines


def test_log_json_on_stderr_without_log_flag(runtime, cid):
    res = runtime.run("--log-format", "json", "state", cid)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    entry = json.loads(lines[0])
    assert sorted(entry) == ["level", "msg", "time"]
    assert entry["level"] == "error" and entry["msg"] == "container does not exist"
    _rfc3339(entry["time"])


def test_log_file_appended_mode_0644(runtime, cid, tmp_path):
    logfile = tmp_path / "log.json"
    logfile.write_text('{"level":"info","msg":"earlier","time":"2020-01-01T00:00:00Z"}\n')
    runtime.run("--log", str(logfile), "--log-format", "json", "state", cid)
    lines = _json_lines(logfile)
    assert [e["msg"] for e in lines] == ["earlier", "container does not exist"]
    fresh = tmp_path / "fresh.json"
    old = os.umask(0o022)
    try:
        runtime.run("--log", str(fresh), "--log-format", "json", "state", cid)
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o644


# --- containerd's phrases (runtime-callers.md §4.3) -------------------------------------

def test_kill_stopped_says_not_running_runtimeKill(runtime, bundle, cid, tmp_path):
    bundle.config["process"]["args"] = ["sleep", "300"]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    pid = runtime.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)  # the init dies behind the runtime's back
    assert wait_gone(pid)
    logfile = tmp_path / "log.json"
    res = runtime.run("--log", str(logfile), "--log-format", "json", "kill", cid, "9")
    assert res.returncode == 1
    assert "container not running" in res.stdout + res.stderr
    assert [e["msg"] for e in _json_lines(logfile)] == ["container not running"]


def test_delete_missing_says_does_not_exist_runtimeDelete(runtime, cid, tmp_path):
    logfile = tmp_path / "log.json"
    res = runtime.run("--log", str(logfile), "--log-format", "json", "delete", cid)
    assert res.returncode == 1
    assert "container does not exist" in res.stdout + res.stderr
    assert [e["msg"] for e in _json_lines(logfile)] == ["container does not exist"]


def test_state_after_init_killed_runtimeState(runtime, bundle, cid):
    bundle.config["process"]["args"] = ["sleep", "300"]
    runtime.create(bundle, cid, check=True)
    runtime.run("start", cid, check=True)
    pid = runtime.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    st = runtime.state(cid)
    assert st["status"] == "stopped"
    assert st["pid"] == 0
    runtime.run("delete", cid, check=True)
    assert runtime.status(cid) == "absent"
    assert cgroup_dirs_for(cid) == []


def test_state_after_created_init_killed_runtimeState(runtime, bundle, cid):
    runtime.create(bundle, cid, check=True)
    pid = runtime.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    st = runtime.state(cid)
    assert (st["status"], st["pid"]) == ("stopped", 0)


# --- list (runtime-callers.md §3.6) ----------------------------------------------------

def test_list_empty_table_header(runtime):
    os.makedirs(runtime.root)
    res = runtime.run("list", check=True)
    assert res.stdout == HEADER + "\n"
    assert res.stderr == ""


def test_list_empty_json_is_null(runtime):
    os.makedirs(runtime.root)
    for argv in (("list", "--format", "json"), ("list", "--format=json"), ("list", "-f",
                                                                             "json")):
        res = runtime.run(*argv, check=True)
        assert res.stdout == "null\n", argv


def test_list_empty_quiet(runtime):
    os.makedirs(runtime.root)
    assert runtime.run("list", "-q", check=True).stdout == ""


def test_list_empty_output_same_as_runc(tmp_path):
    outputs = {}
    for rt in _both_runtimes(tmp_path):
        os.makedirs(rt.root)
        outputs[rt.name] = [rt.run(*argv, check=True).stdout for argv in
                            (("list",), ("list", "--format", "json"), ("list", "-q"))]
    assert outputs["pyrunc"] == outputs["runc"]


def _bundle_for(tmp_path, rootfs, name, args):
    b = Bundle(str(tmp_path / name), rootfs, args)
    return b.write()


def test_list_with_containers_runtimeState(runtime, bundle, cid, tmp_path, rootfs):
    ids = [f"{cid}-a", f"{cid}-long-long-long-name", f"{cid}-b"]
    bundle.config["process"]["args"] = ["sleep", "300"]
    other = _bundle_for(tmp_path, rootfs, "other-bundle-with-a-longer-path", ["true"])
    other.config["annotations"] = {"org.example/k": "v"}
    other.write()
    runtime.create(bundle, ids[0], check=True)
    runtime.create(other, ids[1], check=True)
    runtime.create(bundle, ids[2], check=True)
    runtime.run("start", ids[0], check=True)
    runtime.run("start", ids[1], check=True)
    assert runtime.wait_status(ids[1], "stopped") == "stopped"
    want_status = {ids[0]: "running", ids[1]: "stopped", ids[2]: "created"}

    # -q: ids one per line, sorted (runc reads the root directory sorted)
    quiet = runtime.run("list", "-q", check=True).stdout
    assert quiet == "".join(i + "\n" for i in sorted(ids))

    # json: an array of state objects, a newline after it
    text = runtime.run("list", "--format=json", check=True).stdout
    assert text.endswith("]\n") and text.count("\n") == 1
    items = json.loads(text)
    assert [i["id"] for i in items] == sorted(ids)
    for item in items:
        st = runtime.state(item["id"])
        assert item["status"] == want_status[item["id"]]
        assert item["owner"] == "root"
        for key in ("ociVersion", "id", "pid", "status", "bundle", "rootfs", "created"):
            assert item[key] == st[key], key
        if item["id"] == ids[1]:
            assert item["pid"] == 0
            assert item["annotations"] == {"org.example/k": "v"}
            assert item["bundle"] == other.path
        else:
            assert "annotations" not in item

    # table: Go tabwriter columns (min width 12, padding 3), OWNER last and unpadded
    table = runtime.run("list", check=True).stdout
    rows = [line for line in table.split("\n")]
    assert rows[-1] == ""
    rows = rows[:-1]
    assert len(rows) == 4
    by_id = {i["id"]: i for i in items}
    cells = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]] + [
        [i, str(by_id[i]["pid"]), by_id[i]["status"], by_id[i]["bundle"],
         by_id[i]["created"], "root"] for i in sorted(ids)]
    widths = [max(12, max(len(r[c]) for r in cells) + 3) for c in range(5)]
    expected = ["".join(c.ljust(w) for c, w in zip(r, widths)) + r[5] for r in cells]
    assert rows == expected


def test_list_table_structure_same_as_runc(tmp_path, rootfs):
    """Same ids and bundle in both runtimes: the tables differ only in pid and
    created, so after masking those the text must be the same."""
    b = _bundle_for(tmp_path, rootfs, "cmp-bundle", ["sleep", "300"])
    tables = {}
    runtimes = _both_runtimes(tmp_path)
    try:
        for rt in runtimes:
            for name in (f"cmp{os.getpid()}-one", f"cmp{os.getpid()}-second-container"):
                rt.create(b, name, check=True)
            items = json.loads(rt.run("list", "-f", "json", check=True).stdout)
            table = rt.run("list", check=True).stdout
            for item in items:
                # same-length placeholders keep the column widths
                table = table.replace(item["created"], "C" * len(item["created"]))
                table = re.sub(rf"(?<=\s){item['pid']}(?=\s)", "P" * len(str(item["pid"])),
                               table)
            tables[rt.name] = table
            rt.cleanup()  # the same ids: their cgroups would collide
    finally:
        for rt in runtimes:
            rt.cleanup()
    # runc's created has up to 9 fraction digits (Go drops trailing zeros, so
    # the column, and the header's padding, is a digit narrower now and
    # then); pid widths may differ between runs
    norm = {k: re.sub(r"CREATED +", "CREATED ",
                      re.sub(r"P+ +", "P ", re.sub(r"C+ +", "C ", v)))
            for k, v in tables.items()}
    assert norm["pyrunc"] == norm["runc"]
    header = {k: v.splitlines()[0] for k, v in tables.items()}
    assert header["pyrunc"].split() == header["runc"].split()


def test_list_missing_explicit_root_is_an_error(pyrunc, tmp_path):
    """runtime-callers.md §3.6 (runc >= 1.2): a missing explicit --root is an
    error. runc 1.1.5 instead creates the directory and prints an empty table."""
    missing = tmp_path / "no-such-root"
    res = pyrunc.run("--root", str(missing), "list", root=False)
    assert res.returncode == 1
    assert str(missing) in res.stderr and "no such file or directory" in res.stderr
    assert res.stdout == ""
    assert not missing.exists()


def test_list_default_root(pyrunc):
    """Without --root (Podman never passes it) list works whether or not the
    default root exists yet."""
    res = pyrunc.run("list", root=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == HEADER


# --- spec --------------------------------------------------------------------------------

def _validator():
    sys.path.insert(0, REPO)
    from pyrunc.bundle import validator

    return validator()


def test_spec_writes_valid_config_in_cwd(runtime, tmp_path):
    work = tmp_path / "specdir"
    work.mkdir()
    res = runtime.run("spec", cwd=work)
    assert res.returncode == 0, res.stderr
    assert (res.stdout, res.stderr) == ("", "")
    doc = json.loads((work / "config.json").read_text())
    _validator().validate(doc)
    assert doc["process"]["terminal"] is True
    assert doc["process"]["args"] == ["sh"]
    assert doc["root"] == {"path": "rootfs", "readonly": True}
    types = [n["type"] for n in doc["linux"]["namespaces"]]
    assert {"pid", "network", "ipc", "uts", "mount"} <= set(types)
    assert "user" not in types
    # A cgroup namespace only on a pure cgroup v2 host, as runc decides it.
    assert ("cgroup" in types) == os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    if runtime.name == "pyrunc":
        assert doc["ociVersion"] == "1.3.0"


def test_spec_bundle_flag(runtime, tmp_path):
    work = tmp_path / "b1"
    work.mkdir()
    res = runtime.run("spec", "--bundle", str(work), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (work / "config.json").exists()
    assert not (tmp_path / "config.json").exists()
    work2 = tmp_path / "b2"
    work2.mkdir()
    assert runtime.run("spec", "-b", str(work2), cwd=tmp_path).returncode == 0
    assert (work2 / "config.json").exists()


def test_spec_refuses_to_overwrite(runtime, tmp_path):
    work = tmp_path / "specdir"
    work.mkdir()
    (work / "config.json").write_text("{\"keep\": true}")
    res = runtime.run("spec", cwd=work)
    assert res.returncode == 1
    assert "config.json exists" in res.stderr
    assert (work / "config.json").read_text() == "{\"keep\": true}"


def test_spec_output_runs_with_both_runtimes(runtime, tmp_path, rootfs):
    """`spec` output, with terminal off, args ["true"] and a real rootfs, is a
    config both runtimes run."""
    work = tmp_path / "specdir"
    work.mkdir()
    runtime.run("spec", cwd=work, check=True)
    doc = json.loads((work / "config.json").read_text())
    doc["process"]["terminal"] = False
    doc["process"]["args"] = ["sh", "-c", "echo ran-$(hostname)"]
    doc["root"]["path"] = rootfs
    (work / "config.json").write_text(json.dumps(doc))
    _validator().validate(doc)
    runtimes = _both_runtimes(tmp_path)
    logfile = tmp_path / "log.json"
    try:
        for rt in runtimes:
            name = f"spec{os.getpid()}-{runtime.name}-by-{rt.name}"
            res = rt.run("run", "--bundle", str(work), name)
            assert res.returncode == 0, (rt.name, res.stderr)
            assert res.stdout == f"ran-{doc['hostname']}\n", rt.name
            # warnings may go to stderr when there is no --log (runtime.md#runtimeWarnings:
            # how is up to the runtime); nothing else may
            for line in res.stderr.splitlines():
                m = TEXT_LINE.match(line)
                assert m and m.group(2) == "warning", (rt.name, line)
            # with --log, as every caller runs it, stdout/stderr are the container's only
            res = rt.run("--log", str(logfile), "--log-format", "json", "run", "--bundle",
                         str(work), name)
            assert res.returncode == 0, (rt.name, res.stderr)
            assert (res.stdout, res.stderr) == (f"ran-{doc['hostname']}\n", ""), rt.name
            assert {e["level"] for e in _json_lines(logfile)} <= {"warning"}
    finally:
        for rt in runtimes:
            rt.cleanup()


def test_spec_rootless_configLinuxUserNamespaceMappings(runtime, tmp_path):
    work = tmp_path / "specdir"
    work.mkdir()
    res = runtime.run("spec", "--rootless", cwd=work)
    assert res.returncode == 0, res.stderr
    doc = json.loads((work / "config.json").read_text())
    _validator().validate(doc)
    types = [n["type"] for n in doc["linux"]["namespaces"]]
    assert "user" in types
    assert "network" not in types
    for key, host in (("uidMappings", os.geteuid()), ("gidMappings", os.getegid())):
        assert doc["linux"][key] == [{"containerID": 0, "hostID": host, "size": 1}], key
    # no cgroup resources a rootless user could not set
    assert not doc["linux"].get("resources", {}).get("devices")


# --- help and unknown commands ------------------------------------------------------

@pytest.mark.parametrize("argv,needles", [
    (["--help"], ["--root", "--log", "--log-format", "create", "start", "delete", "run"]),
    (["-h"], ["--root", "--log-format"]),
    (["help"], ["--root", "create", "kill", "list", "spec", "state"]),
    (["help", "create"], ["--bundle", "--console-socket", "--pid-file", "--no-pivot",
                          "--no-new-keyring", "--preserve-fds"]),
    (["create", "--help"], ["--bundle", "--console-socket", "--pid-file", "--preserve-fds"]),
    (["create", "-h"], ["--bundle", "--pid-file"]),
    (["help", "run"], ["--bundle", "--detach", "--keep", "--pid-file", "--no-subreaper",
                       "--preserve-fds"]),
    (["kill", "--help"], ["--all"]),
    (["delete", "--help"], ["--force"]),
    (["list", "--help"], ["--format", "--quiet"]),
    (["spec", "--help"], ["--bundle", "--rootless"]),
])
def test_help(runtime, argv, needles):
    res = runtime.run(*argv)
    assert res.returncode == 0, res.stderr
    for needle in needles:
        assert needle in res.stdout, (needle, res.stdout)


def test_help_does_not_run_the_command(pyrunc, bundle, cid):
    res = pyrunc.run("create", "--help", "--bundle", bundle.path, cid)
    assert res.returncode == 0
    assert "--bundle" in res.stdout
    assert pyrunc.container_ids() == []


def test_pyrunc_help_names_itself(pyrunc):
    res = pyrunc.run("help", "create")
    assert res.returncode == 0
    assert "pyrunc create" in res.stdout
    assert "runc create" not in res.stdout.replace("pyrunc create", "")


@pytest.mark.parametrize("argv", [["frobnicate"], ["help", "frobnicate"],
                                  ["frobnicate", "--help"]])
def test_unknown_command_fails(runtime, argv):
    res = runtime.run(*argv)
    assert res.returncode != 0
    assert "frobnicate" in res.stderr
