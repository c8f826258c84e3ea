"""Does each environment have the image of the installed core version and current files?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.environments.units import Tools
from orangeqs.juice.host.images import ImageRecord, juice_images
from orangeqs.juice.orchestration.generations import holding, target_of, with_identity
from orangeqs.juice.orchestration.remote import pulled_from


class ImageState(str, Enum):
    """How an environment's images relate to its rendered files."""

    UP_TO_DATE = "up to date"  # services name the image built from the files rendered now
    ROLLED_BACK = "rolled back"  # that image exists; services name an older one
    OUTDATED = "outdated"  # services name an image built from other files
    MISSING = "not built"  # no image for the installed core version
    UNKNOWN = "unknown (podman not installed)"


@dataclass(frozen=True)
class EnvironmentStatus:
    """The state of one environment's image (`juice env status --json` prints these)."""

    name: str
    # What services of the installed core version run: repository:version.
    image: str
    state: ImageState
    core_version: str
    rendered_digest: str
    # The identity of the image `image` names now (None when there is none).
    serving_digest: str | None
    serving_core_version: str | None
    # Where the image `image` names came from: <registry repository>@<manifest digest>
    # when it was pulled, None when it was built here (or there is none).
    pulled_from: str | None = None


def statuses(environments: Sequence[RenderedEnvironment], tools: Tools) -> list[EnvironmentStatus]:
    """The status of each environment, from one podman call."""
    images = juice_images(tools.podman) if tools.podman.exists() else None
    return [environment_status(environment, images) for environment in environments]


def environment_status(
    environment: RenderedEnvironment, images: Sequence[ImageRecord] | None
) -> EnvironmentStatus:
    """Compare the images podman has (None: podman is missing) with the rendered identity."""
    target = target_of(environment)
    serving = holding(images or [], target.version_reference)

    def status(state: ImageState) -> EnvironmentStatus:
        return EnvironmentStatus(
            name=target.environment,
            image=target.version_reference,
            state=state,
            core_version=target.core_version,
            rendered_digest=target.digest,
            serving_digest=serving.digest if serving else None,
            serving_core_version=serving.core_version if serving else None,
            pulled_from=pulled_from(serving) if serving else None,
        )

    if images is None:
        return status(ImageState.UNKNOWN)
    identity = with_identity(images, target)
    if identity is not None and serving is not None and serving.image_id == identity.image_id:
        return status(ImageState.UP_TO_DATE)
    if identity is not None:
        # `juice env build` points services at it again without a build.
        return status(ImageState.ROLLED_BACK if serving else ImageState.OUTDATED)
    if serving is not None:
        return status(ImageState.OUTDATED)
    return status(ImageState.MISSING)
