"""Building environment images: through systemd units, or directly without systemd."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.environments.units import Tools, image_tag
from orangeqs.juice.host import systemd
from orangeqs.juice.host.files import exclusive_lock
from orangeqs.juice.host.podman import PodmanError, image_tags, run_logged, run_quietly, untag
from orangeqs.juice.host.tools import render_tools, require_build_tools
from orangeqs.juice.orchestration.planning import make_plan
from orangeqs.juice.orchestration.status import ImageState, image_status
from orangeqs.juice.orchestration.writing import write_plan
from orangeqs.juice.paths import HostPaths


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


@dataclass(frozen=True)
class BuildResult:
    """How one environment's build went."""

    name: str
    succeeded: bool
    # Where to read the build's output: a journalctl command or a log file.
    log: str
    retry: str
    detail: str
    seconds: float


class BuildReporter(Protocol):
    """Receives progress; the CLI shows it, tests record it."""

    def mode(self, mode: Mode, reason: str) -> None: ...
    def waiting_for_lock(self, lock: Path) -> None: ...
    def removed(self, path: str) -> None: ...
    def left_alone(self, path: str, why: str) -> None: ...
    def planned(self, names: list[str], skipped: list[str]) -> None: ...
    def started(self, name: str) -> None: ...
    def finished(self, result: BuildResult) -> None: ...


@dataclass(frozen=True)
class BuildRequest:
    """What to build: the named environments, all of them, or (neither) the out-of-date."""

    names: list[str]
    build_all: bool = False
    jobs: int = 2
    mode: Mode = Mode.AUTO
    # Seconds to wait for another juice process's lock; None waits without limit.
    lock_timeout: float | None = None


def build(paths: HostPaths, request: BuildRequest, reporter: BuildReporter) -> list[BuildResult]:
    """Render, write the units, and build; every selected build runs to its end."""
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
        report = write_plan(plan, plan.paths)
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
        targets = buildable
        if not request.names and not request.build_all:
            targets = [env for env in targets if not _up_to_date(env, tools)]
        skipped = [env.spec.name for env in buildable if env not in targets]
        reporter.planned([env.spec.name for env in targets], skipped)
        if not targets:
            return []
        run_one = _systemd_build if mode is Mode.SYSTEMD else _direct_build

        def job(environment: RenderedEnvironment) -> BuildResult:
            reporter.started(environment.spec.name)
            result = _timed(environment, paths, run_one)
            if result.succeeded:
                _drop_superseded_images(environment, tools)
            reporter.finished(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, request.jobs)) as pool:
            return list(pool.map(job, targets))


def _drop_superseded_images(environment: RenderedEnvironment, tools: Tools) -> None:
    """Untag the image of an older core version, then prune as the unit does.

    Each build is also tagged with its core version; without this, the image of every
    earlier version would keep its tag, never become dangling, and fill the disk one
    image per environment per upgrade.
    """
    spec = environment.spec
    keep = {f"{spec.image}:latest", f"{spec.image}:{image_tag(environment.core.version)}"}
    try:
        stale = [ref for ref in image_tags(tools.podman, spec.image) if ref not in keep]
    except PodmanError:
        return  # housekeeping only: the build itself succeeded
    if stale:
        untag(tools.podman, stale)
        run_quietly(environment.build.prune)


def _up_to_date(environment: RenderedEnvironment, tools: Tools) -> bool:
    return image_status(environment, tools).state is ImageState.UP_TO_DATE


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
    return BuildResult(name, succeeded, log, retry_command(name), detail, time.monotonic() - start)


def _systemd_build(environment: RenderedEnvironment, paths: HostPaths) -> tuple[bool, str, str]:
    unit = environment.spec.build_unit
    succeeded, words = systemd.start_and_wait(unit)
    return succeeded, f"journalctl -u {unit}", words


def _direct_build(environment: RenderedEnvironment, paths: HostPaths) -> tuple[bool, str, str]:
    log = paths.build_log(environment.spec.name)
    try:
        returncode = run_logged(environment.build.build, environment.build.prune, log)
    except OSError as error:
        # E.g. the log directory cannot be written: this build fails, the others go on.
        return False, str(log), f"could not run the build: {error}"
    detail = "" if returncode == 0 else f"podman build exited with status {returncode}"
    return returncode == 0, str(log), detail
