"""Asking podman which environment images exist, and tagging and removing them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orangeqs.juice.environments.units import CORE_VERSION_LABEL, DIGEST_LABEL, ENVIRONMENT_LABEL
from orangeqs.juice.host.podman import PodmanError


@dataclass(frozen=True)
class ImageRecord:
    """One image juice built, as podman reports it."""

    image_id: str
    # repository:tag names, e.g. localhost/juice-lab:1.2.0 and localhost/juice-lab:id-<digest>.
    references: tuple[str, ...]
    environment: str
    digest: str
    core_version: str
    created: int  # seconds since the epoch
    size: int  # bytes
    containers: int  # containers (running or not) created from it
    # The digest of its manifest: from the registry for a pulled image, podman's own else.
    manifest_digest: str = ""


def _run(podman: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(podman), *args], capture_output=True, text=True, check=False)


def juice_images(podman: Path) -> list[ImageRecord]:
    """Every image juice built (it carries the digest label), in one podman call."""
    result = _run(podman, "images", "--format", "json", "--filter", f"label={DIGEST_LABEL}")
    if result.returncode != 0:
        raise PodmanError(f"podman images failed: {result.stderr.strip()}")
    records: dict[str, ImageRecord] = {}
    # podman lists an image once per name: keep one record per image ID.
    for entry in json.loads(result.stdout or "[]") or []:
        labels = entry.get("Labels") or {}
        image_id = str(entry["Id"])
        records[image_id] = ImageRecord(
            image_id=image_id,
            references=tuple(sorted(str(name) for name in entry.get("Names") or [])),
            environment=str(labels.get(ENVIRONMENT_LABEL, "")),
            digest=str(labels.get(DIGEST_LABEL, "")),
            core_version=str(labels.get(CORE_VERSION_LABEL, "")),
            created=int(entry.get("Created") or 0),
            size=int(entry.get("Size") or 0),
            containers=int(entry.get("Containers") or 0),
            manifest_digest=str(entry.get("Digest") or ""),
        )
    return list(records.values())


def tag(podman: Path, image: str, reference: str) -> None:
    """Give `image` (an ID or a name) the name `reference`, moving it from another image."""
    result = _run(podman, "tag", image, reference)
    if result.returncode != 0:
        raise PodmanError(f"podman tag {image} {reference} failed: {result.stderr.strip()}")


def remove(podman: Path, record: ImageRecord) -> str | None:
    """Remove an image by all its names (never --force); None, or why podman refused.

    ``--no-prune``: by default podman also removes the parent images it judges dangling,
    and those are the build cache; with layers shared between generations and empty
    layers (ARG, ENV, LABEL) podman judged the cache of a kept image dangling, and the
    next build ran from scratch (seen here). Left-over layers of removed generations are
    reclaimed by ``podman image prune`` (when no build runs).
    """
    names: Sequence[str] = record.references or (record.image_id,)
    result = _run(podman, "rmi", "--no-prune", *names)
    return None if result.returncode == 0 else result.stderr.strip()
