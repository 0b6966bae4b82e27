"""Fixtures of the crash and race tests (root only: tests/conftest.py skips
this directory otherwise)."""
from __future__ import annotations

import pytest

from helpers import reclaim


@pytest.fixture(autouse=True)
def _reclaim(cid):
    """After each test (and after the runtime fixture's delete --force): take
    back what a failing runtime left of the container on the host (runc 1.1.5
    leaks cgroups and processes in several of these tests), so that one
    failure does not spill into the next test."""
    yield
    reclaim(cid)


@pytest.fixture
def runc_bug(request, runtime):
    """runc_bug(reason): the runc parametrization of this test is an expected
    failure (strict: it must fail), because of the runc 1.1.5 bug named."""
    def mark(reason: str) -> None:
        if runtime.name == "runc":
            request.applymarker(pytest.mark.xfail(strict=True, reason=f"runc 1.1.5 bug: {reason}"))
    return mark
