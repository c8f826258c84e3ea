"""`juice env push`: each environment's current image to `[images] registry`.

The image goes up under both tags a lab host may ask for: the identity
(`id-<digest>`, what `juice env build` in a pull mode pulls) and the core version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orangeqs.juice.host.registry import RegistryError, push
from orangeqs.juice.host.tools import render_tools, require_podman
from orangeqs.juice.orchestration.generations import with_identity
from orangeqs.juice.orchestration.locked_targets import locked_targets
from orangeqs.juice.orchestration.planning import make_plan
from orangeqs.juice.orchestration.remote import remote_target
from orangeqs.juice.paths import HostPaths


class NoRegistryError(RuntimeError):
    """The configuration names no registry to push to."""


@dataclass(frozen=True)
class PushResult:
    """What `juice env push` did for one environment (its --json prints these)."""

    name: str
    pushed: bool
    image_id: str | None
    # The registry's names of it: the identity tag, then the core version's tag.
    references: list[str]
    # The digest of the manifest the registry holds ("" when not pushed).
    manifest_digest: str
    # The key whose signature covers the identity tag (what lab hosts pull).
    signed_by: str | None
    detail: str


def push_images(
    paths: HostPaths,
    names: list[str],
    sign_by: str | None,
    on_wait: Callable[[], None],
    on_push: Callable[[str, str], None],
) -> list[PushResult]:
    """Push each selected environment's image built from the files rendered now."""
    plan = make_plan(paths, render_tools(), names or None)
    registry = plan.loaded.settings.images.registry
    if registry is None:
        files = ", ".join(str(path) for path in plan.loaded.files)
        raise NoRegistryError(
            f"no registry to push to: set [images] registry = 'HOST[:PORT]/PATH' in {files}"
        )
    podman = require_podman()
    results = []
    # The lock: no build or gc moves or removes an image while it is pushed.
    with locked_targets(paths, plan.environments, podman, on_wait) as locked:
        images = locked.images
        for _, target in locked.environments:
            remote = remote_target(registry, target)
            references = [remote.identity_reference, remote.version_reference]
            image = with_identity(images, target)
            if image is None:
                detail = (
                    f"no image built from the files rendered now ({target.identity_reference}); "
                    f"run 'juice env build {target.environment}' first"
                )
                results.append(
                    PushResult(target.environment, False, None, references, "", sign_by, detail)
                )
                continue
            pushed, digest, detail = True, "", ""
            # The identity last, and only it signed: a signed push writes the manifest's
            # only lookaside signature, naming the tag pushed, and lab hosts pull the
            # identity (a signature for the version tag would not verify it).
            for reference, signer in ((references[1], None), (references[0], sign_by)):
                on_push(target.environment, reference)
                try:
                    digest = push(podman, image.image_id, reference, signer)
                except RegistryError as error:
                    pushed, digest = False, ""
                    detail = f"podman push to {reference} failed: {error}"
                    break
            results.append(
                PushResult(
                    target.environment, pushed, image.image_id, references, digest, sign_by, detail
                )
            )
    return results
