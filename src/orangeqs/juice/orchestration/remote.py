"""Images in a registry: their names there, whether to pull, and where an image came from.

Pure (no subprocess): the podman calls are in host/registry.py. A registry holds each
environment's image under the same two tags the local store has, below the configured
prefix: `<registry>/juice-<name>:id-<digest>` (what it was built from) and
`<registry>/juice-<name>:<core version>`. A lab host with the same configuration and
core version renders the same digest, so it asks for exactly the image it would build.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from orangeqs.juice.host.images import ImageRecord
from orangeqs.juice.orchestration.generations import IDENTITY_TAG_PREFIX, Target

LOCAL_PREFIX = "localhost/"


class Source(str, Enum):
    """``[images] source``: where `juice env build` gets an image it does not have."""

    BUILD = "build"
    PULL = "pull"
    PULL_OR_BUILD = "pull-or-build"


@dataclass(frozen=True)
class RemoteTarget:
    """The names of one environment's image in the registry."""

    environment: str
    # e.g. registry.lab.example:5000/juice/juice-lab
    repository: str
    # e.g. registry.lab.example:5000/juice/juice-lab:id-<digest>: what a lab host pulls.
    identity_reference: str
    # e.g. registry.lab.example:5000/juice/juice-lab:1.2.0
    version_reference: str


def remote_target(registry: str, target: Target) -> RemoteTarget:
    """Where `target`'s image lives below the repository prefix `registry`."""
    repository, identity_tag = _split(target.identity_reference)
    _, version_tag = _split(target.version_reference)
    remote = f"{registry}/{repository.removeprefix(LOCAL_PREFIX)}"
    return RemoteTarget(
        environment=target.environment,
        repository=remote,
        identity_reference=f"{remote}:{identity_tag}",
        version_reference=f"{remote}:{version_tag}",
    )


def _split(reference: str) -> tuple[str, str]:
    repository, tag = reference.rsplit(":", 1)
    return repository, tag


def should_pull(source: Source) -> bool:
    """Whether an image this host lacks is pulled (else it is built)."""
    return source is not Source.BUILD


class PullFailure(str, Enum):
    """Why a pull brought no image."""

    NOT_FOUND = "not in the registry"
    # The registry is down, refused us (auth, TLS), or the image was refused (signature).
    REFUSED = "refused"


def builds_when_not_pulled(source: Source) -> bool:
    """`pull-or-build` builds what it could not pull; `pull` never builds.

    Whatever the failure: a refused pull (registry down, no credentials, a signature the
    policy rejects) also builds in `pull-or-build`, from this host's own inputs only.
    """
    return source is Source.PULL_OR_BUILD


# podman's words (containers/image) for a tag or repository the registry does not have.
_NOT_FOUND_WORDS = ("manifest unknown", "name unknown", "not found")


def classify_pull_error(message: str) -> PullFailure:
    """Tell "the registry has no such image" from every other failure of a pull."""
    lowered = message.lower()
    if "signature" in lowered or "rejected" in lowered:
        return PullFailure.REFUSED
    if any(words in lowered for words in _NOT_FOUND_WORDS):
        return PullFailure.NOT_FOUND
    return PullFailure.REFUSED


def pulled_from(image: ImageRecord, images: Iterable[ImageRecord]) -> str | None:
    """`<repository>@<manifest digest>` when the image came from a registry, else None.

    podman's own record: a pulled image keeps the registry name juice pulled it by
    (`<registry>/juice-<name>:id-<digest>`); an image built here has only localhost/
    names (a push names no local image). That name is the environment's it was pulled
    for, so the names of every record of the image (`images`: all environments') count:
    an environment of the same configuration shares the image under its own names.
    """
    names = {*image.references}
    for other in images:
        if other.image_id == image.image_id:
            names.update(other.references)
    for reference in sorted(names):
        repository, _, tag = reference.rpartition(":")
        if not repository.startswith(LOCAL_PREFIX) and tag.startswith(IDENTITY_TAG_PREFIX):
            return f"{repository}@{image.manifest_digest}" if image.manifest_digest else repository
    return None
