"""Shared fixtures of the packaging tests: v1 and v2 packages per target, built once.

v1 is a release candidate and v2 the release, so the upgrade tests also show that the
`~` mapping sorts an rc before its release in real dpkg and dnf. Tests run for the
default target (debian12); a module that overrides `target_name` with a parametrized
fixture runs once per target, on that target's packages and in that release's root.
"""

from __future__ import annotations

import concurrent.futures
import functools
import sys
from pathlib import Path

import pytest
from support import REPO_ROOT
from support.packages import DEFAULT_TARGET, BuiltPackages, build_packages

sys.path.insert(0, str(REPO_ROOT / "packaging"))

from juice_packaging.targets import TARGETS, Target

V1 = "0.9.0rc1"
V2 = "0.9.0"

pytestmark = pytest.mark.packaging


@functools.cache
def packages_for(target: str) -> tuple[BuiltPackages, BuiltPackages]:
    """(v1, v2) of `target`, built in parallel (each is cached across runs)."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        v1, v2 = pool.map(functools.partial(build_packages, target=target), [V1, V2])
    return v1, v2


@pytest.fixture(scope="module")
def target_name() -> str:
    """The target a module tests; override with params=list(TARGETS) to run per target."""
    return DEFAULT_TARGET


@pytest.fixture(scope="module")
def target(target_name: str) -> Target:
    """The target's release, suite and Python."""
    return TARGETS[target_name]


@pytest.fixture(scope="module")
def v1(target_name: str) -> BuiltPackages:
    """The release candidate."""
    return packages_for(target_name)[0]


@pytest.fixture(scope="module")
def v2(target_name: str) -> BuiltPackages:
    """The release."""
    return packages_for(target_name)[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory carries the `packaging` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.packaging)
