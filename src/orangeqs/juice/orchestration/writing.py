"""Writing a plan's files to the host: environment directories and unit files."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.environments.spec import IMAGE_PREFIX
from orangeqs.juice.environments.units import UNIT_MARKER
from orangeqs.juice.host.files import write_atomic
from orangeqs.juice.orchestration.planning import Plan
from orangeqs.juice.paths import HostPaths


@dataclass
class WriteReport:
    """Which files changed."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Generated files of environments that are no longer configured.
    removed: list[str] = field(default_factory=list)

    @property
    def units_changed(self) -> bool:
        """True when systemd must re-read its units."""
        return any(path.endswith(".service") for path in self.changed + self.removed)


def write_plan(plan: Plan, paths: HostPaths) -> WriteReport:
    """Write the plan's files and remove those of environments no longer configured."""
    report = write_environments(plan.environments, paths)
    report.removed = remove_stale(plan.all_names, plan.all_units, paths)
    return report


def remove_stale(names: list[str], units: list[str], paths: HostPaths) -> list[str]:
    """Remove generated directories and units that no configured environment owns.

    Only what juice generated goes: units whose first line is juice's marker, and
    directories in the generated tree. Images are left alone (``podman rmi`` them).
    """
    removed: list[str] = []
    if paths.unit_dir.is_dir():
        for unit in sorted(paths.unit_dir.glob(f"{IMAGE_PREFIX}*.service")):
            if unit.name not in units and _generated(unit):
                unit.unlink()
                removed.append(str(unit))
    if paths.envs_dir.is_dir():
        for directory in sorted(paths.envs_dir.iterdir()):
            if (
                directory.is_dir()
                and not directory.name.startswith(".")
                and (directory.name not in names)
            ):
                shutil.rmtree(directory)
                removed.append(str(directory))
    return removed


def _generated(unit: Path) -> bool:
    try:
        with unit.open(encoding="utf-8") as handle:
            return handle.readline().startswith(UNIT_MARKER)
    except (OSError, UnicodeDecodeError):
        return False


def write_environments(environments: list[RenderedEnvironment], paths: HostPaths) -> WriteReport:
    """Write every rendered file atomically; unchanged files are left alone.

    Everything was rendered (and validated) before this is called, so a bad config
    never leaves some files written and others not.
    """
    report = WriteReport()
    # Mount sources must exist, or podman refuses the volume.
    for directory in (paths.shared_dir, paths.run_dir, paths.envs_dir):
        directory.mkdir(parents=True, exist_ok=True)
    for environment in environments:
        env_dir = paths.env_dir(environment.spec.name)
        targets = [(env_dir / name, text) for name, text in environment.files.items()]
        targets += [(paths.unit_dir / name, text) for name, text in environment.units.items()]
        for path, text in targets:
            (report.changed if write_atomic(path, text) else report.unchanged).append(str(path))
    return report
