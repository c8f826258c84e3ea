"""`juice env lock`, and the locking `juice env build` does before it builds.

uv resolves inside a build of the environment's own image up to its Python packages
(host/locks.py): the same base image, system packages, Python, volumes, build
arguments and podman options as the image build, so the lock sees exactly the network,
index settings and wheelhouse the build will see (an air-gapped host locks from its
wheelhouse as it builds from it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from orangeqs.juice.environments.locks import (
    Change,
    LockDiff,
    LockFormatError,
    LockRun,
    Pin,
    StoredLock,
    core_required_by_packages,
    diff_locks,
    lock_build_argv,
    lock_containerfile,
    lock_needed,
    lock_request_key,
    previous_fits,
    uv_failure,
    uv_lock_arguments,
)
from orangeqs.juice.environments.mounts import BUILD_UV
from orangeqs.juice.environments.rendering import (
    CONTAINERFILE,
    RenderedEnvironment,
)
from orangeqs.juice.host.files import HostError, exclusive_lock, host_error, write_all
from orangeqs.juice.host.locks import (
    export_in_work_folder,
    prepare_work_folder,
    restore_previous,
    run_lock_build,
    save_lock,
    work_folder,
)
from orangeqs.juice.host.tools import render_tools, require_build_tools
from orangeqs.juice.orchestration.planning import Plan, make_plan
from orangeqs.juice.orchestration.remote import Source
from orangeqs.juice.orchestration.writing import juice_directories
from orangeqs.juice.paths import LOCK_NAME, HostPaths
from orangeqs.juice.settings import ConfigError, Problem


class LockOutcome(str, Enum):
    """What happened to one environment's lock."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    RESTORED = "restored"  # the lock made for this configuration before, again
    CURRENT = "current"  # --check: the lock satisfies the configuration
    STALE = "stale"  # --check: uv would change it
    MISSING = "missing"  # --check: there is no lock
    FAILED = "failed"


@dataclass(frozen=True)
class LockResult:
    """One environment's lock after `juice env lock` (`--json` prints these)."""

    name: str
    lock: str  # its path
    outcome: LockOutcome
    added: list[Pin] = field(default_factory=list)
    removed: list[Pin] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    detail: str = ""

    @property
    def succeeded(self) -> bool:
        """False when locking failed, or a check found the lock missing or stale."""
        return self.outcome not in (LockOutcome.FAILED, LockOutcome.STALE, LockOutcome.MISSING)

    def diff(self) -> LockDiff:
        """What changed in the lock."""
        return LockDiff(self.added, self.removed, self.changed)


@dataclass(frozen=True)
class LockRequest:
    """What `juice env lock` does: for the named environments (no names: all)."""

    names: list[str]
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    check: bool = False
    lock_timeout: float | None = None


def lock(
    paths: HostPaths,
    request: LockRequest,
    on_wait: Callable[[], None],
    on_result: Callable[[LockResult], None],
) -> list[LockResult]:
    """Lock (or check) each selected environment, one after the other."""
    with exclusive_lock(paths.lock_file, on_wait, request.lock_timeout):
        plan = make_plan(paths, render_tools(), request.names or None)
        if not request.check and plan.loaded.settings.images.source == Source.PULL.value:
            # A lock of this host's making would change every image's identity, and the
            # registry holds the images of the build host's locks.
            raise ConfigError(
                [
                    Problem(
                        plan.loaded.origin("images.source"),
                        "images.source",
                        '"pull": this host takes its locks from the build host, as its '
                        "images; lock there and copy the locks (docs/locks.md), or use "
                        "--check",
                    )
                ]
            )
        tools = require_build_tools()
        arguments = uv_lock_arguments(request.upgrade, request.upgrade_packages, request.check)
        resolved: Resolved = {}
        results = []
        for environment in plan.environments:
            name = environment.spec.name
            lock_path = plan.paths.lock_dir(name) / LOCK_NAME
            stored = plan.locks[name]
            if request.check and stored.lock is None:
                result = LockResult(name, str(lock_path), LockOutcome.MISSING, detail="no lock")
            elif request.check:
                result = _check(environment, plan, tools.podman, arguments)
            else:
                result = resolve(environment, plan, tools.podman, arguments, resolved)
            on_result(result)
            results.append(result)
        return results


def _check(
    environment: RenderedEnvironment, plan: Plan, podman: Path, arguments: list[str]
) -> LockResult:
    name = environment.spec.name
    lock_path = plan.paths.lock_dir(name) / LOCK_NAME
    stored = plan.locks[name]
    if stored.problem:
        return LockResult(name, str(lock_path), LockOutcome.STALE, detail=stored.problem)
    run = _run_uv_lock(environment, plan, podman, arguments, stored.lock, environment.lock_project)
    if run.lock is not None:
        return LockResult(name, str(lock_path), LockOutcome.CURRENT)
    outcome = LockOutcome.STALE if run.uv_refused else LockOutcome.FAILED
    return LockResult(name, str(lock_path), outcome, detail=run.reason)


# Lock request key -> what uv gave: environments of one configuration are locked once
# per command.
Resolved = dict[str, LockRun]


def resolve(
    environment: RenderedEnvironment,
    plan: Plan,
    podman: Path,
    arguments: list[str],
    resolved: Resolved | None = None,
) -> LockResult:
    """Run uv lock for one environment (keeping the pins of its lock unless `arguments`
    ask for upgrades), save the new lock, and say what changed. An identical request
    already in `resolved` is not run again."""
    name = environment.spec.name
    lock_dir = plan.paths.lock_dir(name)
    lock_path = lock_dir / LOCK_NAME
    stored = plan.locks[name]
    if stored.problem:
        return _failed(name, lock_path, stored.problem)
    resolved = {} if resolved is None else resolved
    key = lock_request_key(
        environment.files[CONTAINERFILE],
        environment.build.build,
        environment.full_project,
        stored.lock,
        arguments,
    )
    if key not in resolved:
        resolved[key] = _lock_both_ways(environment, plan, podman, arguments, stored.lock)
    run = resolved[key]
    new, export, reason, pyproject = run.lock, run.export, run.reason, run.project
    if new is None or pyproject is None:
        return _failed(name, lock_path, reason)
    try:
        diff = diff_locks(stored.lock, new)
    except LockFormatError as error:
        return _failed(name, lock_path, str(error))
    if stored.lock != new or stored.pyproject != pyproject:
        # A new configuration: the lock of the one before stays, to go back to.
        keep_previous = stored.lock is not None and stored.pyproject not in (None, pyproject)
        try:
            save_lock(lock_dir, new, pyproject, export, keep_previous)
        except HostError as error:
            return _failed(name, lock_path, str(error))
        except OSError as error:
            return _failed(name, lock_path, str(host_error(error)))
    outcome = LockOutcome.UPDATED if stored.lock != new else LockOutcome.UNCHANGED
    if stored.lock is None:
        outcome = LockOutcome.CREATED
    return LockResult(name, str(lock_path), outcome, diff.added, diff.removed, diff.changed)


def _failed(name: str, lock_path: Path, reason: str) -> LockResult:
    return LockResult(name, str(lock_path), LockOutcome.FAILED, detail=reason)


def _lock_both_ways(
    environment: RenderedEnvironment,
    plan: Plan,
    podman: Path,
    arguments: list[str],
    lock: str | None,
) -> LockRun:
    """The lock, made for the project with the core first: uv resolves the core's place
    among the packages (a lab package may require it, and only a project that has the
    core, from the package's wheel, resolves that against the wheel). When no locked
    package requires the core and it is separable, the lock is made again without it
    (every pin kept, no upgrade): a new core version with the same requirements then
    keeps the lock and runs no uv."""
    full = _run_uv_lock(environment, plan, podman, arguments, lock, environment.full_project)
    if full.lock is None or not environment.core_separable or core_required_by_packages(full.lock):
        return full
    without_core = _run_uv_lock(
        environment, plan, podman, uv_lock_arguments(), full.lock, environment.third_party_project
    )
    return without_core if without_core.lock is not None else full


def _run_uv_lock(
    environment: RenderedEnvironment,
    plan: Plan,
    podman: Path,
    arguments: list[str],
    lock: str | None,
    project: str,
) -> LockRun:
    """uv lock of `project` (starting from `lock`) in the environment's lock step, with
    the new lock's export."""
    name = environment.spec.name
    # The lock step mounts what the build mounts.
    write_all([], directories=list(juice_directories(plan.paths)))
    with work_folder(plan.paths.locks_dir, name) as folder:
        containerfile = lock_containerfile(
            environment.files[CONTAINERFILE], str(BUILD_UV), arguments, secrets.token_hex(8)
        )
        prepare_work_folder(folder, project, lock, containerfile)
        run = run_lock_build(lock_build_argv(environment.build.build, str(folder)), podman, folder)
        if run.lock is None:
            return run
        uv = (plan.tools or render_tools()).uv
        return replace(run, export=export_in_work_folder(folder, uv), project=project)


# Why a host in [images] source = "pull" has no lock of its own making.
NOT_RESOLVED_IN_PULL_MODE = (
    'no lock for this configuration; with [images] source = "pull" juice does not '
    "resolve (the image's identity includes the lock the build host made): give this "
    "host the build host's locks (docs/locks.md, a second host)"
)


def lock_before_build(
    plan: Plan,
    podman: Path,
    on_result: Callable[[LockResult], None],
    resolve_locks: bool = True,
) -> tuple[Plan, list[tuple[RenderedEnvironment, str]]]:
    """The plan to build: every environment rendered from its lock, made or updated
    first where needed (see lock_for_build; with `resolve_locks` False, a lock that
    would need uv fails instead). The environments whose lock cannot be used are left
    out, and returned with the reason, naming the lock."""
    results = lock_for_build(plan, podman, on_result, resolve_locks)
    if results:  # render again from the new locks
        names = [environment.spec.name for environment in plan.environments]
        plan = make_plan(plan.paths, plan.tools or render_tools(), names)
    failures: list[tuple[RenderedEnvironment, str]] = []
    for environment in plan.environments:
        name = environment.spec.name
        result = results.get(name)
        if result is not None and result.outcome is LockOutcome.FAILED:
            # Also when an older lock is still there: it is not this configuration's.
            reason = result.detail
        elif not environment.locked:
            reason = plan.locks[name].problem or "no lock"
        else:
            continue
        lock_path = plan.paths.lock_dir(name) / LOCK_NAME
        failures.append((environment, f"lock {lock_path}: {reason}"))
    if not failures:
        return plan, failures
    failed = {environment.spec.name for environment, _ in failures}
    kept = [environment for environment in plan.environments if environment.spec.name not in failed]
    return replace(plan, environments=kept), failures


def with_usable_locks(plan: Plan) -> Plan:
    """The plan as it is written before locking: without the environments whose lock
    cannot be used (nothing of theirs is written)."""
    usable = [env for env in plan.environments if not plan.locks[env.spec.name].problem]
    return replace(plan, environments=usable)


def lock_for_build(
    plan: Plan,
    podman: Path,
    on_result: Callable[[LockResult], None],
    resolve_locks: bool = True,
) -> dict[str, LockResult]:
    """Before a build: lock each environment that has no lock or whose configuration
    changed (existing pins kept; the kept lock of the configuration before when it is
    that one again), and name each whose lock cannot be used.

    Returns the results of the environments whose lock changed or failed.
    """
    results: dict[str, LockResult] = {}
    resolved: Resolved = {}
    for environment in plan.environments:
        name = environment.spec.name
        stored = plan.locks[name]
        pyproject = environment.lock_project
        lock_path = plan.paths.lock_dir(name) / LOCK_NAME
        if stored.problem:
            result = _failed(name, lock_path, stored.problem)
        elif not lock_needed(stored, pyproject):
            continue
        elif previous_fits(stored, pyproject):
            result = _restore(name, lock_path, stored)
        elif not resolve_locks:
            result = _failed(name, lock_path, NOT_RESOLVED_IN_PULL_MODE)
        else:
            result = resolve(environment, plan, podman, uv_lock_arguments(), resolved)
        on_result(result)
        results[name] = result
    return results


def _restore(name: str, lock_path: Path, stored: StoredLock) -> LockResult:
    """Back to the configuration before (e.g. the previous core version): its lock again,
    without uv, so that its kept image fits and no index is needed."""
    assert stored.previous_lock is not None
    try:
        diff = diff_locks(stored.lock, stored.previous_lock)
        restore_previous(lock_path.parent)
    except LockFormatError as error:
        return _failed(name, lock_path, f"the kept previous lock: {error}")
    except HostError as error:
        return _failed(name, lock_path, str(error))
    except OSError as error:
        return _failed(name, lock_path, str(host_error(error)))
    outcome = LockOutcome.RESTORED
    return LockResult(name, str(lock_path), outcome, diff.added, diff.removed, diff.changed)


def locked_build_failure(log: Path, lock_path: Path) -> str:
    """For a failed build from a lock: the lock, and uv's reason from the build's log
    (a hash that does not match, a locked file the index or wheelhouse does not have)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"; installing from the lock {lock_path}"
    reason = "; ".join(line.strip() for line in uv_failure(text, limit=2).splitlines())
    return f"; installing from the lock {lock_path}: {reason}"
