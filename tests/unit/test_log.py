"""The log contract callers parse (runtime-callers.md section 4)."""
from __future__ import annotations

import json
import os
import re

from pyrunc import log


def _logger(tmp_path, fmt, debug=False):
    lg = log._Logger()
    lg.configure(str(tmp_path / "log"), fmt, debug)
    return lg


def test_json_line_shape(tmp_path):
    lg = _logger(tmp_path, "json")
    lg.write("error", 'bad "thing"\nsecond line')
    line = (tmp_path / "log").read_text()
    assert line.endswith("}\n") and line.count("\n") == 1
    obj = json.loads(line)
    assert list(obj) == ["level", "msg", "time"]
    assert obj["level"] == "error" and obj["msg"] == 'bad "thing"\nsecond line'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", obj["time"])


def test_warning_level_name_and_threshold(tmp_path):
    lg = _logger(tmp_path, "json")
    lg.write("debug", "hidden")
    lg.write("info", "hidden")
    lg.write("warning", "shown")
    lines = (tmp_path / "log").read_text().splitlines()
    assert [json.loads(x)["level"] for x in lines] == ["warning"]
    lg = _logger(tmp_path, "json", debug=True)
    lg.write("debug", "now shown")
    assert json.loads((tmp_path / "log").read_text().splitlines()[-1])["level"] == "debug"


def test_text_format(tmp_path):
    lg = _logger(tmp_path, "text")
    lg.write("error", 'say "hi"')
    line = (tmp_path / "log").read_text()
    assert re.fullmatch(r'time="[^"]+" level=error msg="say \\"hi\\""\n', line)


def test_fatal_also_prints_plain_message_with_log(tmp_path, capfd):
    lg = _logger(tmp_path, "json")
    lg.fatal("container does not exist")
    err = capfd.readouterr().err
    assert err == "container does not exist\n"
    assert json.loads((tmp_path / "log").read_text())["msg"] == "container does not exist"


def test_log_file_mode(tmp_path):
    lg = _logger(tmp_path, "json")
    lg.write("error", "x")
    assert os.stat(tmp_path / "log").st_mode & 0o777 == 0o644 & ~_umask()


def _umask():
    old = os.umask(0)
    os.umask(old)
    return old
