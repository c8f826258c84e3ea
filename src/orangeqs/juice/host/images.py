"""Asking podman which environment images exist, and tagging and removing them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orangeqs.juice.environments.units import (
    CORE_VERSION_LABEL,
    DIGEST_LABEL,
    ENVIRONMENT_LABEL,
    environment_of_reference,
)
from orangeqs.juice.host.podman import PodmanError

# The environment of an image juice built that no environment names any more (e.g. the
# image whose names a forced build gave to its new image): no environment's generation,
# removed by gc unless a container uses it.
UNNAMED = ""


@dataclass(frozen=True)
class ImageRecord:
    """One image juice built, as one environment has it (podman's report of the image,
    with that environment's names only).

    Environments of the same configuration share one image: it has a record for each.
    """

    image_id: str
    # This environment's repository:tag names of the image, e.g. localhost/juice-lab:1.2.0
    # and localhost/juice-lab:id-<digest>.
    references: tuple[str, ...]
    environment: str  # UNNAMED for juice's image that no environment names
    digest: str
    core_version: str
    created: int  # seconds since the epoch
    size: int  # bytes
    containers: int  # containers (running or not) created from it
    # The digest of its manifest: from the registry for a pulled image, podman's own else.
    manifest_digest: str = ""


def _run(podman: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(podman), *args], capture_output=True, text=True, check=False)


# Every image juice built carries the digest label.
_LIST_ARGS = ("images", "--format", "json", "--filter", f"label={DIGEST_LABEL}")


class ImageListing:
    """A ``podman images`` call that runs while the caller works on, e.g. while
    `juice env status` loads the configuration and renders (both take tens of ms).

    Use as a context manager: leaving the block early stops podman.
    """

    def __init__(self, podman: Path) -> None:
        self._process = subprocess.Popen(
            [str(podman), *_LIST_ARGS],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> list[ImageRecord]:
        """The images podman listed (waits for it)."""
        stdout, stderr = self._process.communicate()
        if self._process.returncode != 0:
            raise PodmanError(f"podman images failed: {stderr.strip()}")
        return image_records(stdout)

    def __enter__(self) -> ImageListing:
        return self

    def __exit__(self, *_: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


def juice_images(podman: Path) -> list[ImageRecord]:
    """Every image juice built, in one podman call."""
    with ImageListing(podman) as listing:
        return listing.result()


def image_records(podman_json: str) -> list[ImageRecord]:
    """The records of `podman images --format json` output."""
    records: dict[tuple[str, str], ImageRecord] = {}
    # podman lists an image once per name: one record per image and environment.
    for entry in json.loads(podman_json or "[]") or []:
        labels = entry.get("Labels") or {}
        names = sorted({str(name) for name in entry.get("Names") or []})
        by_environment: dict[str, list[str]] = {}
        for name in names:
            environment = environment_of_reference(name)
            if environment is not None:
                by_environment.setdefault(environment, []).append(name)
        if not by_environment:
            owner = _owner_without_names(names, entry.get("History") or [], labels)
            if owner is None:
                continue
            by_environment[owner] = []
        image_id = str(entry["Id"])
        for environment, references in by_environment.items():
            records[image_id, environment] = ImageRecord(
                image_id=image_id,
                references=tuple(references),
                environment=environment,
                digest=str(labels.get(DIGEST_LABEL, "")),
                core_version=str(labels.get(CORE_VERSION_LABEL, "")),
                created=int(entry.get("Created") or 0),
                size=int(entry.get("Size") or 0),
                containers=int(entry.get("Containers") or 0),
                manifest_digest=str(entry.get("Digest") or ""),
            )
    return list(records.values())


def _owner_without_names(
    names: list[str], earlier_names: list[object], labels: dict[str, object]
) -> str | None:
    """Whose an image with juice's digest label is when no juice repository names it:
    an environment, UNNAMED (juice's own, no environment's), or None: not juice's to touch.

    The labels alone cannot tell: an image an administrator built FROM an environment's
    inherits them. podman's names history (its "History": every name the image had) can.
    """
    if names:
        # Named, but by none of juice's repositories: an administrator's image.
        return None
    earlier = [str(name) for name in earlier_names]
    if any(environment_of_reference(name) is None for name in earlier):
        return None  # it once had an administrator's name
    legacy = str(labels.get(ENVIRONMENT_LABEL) or "")
    if legacy:
        # Images of juice before shared images carry their environment as a label.
        return legacy
    # Only juice's names ever: a leftover whose names juice (or a forced build) moved.
    # Without any name ever, nothing shows who built it.
    return UNNAMED if earlier else None


def tag(podman: Path, image: str, *references: str) -> None:
    """Give `image` (an ID or a name) the names `references`, moving them from another
    image, in one podman call."""
    result = _run(podman, "tag", image, *references)
    if result.returncode != 0:
        names = " ".join(references)
        raise PodmanError(f"podman tag {image} {names} failed: {result.stderr.strip()}")


def remove(podman: Path, record: ImageRecord) -> str | None:
    """Remove one environment's names of an image (never --force); podman removes the
    image with its last name. None, or why podman refused.

    ``--no-prune``: by default podman also removes the parent images it judges dangling,
    and those are the build cache; with layers shared between generations and empty
    layers (ARG, ENV, LABEL) podman judged the cache of a kept image dangling, and the
    next build ran from scratch (seen here). Left-over layers of removed generations are
    reclaimed by ``podman image prune`` (when no build runs).
    """
    names: Sequence[str] = record.references or (record.image_id,)
    result = _run(podman, "rmi", "--no-prune", *names)
    return None if result.returncode == 0 else result.stderr.strip()
