"""Suite-wide set-up: import path for `support`, and shared session fixtures."""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path

import pytest

# tests/ is not a package: make `from support.roots import ...` work from any test file.
sys.path.insert(0, str(Path(__file__).parent))

from support.nspawn import BootedHost
from support.podman import ensure_base_image
from support.podman import podman_env as _podman_env
from support.skip_policy import register as register_skip_policy


def pytest_configure(config: pytest.Config) -> None:
    """A skipped test fails the run unless allowed (tests/support/skip_policy.py)."""
    register_skip_policy(config)


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    """Environment for running podman with the suite's containers.conf."""
    return _podman_env()


@pytest.fixture(scope="session")
def base_image() -> str:
    """Tag of a local Debian 12 base image with python3 (imported once, then reused)."""
    return ensure_base_image()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the journal of a failed test's booted host; name its file in the report.

    Any fixture value that is, or holds as `.host`, a running BootedHost counts (the
    system tests share one host per module).
    """
    report: pytest.TestReport = yield
    if report.failed and report.when == "call":
        for value in getattr(item, "funcargs", {}).values():
            host = getattr(value, "host", value)
            if isinstance(host, BootedHost) and host.is_running():
                path = host.save_journal(item.nodeid)
                report.sections.append(("booted host journal", f"saved to {path}"))
    return report
