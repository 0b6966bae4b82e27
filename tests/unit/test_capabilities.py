"""pyrunc.linux.capabilities.resolve: names to numbers, with warnings for
what cannot be granted (unknown, beyond the kernel or pyrunc's bounding set,
or refused by capset(2))."""
from __future__ import annotations

import pytest

from pyrunc.linux import capabilities

CAPS = ["CAP_KILL", "CAP_CHOWN"]


def sets(**kw):
    out = {name: list(CAPS) for name in ("bounding", "effective", "permitted")}
    out.update(kw)
    return out


def test_resolves_names():
    caps, warnings = capabilities.resolve(sets(inheritable=["CAP_KILL"], ambient=["CAP_KILL"]),
                                          "process.capabilities")
    assert caps.effective == [5, 0] and caps.ambient == [5] and not warnings


def test_unknown_names_are_warnings():
    caps, warnings = capabilities.resolve(sets(effective=["CAP_KILL", "CAP_BOGUS"]),
                                          "process.capabilities")
    assert caps.effective == [5]
    assert warnings == ["process.capabilities.effective[1]: unknown capability 'CAP_BOGUS'; "
                        "ignored"]


@pytest.mark.parametrize("kw,field,kept", [
    ({"effective": ["CAP_KILL", "CAP_SYS_ADMIN"]}, "process.capabilities.effective", [5]),
    ({"permitted": ["CAP_CHOWN"]}, "process.capabilities.effective", [0]),
    ({"inheritable": ["CAP_SYS_ADMIN"]}, "process.capabilities.inheritable", []),
    ({"bounding": [], "inheritable": ["CAP_KILL"]}, "process.capabilities.inheritable", []),
])
def test_what_capset_refuses_is_a_warning(kw, field, kept):
    """These used to fail in the init as a bare 'Operation not permitted'
    (runc fails too); config.md: a capability that cannot be granted is
    logged as a warning, and the runtime SHOULD NOT fail."""
    caps, warnings = capabilities.resolve(sets(**kw), "process.capabilities")
    name = field.rsplit(".", 1)[1]
    assert getattr(caps, name) == kept
    assert len(warnings) == 1 and warnings[0].startswith(field + ": "), warnings
