"""The command-line parser against runc's rules (runtime-callers.md section 1.1)."""
from __future__ import annotations

import pytest

from pyrunc.cli.argv import parse
from pyrunc.errors import UsageError


def test_go_runc_prefix_and_create_flags():
    p = parse(["--root", "/run/x/default", "--log", "/b/log.json", "--log-format", "json",
               "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file", "/b/init.pid",
               "--no-pivot", "--no-new-keyring", "ID"])
    assert p.globals["root"] == "/run/x/default"
    assert p.globals["log"] == "/b/log.json" and p.globals["log_format"] == "json"
    assert p.globals["systemd_cgroup"] is True
    assert p.command.name == "create"
    assert p.options["bundle"] == "/b" and p.options["pid_file"] == "/b/init.pid"
    assert p.options["no_pivot"] and p.options["no_new_keyring"]
    assert p.args == ["ID"]


def test_equals_spelling_and_single_dash_long_flags():
    p = parse(["--log-format=json", "-root", "/r", "--rootless=false", "run", "-bundle=/b",
               "-no-subreaper", "ID"])
    assert p.globals["log_format"] == "json" and p.globals["root"] == "/r"
    assert p.globals["rootless"] == "false"
    assert p.options["bundle"] == "/b" and p.options["no_subreaper"] is True


def test_flags_after_the_id():
    p = parse(["run", "ID", "--keep", "-d"])
    assert p.args == ["ID"] and p.options["keep"] and p.options["detach"]


def test_kill_stops_at_first_positional():
    p = parse(["kill", "--all", "ID", "9"])
    assert p.options["all"] and p.args == ["ID", "9"]
    p = parse(["kill", "ID", "-9"])  # a negative-looking signal belongs to the container
    assert p.args == ["ID", "-9"] and p.options["all"] is False


def test_bool_values():
    assert parse(["delete", "--force=true", "x"]).options["force"] is True
    assert parse(["delete", "--force=false", "x"]).options["force"] is False
    with pytest.raises(UsageError):
        parse(["delete", "--force=maybe", "x"])


def test_int_flag():
    assert parse(["create", "--preserve-fds", "3", "x"]).options["preserve_fds"] == 3
    with pytest.raises(UsageError, match="invalid value"):
        parse(["create", "--preserve-fds", "three", "x"])


@pytest.mark.parametrize("argv,msg", [
    (["state"], 'requires exactly 1 argument'),
    (["state", "a", "b"], 'requires exactly 1 argument'),
    (["kill"], 'requires a minimum of 1'),
    (["kill", "a", "b", "c"], 'requires a maximum of 2'),
    (["create", "--bogus", "x"], "flag provided but not defined: -bogus"),
    (["--bogus", "state", "x"], "flag provided but not defined: -bogus"),
    (["create", "--bundle"], "flag needs an argument: -bundle"),
    (["--log-format", "xml", "state", "x"], "invalid value 'xml'"),
    (["nosuchcommand"], "No help topic for 'nosuchcommand'"),
])
def test_usage_errors(argv, msg):
    with pytest.raises(UsageError, match=msg):
        parse(argv)


def test_help_forms():
    assert parse(["--help"]).globals["help"] is True
    assert parse(["help"]).help is True
    p = parse(["help", "create"])
    assert p.help and p.command.name == "create"
    p = parse(["create", "-h"])
    assert p.help and p.command.name == "create"
    assert parse([]).command is None


@pytest.mark.parametrize("prog", ["pyrunc", "runc"])
def test_help_starts_with_runcs_name_section(prog):
    """runc's help (urfave/cli) starts with NAME: and "PROG CMD - summary";
    scripts and runc's help.bats read it, under the name the binary was
    called by (callers install pyrunc as `runc`)."""
    from pyrunc.cli.help import render
    from pyrunc.cli.table import COMMANDS

    top = render(None, prog).splitlines()
    assert top[0] == "NAME:" and top[1].startswith(f"   {prog} - Open Container Initiative runtime")
    kill = render(COMMANDS["kill"], prog).splitlines()
    assert kill[0] == "NAME:" and kill[1].startswith(f"   {prog} kill - ")
    assert any(line.startswith(f"Usage: {prog} kill") for line in kill)


def test_double_dash_ends_flags():
    p = parse(["state", "--", "-weird"])
    assert p.args == ["-weird"]


def test_criu_accepted_and_ignored():
    p = parse(["--criu", "/usr/sbin/criu", "state", "x"])
    assert p.globals["criu"] == "/usr/sbin/criu"
