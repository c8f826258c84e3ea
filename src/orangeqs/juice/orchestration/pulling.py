"""The pull step of `juice env build` in `[images] source = "pull"` or `"pull-or-build"`.

For each environment that has no image of its identity, pull
`<registry>/juice-<name>:id-<digest>`, check that it is that identity, and give it the
local names a build would have given it (`localhost/juice-<name>:id-<digest>` and
`:<core version>`): run units, generations, rollback and gc then work unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.environments.units import DIGEST_LABEL
from orangeqs.juice.host.images import tag
from orangeqs.juice.host.podman import PodmanError
from orangeqs.juice.host.registry import RegistryError, forget, pull
from orangeqs.juice.orchestration.building import BuildResult, Outcome, retry_command
from orangeqs.juice.orchestration.generations import target_of
from orangeqs.juice.orchestration.locking import LockOutcome, LockResult
from orangeqs.juice.orchestration.remote import (
    PullFailure,
    Source,
    builds_when_not_pulled,
    classify_pull_error,
    remote_target,
)


class PullReporter(Protocol):
    """Progress of the pull step (the build reporter has these too)."""

    def pulling(self, name: str, reference: str) -> None: ...
    def pulled(self, result: BuildResult) -> None: ...
    def not_pulled(self, name: str, reason: str, building: bool) -> None: ...


@dataclass(frozen=True)
class PullStep:
    """What the pull step did: results of pulls (succeeded or failed) and what to build."""

    results: list[BuildResult]
    to_build: list[RenderedEnvironment]
    # Why pulls missed and what to do, in one line ("" when there is nothing to say).
    hint: str = ""


def locks_made_here_hint(not_found: Sequence[str], made_here: Collection[str], locks: Path) -> str:
    """One line for a run whose pulls missed for environments this host locked itself in
    this run (their identities are of this host's locks, not the build host's), else "".
    """
    names = [name for name in not_found if name in made_here]
    if not names:
        return ""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (
        f"nothing in the registry for {shown}, whose locks this host made in this run: an "
        "image's identity includes its lock, so this host asked for images the build host "
        f"never built. Give this host the build host's locks ({locks}/<name>/; "
        "docs/locks.md, a second host) and run 'juice env build' again to pull them"
    )


def pull_missing(
    podman: Path,
    registry: str,
    source: Source,
    environments: Sequence[RenderedEnvironment],
    reporter: PullReporter,
    locks: Sequence[LockResult],
    locks_dir: Path,
) -> PullStep:
    """Pull each environment's image; in `pull-or-build`, those not pulled are built.

    `locks`: what this run did to the locks, to say once why pulls missed when this host
    made the locks itself (then the identities it asks for are not the build host's)."""
    step = PullStep([], [])
    not_found: list[str] = []
    # Identities pulled in this step: an environment of the same configuration gets the
    # image by its names, without asking the registry (which may hold it under only one).
    pulled_by_digest: dict[str, tuple[str, str]] = {}
    for environment in environments:
        target = target_of(environment)
        remote = remote_target(registry, target)
        start = time.monotonic()
        if target.digest in pulled_by_digest:
            image_id, origin = pulled_by_digest[target.digest]
            try:
                tag(podman, image_id, target.identity_reference, target.version_reference)
                outcome, detail = Outcome.PULLED, ""
            except PodmanError as error:
                outcome, detail = Outcome.FAILED, str(error)
            result = BuildResult(
                target.environment, outcome, target.version_reference, target.digest, "",
                retry_command(target.environment), detail, time.monotonic() - start,
                pulled_from=origin,
            )  # fmt: skip
            reporter.pulled(result)
            step.results.append(result)
            continue
        reporter.pulling(target.environment, remote.identity_reference)
        try:
            pulled = pull(podman, remote.identity_reference)
            if pulled.labels.get(DIGEST_LABEL) != target.digest:
                # Never run an image as this identity unless it was built from it.
                forget(podman, remote.identity_reference)
                raise RegistryError(
                    f"the registry's image carries digest "
                    f"{pulled.labels.get(DIGEST_LABEL) or 'none'}, not {target.digest}"
                )
            tag(podman, pulled.image_id, target.identity_reference, target.version_reference)
        except (RegistryError, PodmanError) as error:
            failure = classify_pull_error(str(error))
            reason = f"{remote.identity_reference}: {error}"
            if failure is PullFailure.NOT_FOUND:
                reason = f"{remote.identity_reference} is not in the registry"
                not_found.append(target.environment)
            building = builds_when_not_pulled(source)
            reporter.not_pulled(target.environment, reason, building)
            if building:
                step.to_build.append(environment)
                continue
            result = BuildResult(
                target.environment,
                Outcome.FAILED,
                target.version_reference,
                target.digest,
                "",
                retry_command(target.environment),
                f"could not pull {reason}",
                time.monotonic() - start,
                pulled_from=remote.identity_reference,
            )
        else:
            result = BuildResult(
                target.environment,
                Outcome.PULLED,
                target.version_reference,
                target.digest,
                "",
                retry_command(target.environment),
                "",
                time.monotonic() - start,
                pulled_from=f"{remote.repository}@{pulled.manifest_digest}",
            )
            pulled_by_digest[target.digest] = (pulled.image_id, result.pulled_from)
        reporter.pulled(result)
        step.results.append(result)
    made_here = [lock.name for lock in locks if lock.outcome in _MADE]
    return replace(step, hint=locks_made_here_hint(not_found, made_here, locks_dir))


# Locks uv made or changed in this run (not one restored, nor one that stayed the same).
_MADE = (LockOutcome.CREATED, LockOutcome.UPDATED)
