"""JSON reading and writing without importing the `json` package.

`import json` pulls in `re` (json.decoder and json.encoder compile regexes at
import time), which costs ~15 ms per process on the machines we measure on;
every runtime command reads or writes JSON and a lifecycle is three or more
processes. The C accelerator `_json` does the real work for the stdlib module,
so we drive it directly. Output is byte-for-byte what `json.dumps` gives.
"""
from __future__ import annotations

import _json

_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}
_WS = " \t\n\r"


class JSONError(ValueError):
    """Malformed JSON; `pos` is the character offset of the problem."""

    def __init__(self, msg: str, doc: str, pos: int) -> None:
        line = doc.count("\n", 0, pos) + 1
        col = pos - doc.rfind("\n", 0, pos)
        super().__init__(f"{msg}: line {line} column {col} (char {pos})")
        self.pos = pos


class _Context:
    # The attributes _json.make_scanner reads from its context object.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo: dict = {}


_scan_once = _json.make_scanner(_Context())


def _skip_ws(doc: str, pos: int) -> int:
    end = len(doc)
    while pos < end and doc[pos] in _WS:
        pos += 1
    return pos


def loads(doc: str | bytes) -> object:
    """Parse one JSON document; raises JSONError naming the position."""
    if isinstance(doc, (bytes, bytearray)):
        doc = doc.decode("utf-8")
    start = _skip_ws(doc, 0)
    try:
        value, end = _scan_once(doc, start)
    except StopIteration as err:
        raise JSONError("Expecting value", doc, err.value) from None
    except RecursionError:
        # Arrays or objects nested about a thousand deep: the C scanner
        # recurses once per level.
        raise JSONError("Nested too deeply", doc, start) from None
    except (ValueError, SystemError):
        # The C scanner builds its error from json.decoder, which it only finds
        # if something imported it; on this (rare) path, let json say what is wrong.
        import json

        try:
            json.loads(doc)
        except json.JSONDecodeError as err:
            raise JSONError(err.msg, doc, err.pos) from None
        raise JSONError("Invalid JSON", doc, start) from None
    end = _skip_ws(doc, end)
    if end != len(doc):
        raise JSONError("Extra data", doc, end)
    if "\\ud" in doc or "\\uD" in doc:
        # Only a \u escape makes a UTF-16 surrogate, and a lone one (not half
        # of a pair) is no character: no path, argument, log line or state.json
        # could hold it (UnicodeEncodeError). Go's decoder, and so runc, reads
        # it as U+FFFD; so does this.
        value = _without_lone_surrogates(value)
    return value


def _fixed(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode()
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _without_lone_surrogates(value: object) -> object:
    """In place, without recursion: the document may be nested as deep as
    the scanner allows."""
    if isinstance(value, str):
        return _fixed(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = _fixed(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
        elif isinstance(node, dict):
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = _fixed(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
            if any(_fixed(key) is not key for key in node):
                items = list(node.items())
                node.clear()
                node.update((_fixed(key), item) for key, item in items)
    return value


def _fail_default(obj: object) -> object:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_compact = _json.make_encoder(
    None, _fail_default, _json.encode_basestring, None, ":", ",", False, False, True
)


def dumps(obj: object, indent: int | str | None = None) -> str:
    """Serialise like json.dumps(obj, ensure_ascii=False, separators=(',', ':'))
    or, with indent, like json.dumps(obj, indent=indent, ensure_ascii=False)."""
    if indent is None:
        return "".join(_compact(obj, 0))
    out: list[str] = []
    _pretty(obj, indent if isinstance(indent, str) else " " * indent, "\n", out)
    return "".join(out)


def _pretty(obj: object, step: str, nl: str, out: list[str]) -> None:
    if isinstance(obj, dict) and obj:
        inner = nl + step
        out.append("{")
        first = True
        for key, value in obj.items():
            out.append(inner if first else "," + inner)
            first = False
            out.append(_json.encode_basestring(str(key)))
            out.append(": ")
            _pretty(value, step, inner, out)
        out.append(nl + "}")
    elif isinstance(obj, list) and obj:
        inner = nl + step
        out.append("[")
        first = True
        for value in obj:
            out.append(inner if first else "," + inner)
            first = False
            _pretty(value, step, inner, out)
        out.append(nl + "]")
    else:
        out.append("".join(_compact(obj, 0)))
