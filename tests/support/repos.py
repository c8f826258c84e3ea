"""A signed apt + dnf repository of the real packages, served on 127.0.0.1.

    with served_repository(tmp_path) as repo:
        repo.publish(build_packages("1.0.0"))       # scripts/publish-repo, throwaway key
        host.copy_in(repo.tree / "orangeqs-juice-bookworm.sources", ...)

Keys and publishing are the publishing tests' own helpers
(tests/publishing/publish_helpers.py), imported from there so both suites publish the
same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.http import serve_directory
from support.packages import BuiltPackages

_PUBLISHING_TESTS = str(Path(__file__).resolve().parents[1] / "publishing")
if _PUBLISHING_TESTS not in sys.path:
    sys.path.append(_PUBLISHING_TESTS)

from publish_helpers import (  # noqa: E402 - found through the path entry above
    Key,
    make_key,
    publish_ok,
    stop_agent,
)

__all__ = ["PublishedRepository", "served_repository"]


@dataclass(frozen=True)
class PublishedRepository:
    """A repository tree, the URL it is served at, and the key that signs it."""

    tree: Path
    url: str
    key: Key

    def publish(self, packages: BuiltPackages) -> str:
        """Add the .deb and .rpm of one build with scripts/publish-repo; its output."""
        return publish_ok(self.tree, self.key, packages.deb, packages.rpm, base_url=self.url)

    def client_file(self, name: str) -> Path:
        """A file publish-repo wrote for clients: .sources, .repo, .gpg, .asc."""
        path = self.tree / name
        if not path.is_file():
            raise FileNotFoundError(f"publish-repo wrote no {name} in {self.tree}")
        return path


@contextmanager
def served_repository(work: Path) -> Iterator[PublishedRepository]:
    """A throwaway signing key and an (empty until published) tree served over HTTP."""
    key = make_key(work / "gnupg", "Juice System Tests")
    served = work / "served"
    served.mkdir(parents=True)
    try:
        with serve_directory(served) as url:
            yield PublishedRepository(served / "juice", f"{url}/juice", key)
    finally:
        stop_agent(key)
