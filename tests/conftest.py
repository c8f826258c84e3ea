"""Suite-wide set-up: import path for `support`, and shared session fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/ is not a package: make `from support.roots import ...` work from any test file.
sys.path.insert(0, str(Path(__file__).parent))

from support.podman import ensure_base_image
from support.podman import podman_env as _podman_env


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    """Environment for running podman with the suite's containers.conf."""
    return _podman_env()


@pytest.fixture(scope="session")
def base_image() -> str:
    """Tag of a local Debian 12 base image with python3 (imported once, then reused)."""
    return ensure_base_image()
