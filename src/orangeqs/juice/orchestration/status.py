"""Does each environment have the image of the installed core version and current files?"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from orangeqs.juice.host.images import ImageListing, ImageRecord
from orangeqs.juice.host.tools import find_podman, render_tools
from orangeqs.juice.paths import HostPaths

if TYPE_CHECKING:  # imported when used: podman starts before they load (see survey)
    from orangeqs.juice.environments.rendering import RenderedEnvironment
    from orangeqs.juice.orchestration.planning import Plan


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


def survey(
    paths: HostPaths, names: Sequence[str] | None = None
) -> tuple[Plan, list[EnvironmentStatus]]:
    """The rendered environments (all, or those named) and the status of each.

    podman lists the images while this process loads the configuration and renders,
    so `juice env status` costs about the longer of the two, not their sum.
    """
    podman = find_podman()
    with ExitStack() as stack:
        listing = stack.enter_context(ImageListing(podman)) if podman else None
        from orangeqs.juice.orchestration.planning import make_plan

        plan = make_plan(paths, render_tools(), list(names) if names else None)
        images = listing.result() if listing else None
    return plan, [environment_status(environment, images) for environment in plan.environments]


def environment_status(
    environment: RenderedEnvironment, images: Sequence[ImageRecord] | None
) -> EnvironmentStatus:
    """Compare the images podman has (None: podman is missing) with the rendered identity."""
    from orangeqs.juice.orchestration.generations import holding, own_identity, target_of
    from orangeqs.juice.orchestration.remote import pulled_from

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
            pulled_from=pulled_from(serving, images or []) if serving else None,
        )

    if images is None:
        return status(ImageState.UNKNOWN)
    # Its own names only: `juice env build` names an identical environment's image.
    identity = own_identity(images, target)
    if identity is not None and serving is not None and serving.image_id == identity.image_id:
        return status(ImageState.UP_TO_DATE)
    if identity is not None:
        # `juice env build` points services at it again without a build.
        return status(ImageState.ROLLED_BACK if serving else ImageState.OUTDATED)
    if serving is not None:
        return status(ImageState.OUTDATED)
    return status(ImageState.MISSING)
