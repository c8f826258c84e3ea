"""Fixtures for unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from juice_host import JuiceHost

from orangeqs.juice.paths import HostPaths


@pytest.fixture
def host(tmp_path: Path) -> JuiceHost:
    """An empty host tree under tmp_path; juice runs with --root pointing at it."""
    root = tmp_path / "root"
    root.mkdir()
    return JuiceHost(root, HostPaths.under(root))
