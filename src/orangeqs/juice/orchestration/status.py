"""Is each environment's image there, and was it built from what is rendered now?"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.environments.units import DIGEST_LABEL, Tools
from orangeqs.juice.host.podman import image_labels


class ImageState(str, Enum):
    """How an environment's image relates to its rendered files."""

    UP_TO_DATE = "up to date"
    OUTDATED = "outdated"
    MISSING = "not built"
    UNKNOWN = "unknown (podman not installed)"


@dataclass(frozen=True)
class EnvironmentStatus:
    """The state of one environment's image."""

    name: str
    image: str
    state: ImageState
    built_digest: str | None
    rendered_digest: str


def image_status(environment: RenderedEnvironment, tools: Tools) -> EnvironmentStatus:
    """Compare the image's digest label with the digest of the files rendered now."""
    spec = environment.spec
    image = f"{spec.image}:latest"
    if not tools.podman.exists():
        return EnvironmentStatus(spec.name, image, ImageState.UNKNOWN, None, environment.digest)
    labels = image_labels(tools.podman, image)
    if labels is None:
        return EnvironmentStatus(spec.name, image, ImageState.MISSING, None, environment.digest)
    built = labels.get(DIGEST_LABEL)
    state = ImageState.UP_TO_DATE if built == environment.digest else ImageState.OUTDATED
    return EnvironmentStatus(spec.name, image, state, built, environment.digest)
