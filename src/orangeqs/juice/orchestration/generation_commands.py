"""The verbs over kept images: `juice env history`, `juice env rollback`, `juice env gc`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from orangeqs.juice.host.files import exclusive_lock
from orangeqs.juice.host.images import ImageRecord, juice_images, tag
from orangeqs.juice.host.tools import render_tools, require_podman
from orangeqs.juice.orchestration.building import housekeeping
from orangeqs.juice.orchestration.generations import (
    generations,
    previous_generation,
    target_of,
)
from orangeqs.juice.orchestration.journaling import (
    journal_times,
    pending_times,
    record,
    record_arrivals,
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
    # When the environment last got it (seconds since the epoch), by its journal; None:
    # not recorded (then it is ordered by `created`). Entries are ordered by this.
    since: int | None = None


def history(paths: HostPaths, names: list[str]) -> list[GenerationEntry]:
    """Each selected environment's generations, the one it got last first (the order
    rollback and gc use)."""
    plan = make_plan(paths, render_tools(), names or None)
    images = juice_images(require_podman())
    targets = [target_of(environment) for environment in plan.environments]
    got = pending_times(paths, targets, images)
    entries = []
    for target in targets:
        mine = got.get(target.environment, {})
        for image in generations(images, target.environment, mine):
            since = mine.get(image.image_id)
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
                    pulled_from=pulled_from(image, images),
                    since=_seconds(since),
                )
            )
    return entries


def _seconds(since: float | None) -> int | None:
    # An arrival not yet written (inf) is the services' image since the last build.
    if since is None or since == float("inf"):
        return None
    return int(since)


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
    with locked_targets(paths, plan.environments, podman, on_wait) as locked:
        images = locked.images
        targets = [target for _, target in locked.environments]
        # What the services ran since the last build (e.g. after a package downgrade) is
        # the generation rolled back from: written first, so the order below knows it.
        unrecorded = dict(record_arrivals(paths, targets, images))
        got = journal_times(paths, [target.environment for target in targets])
        for environment, target in locked.environments:
            previous = previous_generation(
                images, target.environment, target.version_reference, got.get(target.environment)
            )
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
            # So that a second rollback goes back to where this one started.
            problem = record(paths, target.environment, previous) or unrecorded.get(
                paths.generations_file(target.environment)
            )
            restart = (
                f"restart {environment.spec.run_unit} to run it"
                if environment.spec.run_unit
                else ""
            )
            results.append(
                RollbackResult(
                    target.environment,
                    target.version_reference,
                    True,
                    previous.image_id,
                    previous.core_version,
                    previous.digest,
                    "; ".join(part for part in (restart, problem or "") if part),
                )
            )
    return results


def gc(
    paths: HostPaths,
    keep: int | None,
    on_wait: Callable[[], None],
    on_problem: Callable[[str, str], None] = lambda path, problem: None,
) -> list[ImageRecord]:
    """Remove the images beyond `keep` core versions (the configured number by default).
    `on_problem(path, reason)`: a journal that could not be written (gc goes on)."""
    tools = render_tools()
    plan = make_plan(paths, tools)
    tools = replace(tools, podman=require_podman())
    keep = keep or plan.loaded.settings.images.keep
    with exclusive_lock(paths.lock_file, on_wait):
        # What the services run since the last build is the generation gc keeps a step
        # back from (journal problems only change the order: gc goes on).
        _, removed = housekeeping(
            tools,
            paths,
            plan.environments,
            keep,
            on_removed=lambda image: None,
            on_problem=on_problem,
        )
        return removed
