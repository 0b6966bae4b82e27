"""Fixtures of the security suite: hostile images need a rootfs of their own
(the session's busybox rootfs is shared and must stay clean)."""
from __future__ import annotations

import os

import pytest

from helpers import Bundle, build_rootfs


@pytest.fixture
def hostile(tmp_path):
    """A bundle with a rootfs of its own, free to be made hostile."""
    root = tmp_path / "hostile"
    root.mkdir()
    os.chmod(root, 0o755)
    return Bundle(str(root / "bundle"), build_rootfs(str(root / "rootfs")))
