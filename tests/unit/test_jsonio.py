"""pyrunc.jsonio must read and write exactly what the json module does."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyrunc import jsonio

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(values)
def test_dumps_matches_json(value):
    assert jsonio.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert jsonio.dumps(value, indent=2) == json.dumps(value, indent=2, ensure_ascii=False)
    assert jsonio.dumps(value, indent="\t") == json.dumps(value, indent="\t",
                                                          ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(values)
def test_loads_matches_json(value):
    text = json.dumps(value, indent=1)
    assert jsonio.loads(text) == json.loads(text)
    assert jsonio.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("bad,where", [("", "char 0"), ("{", "char 1"), ("[1,]", "char 3"),
                                       ('{"a":1} x', "char 8"), ("\n\n  nul", "line 3")])
def test_errors_name_the_position(bad, where):
    with pytest.raises(jsonio.JSONError, match=where):
        jsonio.loads(bad)


def test_unserialisable():
    with pytest.raises(TypeError):
        jsonio.dumps({"a": object()})


def test_errors_without_json_imported():
    """The C scanner only finds json.decoder if someone imported it: in a
    fresh interpreter (as on the command path) errors must still be clear."""
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, {!r}); from pyrunc import jsonio\n"
            "try:\n    jsonio.loads('{{not json')\n"
            "except jsonio.JSONError as e:\n    print(e)\n").format(
        __import__("os").path.dirname(__import__("os").path.dirname(
            __import__("os").path.dirname(__import__("os").path.abspath(__file__)))),)
    out = subprocess.run([sys.executable, "-IS", "-c", code], capture_output=True, text=True)
    assert "Expecting property name enclosed in double quotes" in out.stdout, out.stderr
    assert "char 1" in out.stdout


@pytest.mark.parametrize("opener,closer", [("[", "]"), ('{"a":', "}")])
def test_deep_nesting_is_a_json_error(opener, closer):
    """config.json may be written by an attacker: 100000 levels must be a
    JSONError (bundle.load reports it), not a RecursionError."""
    depth = 100_000
    with pytest.raises(jsonio.JSONError, match="Nested too deeply"):
        jsonio.loads(opener * depth + "1" + closer * depth)


@pytest.mark.parametrize("text,value", [
    (r'["\ud800"]', ["\ufffd"]),
    (r'["a\uDFFFb", "\ud83d\ude00"]', ["a\ufffdb", "\U0001f600"]),
    (r'{"\udc00": {"k": ["x\ud800"]}}', {"\ufffd": {"k": ["x\ufffd"]}}),
    (r'"\\ud800"', "\\ud800"),
])
def test_lone_surrogates_read_as_replacement_characters(text, value):
    """A lone UTF-16 surrogate escape is no character (nothing can encode
    it): read as U+FFFD, as Go's decoder (runc) does; pairs are one character."""
    got = jsonio.loads(text)
    assert got == value
    jsonio.dumps(got).encode()


def test_lone_surrogates_replaced_at_any_depth_the_scanner_takes():
    """The replacement does not recurse: 600 objects deep with an escaped
    character used to be 'Nested too deeply' (two frames a level)."""
    depth = 600
    text = '{"a":' * depth + r'["\ud83d\ude00", "\ud800"]' + "}" * depth
    value = jsonio.loads(text)
    for _ in range(depth):
        value = value["a"]
    assert value == ["\U0001f600", "\ufffd"]
