"""Keeping each environment's journal of the images it got (host/journal.py), which
orders its generations for `juice env history`, `rollback` and `gc`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from orangeqs.juice.host.files import HostError
from orangeqs.juice.host.images import ImageRecord
from orangeqs.juice.host.journal import JournalEntry, append_entry, read_journal, utc_now
from orangeqs.juice.orchestration.generations import Target, arrival, got_at
from orangeqs.juice.paths import HostPaths


def journal_times(paths: HostPaths, environments: Iterable[str]) -> dict[str, dict[str, float]]:
    """Per environment, when it got each image its journal names."""
    return {
        name: got_at(read_journal(paths.generations_file(name)))
        for name in set(environments)
        # Names read from podman's labels: never a path outside the journals' folder.
        if name and "/" not in name and not name.startswith(".")
    }


def record(paths: HostPaths, environment: str, image: ImageRecord) -> str | None:
    """Write that `environment` got `image` now. None, or why it could not be written
    (the images stay as they are; only this environment's order falls back to when its
    images were built)."""
    entry = JournalEntry(image.digest, image.image_id, image.core_version, utc_now())
    try:
        append_entry(paths.generations_file(environment), entry)
    except HostError as error:
        return (
            f"could not record that {environment} now runs image {image.image_id[:12]} "
            f"({error}); its images are ordered by when they were built"
        )
    return None


def record_arrivals(
    paths: HostPaths, targets: Sequence[Target], images: Sequence[ImageRecord]
) -> list[tuple[Path, str]]:
    """Write, for each target whose version tag names an image its journal does not end
    with, that it got that image now. Returns the journals that could not be written, and
    why."""
    problems = []
    for target in targets:
        path = paths.generations_file(target.environment)
        image = arrival(images, target, read_journal(path))
        problem = record(paths, target.environment, image) if image else None
        if problem is not None:
            problems.append((path, problem))
    return problems


def pending_times(
    paths: HostPaths, targets: Sequence[Target], images: Sequence[ImageRecord]
) -> dict[str, dict[str, float]]:
    """journal_times() as they will be once record_arrivals() has run, without writing:
    an image a target's version tag names that its journal does not end with counts as
    got last."""
    times = journal_times(paths, {image.environment for image in images})
    for target in targets:
        path = paths.generations_file(target.environment)
        image = arrival(images, target, read_journal(path))
        if image is not None:
            times.setdefault(target.environment, {})[image.image_id] = float("inf")
    return times
