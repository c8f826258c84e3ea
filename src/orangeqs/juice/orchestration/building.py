"""Building environment images: through systemd units, or directly without systemd."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from orangeqs.juice._version import __version__
from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.environments.units import Tools
from orangeqs.juice.host import systemd
from orangeqs.juice.host.files import exclusive_lock
from orangeqs.juice.host.images import ImageRecord, juice_images, remove, tag
from orangeqs.juice.host.podman import PodmanError, run_logged
from orangeqs.juice.host.tools import render_tools, require_build_tools
from orangeqs.juice.orchestration.generations import (
    Action,
    Target,
    build_waves,
    decide,
    generations,
    select_removals,
    target_of,
    with_identity,
)
from orangeqs.juice.orchestration.journaling import journal_times, record_arrivals
from orangeqs.juice.orchestration.locking import (
    LockResult,
    lock_before_build,
    locked_build_failure,
    with_usable_locks,
)
from orangeqs.juice.orchestration.planning import make_plan
from orangeqs.juice.orchestration.remote import Source, should_pull
from orangeqs.juice.orchestration.writing import write_plan
from orangeqs.juice.paths import LOCK_NAME, HostPaths


class Mode(str, Enum):
    """How builds run."""

    AUTO = "auto"
    SYSTEMD = "systemd"
    DIRECT = "direct"


class ModeError(RuntimeError):
    """The requested mode cannot work on this host."""


def choose_mode(requested: Mode, paths: HostPaths) -> tuple[Mode, str]:
    """The mode to use and why."""
    running = systemd.systemd_running()
    if requested is Mode.SYSTEMD:
        if not running:
            raise ModeError("--mode systemd: this host was not booted with systemd")
        return Mode.SYSTEMD, "requested"
    if requested is Mode.DIRECT:
        return Mode.DIRECT, "requested"
    if not running:
        return Mode.DIRECT, "systemd is not running on this host"
    if paths.root != Path("/"):
        return Mode.DIRECT, f"paths are moved under {paths.root}, where systemd does not look"
    return Mode.SYSTEMD, "systemd is running"


class Outcome(str, Enum):
    """What happened to one environment in `juice env build`."""

    BUILT = "built"
    FAILED = "failed"
    UP_TO_DATE = "up to date"  # its image exists and services name it: no podman build
    REUSED = "reused"  # its image existed: services name it again, no podman build
    PULLED = "pulled"  # from [images] registry (orchestration/pulling.py), no podman build


@dataclass(frozen=True)
class BuildResult:
    """How one environment's build went."""

    name: str
    outcome: Outcome
    # The image services of the installed core version run (repository:version).
    image: str
    digest: str
    # Where to read the build's output: a journalctl command or a log file ("" without a build).
    log: str
    retry: str
    detail: str
    seconds: float
    # The registry image it was pulled from (repository@manifest digest), or whose pull
    # failed (its tag); "" when no pull was tried.
    pulled_from: str = ""

    @property
    def succeeded(self) -> bool:
        """True unless a build (or pull) ran and failed."""
        return self.outcome is not Outcome.FAILED


@dataclass(frozen=True)
class BuildReport:
    """The result of `juice env build`: one result per environment, and the images removed."""

    core_version: str
    results: list[BuildResult]
    removed: list[ImageRecord]
    # Per failed environment, the core version of the newest image it still has ("" if none).
    fallbacks: dict[str, str]
    # The locks made, changed or restored before building (and those that failed).
    locks: list[LockResult] = field(default_factory=list)
    # One line on why pulls missed and what to do ("" when there is nothing to say).
    hint: str = ""

    @property
    def succeeded(self) -> bool:
        """True when no build failed."""
        return all(result.succeeded for result in self.results)


class BuildReporter(Protocol):
    """Receives progress; the CLI shows it, tests record it."""

    def mode(self, mode: Mode, reason: str) -> None: ...
    def waiting_for_lock(self, lock: Path) -> None: ...
    def removed(self, path: str) -> None: ...
    def left_alone(self, path: str, why: str) -> None: ...
    def planned(self, names: list[str], skipped: list[BuildResult]) -> None: ...
    def started(self, name: str) -> None: ...
    def finished(self, result: BuildResult) -> None: ...
    def removed_image(self, image: ImageRecord) -> None: ...
    def pulling(self, name: str, reference: str) -> None: ...
    def pulled(self, result: BuildResult) -> None: ...
    def not_pulled(self, name: str, reason: str, building: bool) -> None: ...
    def locked(self, result: LockResult) -> None: ...


@dataclass(frozen=True)
class BuildRequest:
    """What to build: the named environments, or all of them (no names, or build_all)."""

    names: list[str]
    build_all: bool = False
    jobs: int = 2
    mode: Mode = Mode.AUTO
    # Seconds to wait for another juice process's lock; None waits without limit.
    lock_timeout: float | None = None
    # Run podman build even when an image with the same identity exists.
    force: bool = False


def build(paths: HostPaths, request: BuildRequest, reporter: BuildReporter) -> BuildReport:
    """Render, write the units, reuse or build every selected environment, then remove
    superseded generations; every build runs to its end."""
    # One lock from before the configuration is read until the last write: a process
    # that read an older configuration can never write over a newer one's files.
    # Within it, a bad configuration is still reported (exit 2) before podman is looked
    # for or anything but the lock file is written. When the build tools exist,
    # require_build_tools() finds the very paths the plan was rendered with.
    with exclusive_lock(
        paths.lock_file,
        lambda: reporter.waiting_for_lock(paths.lock_file),
        request.lock_timeout,
    ):
        plan = make_plan(paths, render_tools(), request.names or None)
        tools = require_build_tools()
        mode, reason = choose_mode(request.mode, paths)
        # Written first as the locks are now: a host that cannot take the files stops
        # here, before any lock changes. An environment whose lock cannot be used is
        # not written; it fails on its own below.
        report = write_plan(with_usable_locks(plan), plan.paths)
        # Builds install exactly a lock: lock what has none or changed, then write the
        # files of the new locks.
        lock_results: list[LockResult] = []

        def on_lock(result: LockResult) -> None:
            lock_results.append(result)
            reporter.locked(result)

        # A host that only pulls takes its locks from the build host, as its images.
        pull_only = Source(plan.loaded.settings.images.source) is Source.PULL
        locked, lock_failures = lock_before_build(plan, tools.podman, on_lock, not pull_only)
        if locked is not plan:
            plan = locked
            write_plan(plan, plan.paths)
        for path in report.removed:
            reporter.removed(path)
        for path, why in report.left_alone:
            reporter.left_alone(path, why)
        for error in report.removal_failed:  # the new files are in place: build on
            reporter.left_alone(error.path, f"could not remove it: {error.reason}")
        if mode is Mode.SYSTEMD:
            # Always, so systemd also learns of unit changes when nothing is rebuilt.
            systemd.daemon_reload()
        reporter.mode(mode, reason)
        # A masked build unit is the administrator's word: that environment is not built.
        buildable = [env for env in plan.environments if env.spec.name not in report.masked]
        images = juice_images(tools.podman)
        kept = [_lock_failed(environment, detail) for environment, detail in lock_failures]
        targets: list[RenderedEnvironment] = []
        for environment in buildable:
            target = target_of(environment)
            action = decide(target, images, request.force)
            if action is Action.BUILD:
                targets.append(environment)
                continue
            existing = with_identity(images, target)
            outcome = Outcome.REUSED if action is Action.REUSE else Outcome.UP_TO_DATE
            detail = ""
            if action is Action.REUSE and existing is not None:
                # Services of this version run the existing image (maybe one built for
                # an environment of the same configuration) again: no build.
                try:
                    _name_image(tools, existing.image_id, target)
                except PodmanError as error:  # this environment fails; the others go on
                    outcome, detail = Outcome.FAILED, str(error)
            kept.append(_without_build(environment, target, outcome, detail))
        images_settings = plan.loaded.settings.images
        hint = ""
        if images_settings.registry and should_pull(Source(images_settings.source)):
            # Here, not at the top: pulling.py builds on this module's result types.
            from orangeqs.juice.orchestration.pulling import pull_missing

            step = pull_missing(
                tools.podman, images_settings.registry, Source(images_settings.source),
                targets, reporter, lock_results, plan.paths.locks_dir,
            )  # fmt: skip
            kept, targets, hint = kept + step.results, step.to_build, step.hint
            # One not in the registry under its own name, whose identity was pulled for
            # an environment of the same configuration, gets that image: no build.
            pulled = {result.digest: result for result in step.results if result.succeeded}
            for environment in [env for env in targets if env.digest in pulled]:
                targets.remove(environment)
                shared = _share_image(tools, environment, pulled[environment.digest])
                reporter.pulled(shared)
                kept.append(shared)
        reporter.planned([env.spec.name for env in targets], kept)
        run_one = _systemd_build if mode is Mode.SYSTEMD else _direct_build

        def job(environment: RenderedEnvironment) -> BuildResult:
            reporter.started(environment.spec.name)
            result = _timed(environment, paths, run_one)
            reporter.finished(result)
            return result

        waves = build_waves(targets)
        built = [job(environment) for environment in waves.alone]
        with ThreadPoolExecutor(max_workers=max(1, request.jobs)) as pool:
            built += list(pool.map(job, waves.together))
        by_name = {result.name: result for result in built}
        for environment, builder in waves.same_image:
            reporter.started(environment.spec.name)
            result = _share_image(tools, environment, by_name[builder.spec.name])
            reporter.finished(result)
            built.append(result)
        order = {name: index for index, name in enumerate(plan.all_names)}
        results = sorted(kept + built, key=lambda result: order[result.name])
        version = plan.environments[0].core.version if plan.environments else __version__
        after, removed = housekeeping(
            tools,
            paths,
            plan.environments,
            plan.loaded.settings.images.keep,
            on_removed=reporter.removed_image,
            on_problem=reporter.left_alone,
        )
        failed = [result.name for result in results if not result.succeeded]
        got = journal_times(paths, failed)
        fallbacks = {name: _newest_core_version(after, name, got.get(name)) for name in failed}
        return BuildReport(version, results, removed, fallbacks, lock_results, hint)


def _newest_core_version(
    images: list[ImageRecord], environment: str, got: dict[str, float] | None
) -> str:
    newest = generations(images, environment, got)
    return newest[0].core_version if newest else ""


def housekeeping(
    tools: Tools,
    paths: HostPaths,
    environments: Sequence[RenderedEnvironment],
    keep: int,
    on_removed: Callable[[ImageRecord], None],
    on_problem: Callable[[str, str], None],
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """After the builds (and for `juice env gc`), with one listing of juice's images:
    write down what each environment runs now (its journal), then remove the generations
    beyond `keep` core versions (never one a container uses, nor one rendered now).

    One process decides for every environment: no prune races a build, and the layers of
    every kept image stay as the build cache. Returns the images left, and those removed.
    """
    try:
        images = juice_images(tools.podman)
    except PodmanError:
        return [], []  # housekeeping only: the builds themselves are done
    targets = [target_of(environment) for environment in environments]
    for journal, problem in record_arrivals(paths, targets, images):
        on_problem(str(journal), problem)
    version = environments[0].core.version if environments else __version__
    protected = [environment.digest for environment in environments]
    got = journal_times(paths, {image.environment for image in images})
    removed = []
    for image in select_removals(images, version, keep, protected, got):
        if remove(tools.podman, image) is None:
            removed.append(image)
            on_removed(image)
    gone = {(image.image_id, image.environment) for image in removed}
    left = [image for image in images if (image.image_id, image.environment) not in gone]
    return left, removed


def _name_image(tools: Tools, image: str, target: Target) -> None:
    """Give an image the target environment's identity and version names."""
    tag(tools.podman, image, target.identity_reference, target.version_reference)


def _share_image(
    tools: Tools, environment: RenderedEnvironment, builder: BuildResult
) -> BuildResult:
    """The result of an environment whose image `builder`'s build (or pull) made (the
    same configuration, the same identity): its names on that image, no build of its own."""
    target = target_of(environment)
    name = environment.spec.name
    outcome, detail = builder.outcome, f"the image {builder.outcome.value} for {builder.name}"
    if not builder.succeeded:
        outcome, detail = Outcome.FAILED, f"the same image as {builder.name}, which failed"
    else:
        try:
            _name_image(tools, builder.image, target)
        except PodmanError as error:
            outcome, detail = Outcome.FAILED, str(error)
    return BuildResult(
        name,
        outcome,
        target.version_reference,
        target.digest,
        builder.log,
        retry_command(name),
        detail,
        0.0,
        pulled_from=builder.pulled_from,
    )


def _without_build(
    environment: RenderedEnvironment, target: Target, outcome: Outcome, detail: str = ""
) -> BuildResult:
    name = environment.spec.name
    return BuildResult(
        name, outcome, target.version_reference, target.digest, "", retry_command(name), detail,
        0.0,
    )  # fmt: skip


def _lock_failed(environment: RenderedEnvironment, detail: str) -> BuildResult:
    target = target_of(environment)
    name = environment.spec.name
    return BuildResult(
        name, Outcome.FAILED, target.version_reference, target.digest, "", retry_command(name),
        detail, 0.0,
    )  # fmt: skip


def retry_command(name: str) -> str:
    """The command that builds one environment again."""
    return f"juice env build {name}"


def _timed(
    environment: RenderedEnvironment,
    paths: HostPaths,
    run_one: Callable[[RenderedEnvironment, HostPaths], tuple[bool, str, str]],
) -> BuildResult:
    start = time.monotonic()
    succeeded, log, detail = run_one(environment, paths)
    name = environment.spec.name
    target = target_of(environment)
    return BuildResult(
        name,
        Outcome.BUILT if succeeded else Outcome.FAILED,
        target.version_reference,
        target.digest,
        log,
        retry_command(name),
        detail,
        time.monotonic() - start,
    )


def _systemd_build(environment: RenderedEnvironment, paths: HostPaths) -> tuple[bool, str, str]:
    unit = environment.spec.build_unit
    succeeded, words = systemd.start_and_wait(unit)
    return succeeded, f"journalctl -u {unit}", words


def _direct_build(environment: RenderedEnvironment, paths: HostPaths) -> tuple[bool, str, str]:
    log = paths.build_log(environment.spec.name)
    try:
        returncode = run_logged(environment.build.build, log)
    except OSError as error:
        # E.g. the log directory cannot be written: this build fails, the others go on.
        return False, str(log), f"could not run the build: {error}"
    detail = "" if returncode == 0 else f"podman build exited with status {returncode}"
    if returncode != 0 and environment.locked:
        detail += locked_build_failure(log, paths.lock_dir(environment.spec.name) / LOCK_NAME)
    return returncode == 0, str(log), detail
