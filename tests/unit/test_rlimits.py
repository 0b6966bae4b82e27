"""pyrunc.linux.rlimits: process.rlimits as setrlimit(2) takes them."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pyrunc.errors import ConfigError
from pyrunc.linux import rlimits

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("soft,hard,shown", [
    (2**63, 2**64 - 1, "9223372036854775808 unlimited"),  # was an OverflowError
    (2**64 - 2, 2**64 - 1, "18446744073709551614 unlimited"),
    (0, 2**64 - 1, "0 unlimited"),
    (2**64 - 1, 2**64 - 1, "unlimited unlimited"),
])
def test_uint64_limits_reach_the_kernel(soft, hard, shown):
    """Applied in a child (as in the init): every uint64 the schema allows."""
    code = (f"import sys; sys.path.insert(0, {REPO!r})\n"
            "from pyrunc.linux import rlimits\n"
            f"rlimits.apply(rlimits.resolve([('RLIMIT_CORE', {soft}, {hard})], 'x'))\n"
            "print(next(l for l in open('/proc/self/limits') if l.startswith('Max core')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert " ".join(out.stdout.split()[4:6]) == shown


def test_soft_above_hard():
    with pytest.raises(ConfigError, match=r"^process\.rlimits\[0\]: soft limit"):
        rlimits.resolve([("RLIMIT_CORE", 2**64 - 1, 2**63)], "process.rlimits")
