"""features.md: the Features structure, checked against the upstream schema."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import jsonschema
import referencing
import referencing.jsonschema

REPO = pathlib.Path(__file__).resolve().parents[2]
UPSTREAM = pathlib.Path("/work/shared/reference/runtime-spec/schema")


def _features() -> dict:
    out = subprocess.run([sys.executable, "-m", "pyrunc", "features"], capture_output=True,
                         text=True, cwd=REPO, check=True)
    assert out.stdout.startswith('{\n    "ociVersionMin"')  # runc's 4-space indent
    return json.loads(out.stdout)


def test_features_valid_against_upstream_schema_features():
    resources = [(f"file://{p}", referencing.Resource.from_contents(
        json.loads(p.read_text()), default_specification=referencing.jsonschema.DRAFT4))
        for p in UPSTREAM.glob("*.json")]
    registry = referencing.Registry().with_resources(resources)
    validator = jsonschema.Draft4Validator({"$ref": f"file://{UPSTREAM}/features-schema.json"},
                                           registry=registry)
    errors = list(validator.iter_errors(_features()))
    assert errors == []


def test_features_content_featuresMountOptions():
    f = _features()
    assert f["ociVersionMin"] == "1.0.0" and f["ociVersionMax"] == "1.3.0"
    assert "rro" in f["mountOptions"] and "tmpcopyup" in f["mountOptions"]
    assert "size=" not in " ".join(f["mountOptions"])  # no filesystem-specific data
    linux = f["linux"]
    assert linux["mountExtensions"]["idmap"]["enabled"] is False  # not implemented
    assert linux["cgroup"]["systemd"] is True and linux["cgroup"]["systemdUser"] is False
    assert "user" in linux["namespaces"] and "time" in linux["namespaces"]
    assert "CAP_CHECKPOINT_RESTORE" in linux["capabilities"]
    assert "SCMP_ACT_NOTIFY" in linux["seccomp"]["actions"]
    assert set(linux["seccomp"]["supportedFlags"]) <= set(linux["seccomp"]["knownFlags"])


def test_version_lines():
    out = subprocess.run([sys.executable, "-m", "pyrunc", "--version"], capture_output=True,
                         text=True, cwd=REPO, check=True).stdout.splitlines()
    assert out[0].startswith("pyrunc version ")
    assert out[1].startswith("commit: ") and "spec: 1.3.0" in out
