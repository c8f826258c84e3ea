"""The environments' targets beside juice's images, under the host's juice lock.

For the verbs that act on kept images without building (`juice env push`,
`juice env rollback`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.host.files import exclusive_lock
from orangeqs.juice.host.images import ImageRecord, juice_images
from orangeqs.juice.orchestration.generations import Target, target_of
from orangeqs.juice.paths import HostPaths


@dataclass(frozen=True)
class LockedTargets:
    """juice's images, and each environment with its target."""

    images: list[ImageRecord]
    environments: list[tuple[RenderedEnvironment, Target]]


@contextmanager
def locked_targets(
    paths: HostPaths,
    environments: Sequence[RenderedEnvironment],
    podman: Path,
    on_wait: Callable[[], None],
) -> Iterator[LockedTargets]:
    """Each environment with its target, and juice's images listed once the lock is held.

    The lock is held until the block ends, so no build or gc moves or removes an image
    between the listing and what the caller does with it (a push, a tag).
    """
    with exclusive_lock(paths.lock_file, on_wait):
        images = juice_images(podman)
        yield LockedTargets(images, [(env, target_of(env)) for env in environments])
