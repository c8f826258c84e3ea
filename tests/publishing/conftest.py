"""Fixtures of the publishing tests: throwaway keys and tiny packages, made once a session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from publish_helpers import Key, build_tiny, make_key, stop_agent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory carries the ``publishing`` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.publishing)


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Key]:
    """The repository's throwaway signing key."""
    key = make_key(tmp_path_factory.mktemp("gpg") / "home", "Juice Test Repo")
    yield key
    stop_agent(key)


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Key]:
    """Another key: clients that trust ``signing_key`` must refuse what it signs."""
    key = make_key(tmp_path_factory.mktemp("gpg-other") / "home", "Someone Else")
    yield key
    stop_agent(key)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Tiny (.deb, .rpm) pairs: v1, v2, and v1 rebuilt with other content."""
    out = tmp_path_factory.mktemp("tiny")
    return {
        "v1": build_tiny(out, "juice-publish-demo", "1.0.0", "first"),
        "v2": build_tiny(out, "juice-publish-demo", "2.0.0", "second"),
        "v1-other": build_tiny(out, "juice-publish-demo", "1.0.0", "a different build"),
    }
