"""The verbs over kept images: `juice env history`, `juice env rollback`, `juice env gc`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from orangeqs.juice.host.files import exclusive_lock
from orangeqs.juice.host.images import ImageRecord, juice_images, tag
from orangeqs.juice.host.tools import render_tools, require_podman
from orangeqs.juice.orchestration.building import collect_garbage
from orangeqs.juice.orchestration.generations import (
    generations,
    previous_generation,
    target_of,
)
from orangeqs.juice.orchestration.locked_targets import locked_targets
from orangeqs.juice.orchestration.planning import make_plan
from orangeqs.juice.orchestration.remote import pulled_from
from orangeqs.juice.paths import HostPaths


@dataclass(frozen=True)
class GenerationEntry:
    """One kept image of an environment (`juice env history --json` prints these)."""

    environment: str
    image_id: str
    core_version: str
    digest: str
    created: int  # seconds since the epoch
    size: int  # bytes
    references: list[str]
    # The services of the installed core version run it.
    in_use: bool
    # Built from the files rendered now.
    current: bool
    containers: int
    # <registry repository>@<manifest digest> when it was pulled; None: built here.
    pulled_from: str | None = None


def history(paths: HostPaths, names: list[str]) -> list[GenerationEntry]:
    """Each selected environment's generations, newest first."""
    plan = make_plan(paths, render_tools(), names or None)
    images = juice_images(require_podman())
    entries = []
    for environment in plan.environments:
        target = target_of(environment)
        for image in generations(images, target.environment):
            entries.append(
                GenerationEntry(
                    environment=target.environment,
                    image_id=image.image_id,
                    core_version=image.core_version,
                    digest=image.digest,
                    created=image.created,
                    size=image.size,
                    references=list(image.references),
                    in_use=target.version_reference in image.references,
                    current=image.digest == target.digest,
                    containers=image.containers,
                    pulled_from=pulled_from(image),
                )
            )
    return entries


@dataclass(frozen=True)
class RollbackResult:
    """What `juice env rollback` did for one environment."""

    name: str
    # The name services run, now given to the previous generation.
    image: str
    rolled_back: bool
    image_id: str | None
    core_version: str | None
    digest: str | None
    detail: str


def rollback(
    paths: HostPaths, names: list[str], on_wait: Callable[[], None]
) -> list[RollbackResult]:
    """Point each environment's services at its previous generation, without building."""
    plan = make_plan(paths, render_tools(), names or None)
    podman = require_podman()
    results = []
    with locked_targets(paths, plan.environments, podman, on_wait) as targets:
        for environment, target, images in targets:
            previous = previous_generation(images, target.environment, target.version_reference)
            if previous is None:
                results.append(
                    RollbackResult(
                        target.environment,
                        target.version_reference,
                        False,
                        None,
                        None,
                        None,
                        "no earlier image is kept",
                    )
                )
                continue
            tag(podman, previous.image_id, target.version_reference)
            results.append(
                RollbackResult(
                    target.environment,
                    target.version_reference,
                    True,
                    previous.image_id,
                    previous.core_version,
                    previous.digest,
                    f"restart {environment.spec.run_unit} to run it"
                    if environment.spec.run_unit
                    else "",
                )
            )
    return results


def gc(paths: HostPaths, keep: int | None, on_wait: Callable[[], None]) -> list[ImageRecord]:
    """Remove the images beyond `keep` core versions (the configured number by default)."""
    tools = render_tools()
    plan = make_plan(paths, tools)
    tools = replace(tools, podman=require_podman())
    keep = keep or plan.loaded.settings.images.keep
    version = plan.environments[0].core.version
    with exclusive_lock(paths.lock_file, on_wait):
        return collect_garbage(
            tools,
            version,
            keep,
            protected_digests=[environment.digest for environment in plan.environments],
            on_removed=lambda image: None,
        )
