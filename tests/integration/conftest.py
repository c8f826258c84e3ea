"""Fixtures for integration tests: the real core wheel, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.core_versions import REPO, build_wheel


@pytest.fixture(scope="session")
def core_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The orangeqs-juice-core wheel built from this checkout (with uv, like a release)."""
    return build_wheel(REPO, tmp_path_factory.mktemp("wheel"))
