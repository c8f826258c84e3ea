"""Writing a plan's files to the host: environment directories and unit files.

Juice touches only what it owns (host/generated.py): everything else in the generated
tree or the unit directory is left alone and reported, once per run, as a warning.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.environments.spec import IMAGE_PREFIX
from orangeqs.juice.host.files import FileWrite, HostError, host_error, write_all
from orangeqs.juice.host.generated import STAMP_TEXT, Owner, directory_owner, unit_owner
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

    @property
    def units_changed(self) -> bool:
        """True when systemd must re-read its units."""
        return any(path.endswith(".service") for path in self.changed + self.removed)


def write_plan(plan: Plan, paths: HostPaths) -> WriteReport:
    """Write the plan's files and remove those of environments no longer configured.

    Every file is written or none is (HostError then, the previous files intact);
    stale directories and units are removed only after that.
    """
    report = write_environments(plan.environments, paths)
    remove_stale(plan.all_names, plan.all_units, paths, report)
    return report


def write_environments(environments: list[RenderedEnvironment], paths: HostPaths) -> WriteReport:
    """Write every rendered file, all or nothing; unchanged files are left alone.

    Everything was rendered (and validated) before this is called, so a bad config
    never leaves some files written and others not. A masked unit stays masked; an
    environment directory that is not juice's (a link, an administrator's directory)
    stops the whole write with HostError.
    """
    report = WriteReport()
    writes: list[FileWrite] = []
    for environment in environments:
        env_dir = paths.env_dir(environment.spec.name)
        writes += _directory_writes(env_dir, environment.files)
        for name, text in environment.units.items():
            unit = paths.unit_dir / name
            owner = unit_owner(unit)
            if owner in (Owner.ABSENT, Owner.JUICE):
                writes.append(FileWrite(unit, text.encode("utf-8")))
                continue
            if name == environment.spec.build_unit:
                report.masked.append(environment.spec.name)
                why = f"{owner.value}; environment {environment.spec.name} is skipped, not built"
            else:
                why = f"{owner.value}; juice does not replace it"
            report.left_alone.append((str(unit), why))
    # Mount sources must exist, or podman refuses the volume.
    for directory in (paths.shared_dir, paths.run_dir, paths.envs_dir):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise host_error(error, directory) from None
    changed = write_all(writes)
    report.changed = [str(path) for path in changed if path.name != GENERATED_DIR_STAMP]
    report.unchanged = [
        str(write.path)
        for write in writes
        if write.path not in changed and write.path.name != GENERATED_DIR_STAMP
    ]
    return report


def _directory_writes(env_dir: Path, files: dict[str, str]) -> list[FileWrite]:
    owner = directory_owner(env_dir)
    if owner not in (Owner.ABSENT, Owner.JUICE, Owner.JUICE_UNSTAMPED):
        raise HostError(
            env_dir,
            f"is {owner.value}, where juice writes this environment's files; juice "
            "never writes through or into it: move it away and run the command again",
        )
    writes = [FileWrite(env_dir / name, text.encode("utf-8")) for name, text in files.items()]
    # New and adopted directories get the stamp; it is written last, after the files.
    writes.append(FileWrite(env_dir / GENERATED_DIR_STAMP, STAMP_TEXT.encode("utf-8")))
    return writes


def remove_stale(names: list[str], units: list[str], paths: HostPaths, report: WriteReport) -> None:
    """Remove generated directories and units that no configured environment owns.

    Only what juice made goes: units whose first line is juice's marker, and stamped
    directories (or unstamped ones holding only juice's files, from an earlier juice).
    Anything else is recorded in `report.left_alone`. Images stay (``podman rmi``).
    """
    if paths.unit_dir.is_dir():
        for unit in sorted(paths.unit_dir.glob(f"{IMAGE_PREFIX}*.service")):
            if unit.name in units:
                continue
            owner = unit_owner(unit)
            if owner is Owner.JUICE:
                _remove(unit, unit.unlink)
                report.removed.append(str(unit))
            else:
                report.left_alone.append((str(unit), f"{owner.value}; not juice's"))
    if not paths.envs_dir.is_dir():
        return
    for entry in sorted(paths.envs_dir.iterdir()):
        if entry.name.startswith(".") or entry.name in names:
            continue  # juice's lock files, and the configured environments
        owner = directory_owner(entry)
        if owner in (Owner.JUICE, Owner.JUICE_UNSTAMPED):
            _remove(entry, functools.partial(shutil.rmtree, entry))
            report.removed.append(str(entry))
        else:
            report.left_alone.append((str(entry), f"{owner.value}; not juice's"))


def _remove(path: Path, remove: Callable[[], None]) -> None:
    try:
        remove()
    except OSError as error:
        raise host_error(error, error.filename or path) from None
