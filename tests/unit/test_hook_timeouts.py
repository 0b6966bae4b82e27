"""pyrunc.hooks.run_one with the timeouts a config can ask for."""
from __future__ import annotations

import pytest

from pyrunc import hooks


@pytest.mark.parametrize("timeout", [None, 1, 2**31, 2**64, 10**30])
def test_any_timeout_the_schema_allows(timeout):
    """hooks[].timeout is an integer >= 1 with no maximum; 2**64 used to
    make poll() raise OverflowError (an internal error at `delete`)."""
    hooks.run_one("/bin/true", ["true"], None, timeout, b"{}", "poststop[0]")


def test_timeout_kills():
    with pytest.raises(hooks.HookError, match=r"timed out after 1s"):
        hooks.run_one("/bin/sleep", ["sleep", "5"], None, 1, b"{}", "poststop[0]")
