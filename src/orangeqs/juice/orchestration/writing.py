"""Writing a plan's files to the host: environment directories and unit files.

Juice touches only what it owns (host/generated.py): everything else in the generated
tree or the unit directory is left alone, and reported as a warning only where it
stands in juice's way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.environments.spec import IMAGE_PREFIX
from orangeqs.juice.host.files import (
    NOT_A_DIRECTORY,
    FileWrite,
    HostError,
    file_in_the_way,
    host_error,
    write_all,
)
from orangeqs.juice.host.generated import (
    STAMP_TEXT,
    Owner,
    directory_owner,
    remove_generated_dir,
    unit_owner,
)
from orangeqs.juice.orchestration.planning import Plan
from orangeqs.juice.ownership import GENERATED_DIR_STAMP
from orangeqs.juice.paths import HostPaths


@dataclass
class WriteReport:
    """Which files changed, and what was left alone."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Generated files of environments that are no longer configured.
    removed: list[str] = field(default_factory=list)
    # Paths juice did not make, left as they are: (path, why it was left alone).
    left_alone: list[tuple[str, str]] = field(default_factory=list)
    # Environments whose build unit an administrator masked: not built.
    masked: list[str] = field(default_factory=list)
    # Stale things juice could not remove; the new files are in place all the same.
    removal_failed: list[HostError] = field(default_factory=list)

    @property
    def units_changed(self) -> bool:
        """True when systemd must re-read its units."""
        return any(path.endswith(".service") for path in self.changed + self.removed)


@dataclass
class Survey:
    """What a write of the plan would do, found by reading the host only."""

    writes: list[FileWrite] = field(default_factory=list)
    # Generated directories and units juice removes: of environments no longer
    # configured, and juice's units an administrator masked in /run.
    stale: list[Path] = field(default_factory=list)
    left_alone: list[tuple[str, str]] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)
    # Paths juice must write to but cannot (not juice's, not a directory): nothing is written.
    blocked: list[tuple[Path, str]] = field(default_factory=list)


def survey(plan: Plan, paths: HostPaths) -> Survey:
    """Decide, by reading the host, what to write, what to remove and what to leave alone.

    Also what `juice config validate` reports about the host. Only what stands in
    juice's way is reported; anything else juice did not make is none of its business.
    """
    found = Survey()
    for directory in juice_directories(paths):
        in_the_way = file_in_the_way(directory)
        if in_the_way is not None:
            found.blocked.append((in_the_way, NOT_A_DIRECTORY))
    if found.blocked:
        return found
    for environment in plan.environments:
        _survey_environment(environment, paths, found)
    _survey_stale(plan.all_names, plan.all_units, paths, found)
    return found


def juice_directories(paths: HostPaths) -> tuple[Path, ...]:
    """The folders juice makes before anything runs podman: mount sources must exist,
    or podman refuses the volume."""
    return (paths.envs_dir, paths.unit_dir, paths.shared_dir, paths.run_dir)


def write_plan(plan: Plan, paths: HostPaths) -> WriteReport:
    """Write the plan's files and remove those of environments no longer configured.

    Every file and directory is written or none is (HostError then, the previous files
    intact). Stale directories and units are removed only after that; what cannot be
    removed is reported in `removal_failed`, the new files staying in place. A masked
    unit stays masked; an environment directory that is not juice's (a link, an
    administrator's directory) stops the whole write with HostError.
    """
    found = survey(plan, paths)
    if found.blocked:
        path, reason = found.blocked[0]
        raise HostError(path, reason)
    changed = write_all(found.writes, directories=list(juice_directories(paths)))
    report = WriteReport(left_alone=found.left_alone, masked=found.masked)
    for write in found.writes:
        if write.path.name != GENERATED_DIR_STAMP:
            (report.changed if write.path in changed else report.unchanged).append(str(write.path))
    for path in found.stale:
        try:
            if path.parent == paths.unit_dir:
                _unlink(path)
                kept = []
            else:
                kept = remove_generated_dir(path)
        except HostError as error:
            report.removal_failed.append(error)
            continue
        if kept == [path]:
            report.left_alone.append((str(path), "a mount point; juice does not reach into it"))
        elif kept:
            listed = ", ".join(str(entry) for entry in kept)
            why = f"not written by juice, so {path} stays (juice removed its own files)"
            report.left_alone.append((listed, why))
        else:
            report.removed.append(str(path))
    return report


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise host_error(error, path) from None


def _survey_environment(environment: RenderedEnvironment, paths: HostPaths, found: Survey) -> None:
    spec = environment.spec
    env_dir = paths.env_dir(spec.name)
    owner = directory_owner(env_dir)
    if owner in (Owner.ABSENT, Owner.JUICE, Owner.JUICE_UNSTAMPED):
        found.writes += [
            FileWrite(env_dir / name, text.encode("utf-8"))
            for name, text in environment.files.items()
        ]
        # New and adopted directories get the stamp, written with the files.
        found.writes.append(FileWrite(env_dir / GENERATED_DIR_STAMP, STAMP_TEXT.encode("utf-8")))
    else:
        found.blocked.append(
            (
                env_dir,
                f"is {owner.value}, where juice writes this environment's files; juice "
                "never writes through or into it: move it away and run the command again",
            )
        )
    for name, text in environment.units.items():
        unit = paths.unit_dir / name
        runtime = paths.runtime_unit_dir / name
        owner = unit_owner(unit, runtime)
        if owner in (Owner.ABSENT, Owner.JUICE):
            found.writes.append(FileWrite(unit, text.encode("utf-8")))
            continue
        where = unit
        if owner is Owner.MASKED_RUNTIME:
            where = runtime
            if unit.exists():
                found.stale.append(unit)  # juice's own: it would override the mask
        if name == spec.build_unit:
            found.masked.append(spec.name)
            why = f"{owner.value}; environment {spec.name} is skipped, not built"
        else:
            why = f"{owner.value}; juice does not replace it"
        found.left_alone.append((str(where), why))


def _survey_stale(names: list[str], units: list[str], paths: HostPaths, found: Survey) -> None:
    """Find generated directories and units that no configured environment owns.

    Only what juice made is stale: units whose first line is juice's marker, and stamped
    directories (or unstamped ones holding only juice's files, from an earlier juice).
    Anything else is none of juice's business: no warning. Images stay (``podman rmi``).
    """
    if paths.unit_dir.is_dir():
        for unit in sorted(paths.unit_dir.glob(f"{IMAGE_PREFIX}*.service")):
            if unit.name not in units and unit_owner(unit) is Owner.JUICE:
                found.stale.append(unit)
    if not paths.envs_dir.is_dir():
        return
    for entry in sorted(paths.envs_dir.iterdir()):
        if entry.name in names:
            continue
        if directory_owner(entry) in (Owner.JUICE, Owner.JUICE_UNSTAMPED):
            found.stale.append(entry)
