"""A small JSON Schema validator for the schemas in spec/.

Why not the jsonschema package at run time: importing it costs ~160 ms, four
times runc's whole create/start/delete, and `create` validates on every call.
This interpreter understands the subset of draft 2020-12 that spec/ uses:

  type, enum, const, properties, required, additionalProperties (bool or
  schema), propertyNames, items, minItems, maxItems, uniqueItems, minLength,
  minimum, maximum, anyOf, oneOf, allOf, not, $ref (local "#/$defs/..."),
  and the annotations title/description/$comment (ignored).

The test suite checks that this validator and jsonschema agree on spec/'s
schemas for a corpus of valid and invalid documents, and that spec/ accepts
what the upstream runtime-spec schemas accept.

Two types are narrower than in JSON Schema: an "integer" has no fraction
part (1.0 is not a uid) and a "string" holds no NUL (U+0000).

Errors name the JSON path of the offending value, e.g. `process.user.uid`.
"""
from __future__ import annotations

from .errors import ConfigError

def _type_ok(value: object, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        # Stricter than JSON Schema too: paths, names and arguments reach the
        # kernel as C strings, which end at the first NUL ("/a\u0000/b" would be
        # "/a" to one call and an error to Python's os module).
        return isinstance(value, str) and "\x00" not in value
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        # Stricter than draft 2020-12, which counts 1.0 as an integer: the
        # value would reach setuid(2) and friends as a float (runc rejects it).
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "null":
        return value is None
    raise ValueError(f"schema uses unknown type {name!r}")


def _describe(value: object) -> str:
    from . import jsonio

    text = jsonio.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_error(where: str, value: object, types: str) -> str:
    if isinstance(value, str) and "\x00" in value:
        return f"{where}: {_describe(value)} contains a NUL character (\\u0000), which no " \
               "path, name or argument can hold"
    return f"{where}: {_describe(value)} is not of type {types}"


def join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class Validator:
    def __init__(self, schema: dict) -> None:
        self.root = schema
        self.defs: dict = schema.get("$defs", {})

    def validate(self, doc: object, path: str = "") -> None:
        """Raise ConfigError for the first violation found."""
        err = self._check(self.root, doc, path)
        if err is not None:
            raise ConfigError(err)

    def validate_def(self, doc: object, name: str, path: str) -> None:
        """Validate against one of the schema's $defs (e.g. a LinuxResources
        document for `update`, a process.json for `exec`)."""
        err = self._check(self.defs[name], doc, path)
        if err is not None:
            raise ConfigError(err)

    def is_valid(self, doc: object) -> bool:
        return self._check(self.root, doc, "") is None

    def _resolve(self, ref: str) -> dict:
        prefix = "#/$defs/"
        if not ref.startswith(prefix):
            raise ValueError(f"unsupported $ref {ref!r}")
        return self.defs[ref[len(prefix):]]

    def _check(self, schema: dict | bool, value: object, path: str) -> str | None:
        """Return an error message or None."""
        if schema is True:
            return None
        if schema is False:
            return f"{path or 'document'}: is not allowed here"
        where = path or "document"
        ref = schema.get("$ref")
        if ref is not None:
            err = self._check(self._resolve(ref), value, path)
            if err:
                return err
        types = schema.get("type")
        if types is not None:
            if isinstance(types, str):
                if not _type_ok(value, types):
                    return _type_error(where, value, types)
            elif not any(_type_ok(value, t) for t in types):
                return _type_error(where, value, " or ".join(types))
        if "const" in schema and value != schema["const"]:
            return f"{where}: {_describe(value)} must be {_describe(schema['const'])}"
        enum = schema.get("enum")
        if enum is not None and value not in enum:
            allowed = ", ".join(_describe(v) for v in enum)
            return f"{where}: {_describe(value)} is not one of {allowed}"
        if isinstance(value, dict):
            err = self._check_object(schema, value, path)
            if err:
                return err
        elif isinstance(value, list):
            err = self._check_array(schema, value, path)
            if err:
                return err
        elif isinstance(value, str):
            minlen = schema.get("minLength")
            if minlen is not None and len(value) < minlen:
                return f"{where}: {_describe(value)} is shorter than {minlen}"
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            err = self._check_number(schema, value, where)
            if err:
                return err
        return self._check_combinators(schema, value, path)

    def _check_number(self, schema: dict, value: float, where: str) -> str | None:
        low = schema.get("minimum")
        if low is not None and value < low:
            return f"{where}: {value} is less than the minimum of {low}"
        high = schema.get("maximum")
        if high is not None and value > high:
            return f"{where}: {value} is greater than the maximum of {high}"
        return None

    def _check_object(self, schema: dict, value: dict, path: str) -> str | None:
        for key in schema.get("required", ()):
            if key not in value:
                return f"{path or 'document'}: {key!r} is a required property"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key, item in value.items():
            sub = props.get(key)
            if names is not None:
                where = join(path, key)
                err = self._check(names, key, where)
                if err:
                    # Name the object, not "annotations.": the key may be empty.
                    if err.startswith(where + ": "):
                        err = err[len(where) + 2:]
                    return f"{path or 'document'}: invalid property name {_describe(key)} ({err})"
            if sub is not None:
                err = self._check(sub, item, join(path, key))
            elif extra is not True:
                err = self._check(extra, item, join(path, key))
            else:
                continue
            if err:
                return err
        return None

    def _check_array(self, schema: dict, value: list, path: str) -> str | None:
        where = path or "document"
        low = schema.get("minItems")
        if low is not None and len(value) < low:
            return f"{where}: needs at least {low} item(s)"
        high = schema.get("maxItems")
        if high is not None and len(value) > high:
            return f"{where}: allows at most {high} item(s)"
        if schema.get("uniqueItems"):
            seen: list = []
            for item in value:
                if item in seen:
                    return f"{where}: has non-unique item {_describe(item)}"
                seen.append(item)
        items = schema.get("items")
        if items is not None:
            if type(items) is dict and len(items) == 1 and type(items.get("type")) is str:
                # Fast path for arrays of one plain type (env, args, syscall names):
                # build an item's path only when it is wrong.
                kind = items["type"]
                for i, item in enumerate(value):
                    if not _type_ok(item, kind):
                        return self._check(items, item, join(path, i))
                return None
            for i, item in enumerate(value):
                err = self._check(items, item, join(path, i))
                if err:
                    return err
        return None

    def _check_combinators(self, schema: dict, value: object, path: str) -> str | None:
        where = path or "document"
        for sub in schema.get("allOf", ()):
            err = self._check(sub, value, path)
            if err:
                return err
        any_of = schema.get("anyOf")
        if any_of is not None:
            errors = [self._check(sub, value, path) for sub in any_of]
            if all(errors):
                return _closest(errors, where)
        one_of = schema.get("oneOf")
        if one_of is not None:
            errors = [self._check(sub, value, path) for sub in one_of]
            passed = sum(1 for e in errors if e is None)
            if passed == 0:
                return _closest(errors, where)
            if passed > 1:
                return f"{where}: {_describe(value)} matches more than one allowed form"
        neg = schema.get("not")
        if neg is not None and self._check(neg, value, path) is None:
            return f"{where}: {_describe(value)} is not allowed"
        return None


def _closest(errors: list, where: str) -> str:
    """Of the alternatives' errors, report the one that got deepest."""
    best = max(errors, key=lambda e: len(e.split(":", 1)[0]))
    if best.split(":", 1)[0] == where:
        return f"{where}: does not match any allowed form ({best.split(': ', 1)[1]})"
    return best
