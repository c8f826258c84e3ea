"""Generations of environment images: which to reuse, build, roll back to or remove.

Pure decisions over what podman reported (no subprocess here). An image is identified by
what it was built from (its digest label, also its `id-<digest>` tag); the tag named for a
core version is what that version's services run. An environment's generations are
ordered by when it got each image (its journal, host/journal.py), not by when the image
was built: environments of one configuration share an image, so an environment can move
to an image built before the one it ran.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from orangeqs.juice.environments.pyproject import THIRD_PARTY_FILE
from orangeqs.juice.environments.rendering import CONTAINERFILE, RenderedEnvironment, build_options
from orangeqs.juice.environments.units import (
    identity_reference,
    image_tag,
    version_reference,
)
from orangeqs.juice.host.images import UNNAMED, ImageRecord
from orangeqs.juice.host.journal import JournalEntry

IDENTITY_TAG_PREFIX = "id-"


@dataclass(frozen=True)
class Target:
    """The image the installed core version wants for one environment."""

    environment: str
    digest: str
    core_version: str
    # What services run, e.g. localhost/juice-lab:1.2.0.
    version_reference: str
    # The generation built from exactly the rendered files, e.g. localhost/juice-lab:id-<digest>.
    identity_reference: str


def target_of(environment: RenderedEnvironment) -> Target:
    """The target of a rendered environment."""
    image, version = environment.spec.image, environment.core.version
    return Target(
        environment=environment.spec.name,
        digest=environment.digest,
        core_version=version,
        version_reference=version_reference(image, version),
        identity_reference=identity_reference(image, environment.digest),
    )


class Action(str, Enum):
    """What `juice env build` does for one environment."""

    UP_TO_DATE = "up to date"  # the image exists and services already name it
    REUSE = "reused"  # the image exists: point the version tag at it again, no build
    BUILD = "build"


# Per image ID, when an environment last got it (seconds since the epoch).
GotAt = Mapping[str, float]


def got_at(journal: Sequence[JournalEntry]) -> dict[str, float]:
    """When the environment last got each image of its journal. A later entry is always
    later, even when the clock went back between the two."""
    times: dict[str, float] = {}
    last = float("-inf")
    for entry in journal:
        last = max(entry.at.timestamp(), last + 1e-6)
        times[entry.image_id] = last
    return times


def generations(
    images: Iterable[ImageRecord], environment: str, got: GotAt | None = None
) -> list[ImageRecord]:
    """The images of one environment, the one it got last first: by its journal `got`,
    and by when an image was built for one the journal does not name."""
    got = got or {}
    mine = [image for image in images if image.environment == environment]
    return sorted(mine, key=lambda image: (-got.get(image.image_id, image.created), image.image_id))


def holding(images: Iterable[ImageRecord], reference: str) -> ImageRecord | None:
    """The image that has the name `reference`, if any."""
    return next((image for image in images if reference in image.references), None)


def arrival(
    images: Iterable[ImageRecord], target: Target, journal: Sequence[JournalEntry]
) -> ImageRecord | None:
    """The image the target's version tag names, when the environment's journal does not
    end with it: the environment got it since (a build, a reuse, a pull, a downgrade)."""
    serving = holding(
        (image for image in images if image.environment == target.environment),
        target.version_reference,
    )
    if serving is None or (journal and journal[-1].image_id == serving.image_id):
        return None
    return serving


def own_identity(images: Iterable[ImageRecord], target: Target) -> ImageRecord | None:
    """The target environment's own image built from exactly the target's inputs."""
    return next(
        (
            image
            for image in images
            if image.environment == target.environment and image.digest == target.digest
        ),
        None,
    )


def with_identity(images: Sequence[ImageRecord], target: Target) -> ImageRecord | None:
    """The image built from exactly the target's inputs, if it exists: the target
    environment's own, else another environment's (one of the same configuration, which
    shares the image)."""
    own = own_identity(images, target)
    return own or next((image for image in images if image.digest == target.digest), None)


def decide(target: Target, images: Sequence[ImageRecord], force: bool = False) -> Action:
    """Build only when no image with the target's identity exists (or when forced)."""
    existing = with_identity(images, target)
    if force or existing is None:
        return Action.BUILD
    if existing.environment == target.environment and (
        target.version_reference in existing.references
    ):
        return Action.UP_TO_DATE
    return Action.REUSE


def previous_generation(
    images: Sequence[ImageRecord], environment: str, version_ref: str, got: GotAt | None = None
) -> ImageRecord | None:
    """The generation the environment had before the one `version_ref` names (the one it
    got last, if it names none). After a rollback the journal names the image rolled
    back to last, so the next rollback goes back again (like `cd -`)."""
    ordered = generations(images, environment, got)
    current = holding(ordered, version_ref)
    if current is None:
        return ordered[0] if ordered else None
    older = ordered[ordered.index(current) + 1 :]
    return next((image for image in older if image.digest != current.digest), None)


def _version_tags(image: ImageRecord) -> list[str]:
    tags = [reference.rsplit(":", 1)[1] for reference in image.references if ":" in reference]
    # "latest": what juice before generations tagged; it names no core version.
    return [tag for tag in tags if not tag.startswith(IDENTITY_TAG_PREFIX) and tag != "latest"]


def select_removals(
    images: Sequence[ImageRecord],
    installed_version: str,
    keep: int,
    protected_digests: Iterable[str] = (),
    got: Mapping[str, GotAt] | None = None,
) -> list[ImageRecord]:
    """The images to remove: per environment, all but those the last `keep` core versions
    name, the one before the installed version's (so a rollback has a step back), the
    identities rendered now (`protected_digests`) and any a container uses; and every
    image of juice's that no environment names (UNNAMED) unless a container uses it.
    `got`: per environment, when it got its images (see generations())."""
    protected = set(protected_digests)
    installed_tag = image_tag(installed_version)
    removals: list[ImageRecord] = []
    for environment in sorted({image.environment for image in images}):
        ordered = generations(images, environment, (got or {}).get(environment))
        if environment == UNNAMED:
            # No environment's generation (nothing can run it by name, nor roll back to
            # it), whatever its digest: kept only while a container uses it.
            removals += [image for image in ordered if image.containers == 0]
            continue
        # Core versions newest first: the installed one, then by when the environment got
        # their image.
        versions: list[tuple[str, ImageRecord]] = []
        for image in ordered:
            versions += [(tag, image) for tag in _version_tags(image)]
        versions.sort(key=lambda pair: pair[0] != installed_tag)  # stable: keeps the order
        kept = {image.image_id for _, image in versions[:keep]}
        serving = next((image for tag, image in versions if tag == installed_tag), None)
        if serving is not None:
            older = ordered[ordered.index(serving) + 1 :]
            step_back = next((image for image in older if image.digest != serving.digest), None)
            kept |= {step_back.image_id} if step_back else set()
        removals += [
            image
            for image in ordered
            if image.image_id not in kept
            and image.containers == 0
            and image.digest not in protected
        ]
    return removals


def prefix_key(environment: RenderedEnvironment) -> str:
    """Equal for environments whose images share every layer below their Python packages:
    the same Containerfile up to the third-party step, and the same build options."""
    until = f"COPY {THIRD_PARTY_FILE} "
    lines = environment.files[CONTAINERFILE].splitlines()
    # Comments make no layer.
    kept = [
        line
        for line in itertools.takewhile(lambda line: not line.startswith(until), lines)
        if not line.startswith("#")
    ]
    hasher = hashlib.sha256("\n".join(kept).encode())
    hasher.update("\0".join(build_options(environment.build)).encode())
    return hasher.hexdigest()


@dataclass(frozen=True)
class BuildWaves:
    """The order of the builds, so that no layer is ever built twice at the same time.

    Two builds that make the same layer at once each commit their own copy; podman then
    takes either copy from the cache, and a build that took the other environment's
    copy finds none of its own later layers below it: the cache is lost (seen here).
    """

    # One environment per distinct prefix, one at a time: the layers environments share.
    alone: list[RenderedEnvironment]
    # One environment of each other identity, in parallel: their own layers.
    together: list[RenderedEnvironment]
    # The rest: an identity built above (environments of the same configuration), with
    # the environment whose build makes their image. They get its image, no build.
    same_image: list[tuple[RenderedEnvironment, RenderedEnvironment]]


def build_waves(environments: Sequence[RenderedEnvironment]) -> BuildWaves:
    """Order `environments` into waves (see BuildWaves)."""
    waves = BuildWaves([], [], [])
    prefixes: set[str] = set()
    built: dict[str, RenderedEnvironment] = {}
    for environment in environments:
        prefix = prefix_key(environment)
        if environment.digest in built:
            waves.same_image.append((environment, built[environment.digest]))
            continue
        built[environment.digest] = environment
        if prefix in prefixes:
            waves.together.append(environment)
        else:
            waves.alone.append(environment)
        prefixes.add(prefix)
    return waves
