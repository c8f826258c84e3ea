"""File-system primitives of the repository tree: atomic writes, the lock, generations.

Metadata (apt's ``dists/``, dnf's ``repodata/``) is never changed in place. Each publish
builds a complete new *generation* directory under ``generations/``, checks its
signatures, and then switches a symlink (``dists`` or ``repodata``) to it with a single
``rename(2)``. A client or an interrupted publish therefore only ever sees the old
metadata or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from juice_packaging.publish.errors import PublishError

GENERATIONS = "generations"


def commit_atomic(tmp: Path, dest: Path) -> None:
    """Make the written file ``tmp`` durable and world-readable, then rename it to ``dest``."""
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.chmod(0o644)
    tmp.replace(dest)


def write_atomic(path: Path, data: bytes) -> bool:
    """Replace ``path`` with ``data`` (temp file + rename); False if already identical."""
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    commit_atomic(tmp, path)
    return True


def copy_atomic(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` so that ``dest`` appears complete or not at all."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.copyfile(src, tmp)
    commit_atomic(tmp, dest)


def link_or_copy(src: Path, dest: Path) -> None:
    """Hard-link an immutable file into another generation (copy across devices)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(src, dest)


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold the tree's publish lock: two publishes into one tree would race."""
    root.mkdir(parents=True, exist_ok=True)
    lock_path = root / ".publish-repo.lock"
    with lock_path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise PublishError(
                f"another publish into {root} is running",
                "wait for it to finish, then run this command again",
            ) from err
        yield


def new_generation(family_root: Path, kind: str) -> Path:
    """A fresh, empty, not yet visible generation directory (e.g. ``dists-<id>``)."""
    gens = family_root / GENERATIONS
    gens.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(1000):
        candidate = gens / f"{kind}-{stamp}-{n:03d}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise PublishError(f"could not create a new generation directory in {gens}")


def current_generation(link: Path) -> Path | None:
    """The generation the public symlink points at, or None for a new tree."""
    if link.is_symlink():
        target = link.resolve()
        return target if target.is_dir() else None
    if link.exists():
        raise PublishError(
            f"{link} is a real directory, not a symlink to a generation",
            "this tree was not made by publish-repo: publish into a new directory",
        )
    return None


def switch(link: Path, generation: Path) -> None:
    """Point ``link`` at ``generation`` atomically (new symlink, then rename over the old)."""
    target = os.path.relpath(generation, link.parent)
    tmp = link.with_name(f".{link.name}.new-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(target)
    tmp.replace(link)
    # Make the rename durable before old generations are removed.
    fd = os.open(link.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune_generations(family_root: Path, kind: str, keep: Path | None) -> None:
    """Remove every ``kind`` generation but ``keep``: superseded or left by an interruption.

    Safe because what a client may still ask for after the switch (apt's by-hash
    indexes, dnf's hash-named metadata of the previous generation) was carried into the
    new generation.
    """
    gens = family_root / GENERATIONS
    if not gens.is_dir():
        return
    for entry in gens.iterdir():
        if entry.name.startswith(f"{kind}-") and (keep is None or entry != keep.resolve()):
            shutil.rmtree(entry)
