"""Shared fixtures of the packaging tests: v1 and v2 packages, built once per session.

v1 is a release candidate and v2 the release, so the upgrade tests also show that the
`~` mapping sorts an rc before its release in real dpkg and dnf.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import pytest
from support.packages import BuiltPackages, build_packages

V1 = "0.9.0rc1"
V2 = "0.9.0"

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="session")
def built() -> dict[str, BuiltPackages]:
    """{"v1": ..., "v2": ...}, built in parallel (each is cached across runs)."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        v1, v2 = pool.map(build_packages, [V1, V2])
    return {"v1": v1, "v2": v2}


@pytest.fixture(scope="session")
def v1(built: dict[str, BuiltPackages]) -> BuiltPackages:
    """The release candidate."""
    return built["v1"]


@pytest.fixture(scope="session")
def v2(built: dict[str, BuiltPackages]) -> BuiltPackages:
    """The release."""
    return built["v2"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory carries the `packaging` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.packaging)
