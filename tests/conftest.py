"""Suite-wide set-up: import path for `support`, and shared session fixtures."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
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
def booted_host() -> Iterator[BootedHost]:
    """A freshly booted Debian 12 host with systemd and podman (see support/nspawn.py).

    When the test fails, the booted host's journal is saved under .cache/test-reports/
    (see pytest_runtest_makereport below) before it is powered off and removed.
    """
    with BootedHost("juice-test") as host:
        yield host


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the journal of a failed test's booted host; name its file in the report."""
    report: pytest.TestReport = yield
    host = getattr(item, "funcargs", {}).get("booted_host")
    failed_call = report.failed and report.when == "call"
    if failed_call and isinstance(host, BootedHost) and host.is_running():
        path = host.save_journal(item.nodeid)
        report.sections.append(("booted host journal", f"saved to {path}"))
    return report
