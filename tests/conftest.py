"""Suite-wide set-up: import path for `support`, and shared session fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ is not a package: make `from support.roots import ...` work from any test file.
sys.path.insert(0, str(Path(__file__).parent))

from support.nspawn import BootedHost
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


@pytest.fixture
def booted_host(request: pytest.FixtureRequest) -> Iterator[BootedHost]:
    """A freshly booted Debian 12 host with systemd and podman (see support/nspawn.py).

    When the test fails, the booted host's journal is saved under .cache/test-reports/
    before it is powered off and removed; its path is printed in the test's output.
    """
    failed_before = request.session.testsfailed
    with BootedHost("juice-test") as host:
        yield host
        if request.session.testsfailed > failed_before:
            path = host.save_journal(request.node.nodeid)
            print(f"\nbooted host journal of {request.node.nodeid}: {path}")
