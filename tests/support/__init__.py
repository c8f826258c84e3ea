"""Shared helpers of the test suite: Debian roots, podman, booted hosts, HTTP."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache"
REPORTS_DIR = CACHE_DIR / "test-reports"


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive fcntl lock on `path` (created if needed) for the block.

    Lets concurrent test processes (pytest-xdist, parallel CI jobs) build a shared
    cached artefact once: the loser waits, then finds the artefact ready.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
