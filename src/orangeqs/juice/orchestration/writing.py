"""Writing a plan's files to the host: environment directories and unit files."""

from __future__ import annotations

from dataclasses import dataclass, field

from orangeqs.juice.environments.rendering import RenderedEnvironment
from orangeqs.juice.host.files import write_atomic
from orangeqs.juice.paths import HostPaths


@dataclass
class WriteReport:
    """Which files changed."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def units_changed(self) -> bool:
        """True when systemd must re-read its units."""
        return any(path.endswith(".service") for path in self.changed)


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
