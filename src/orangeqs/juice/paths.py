"""Every host path the CLI touches, built once so that all of them can move under a root."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

CONFIG_DIR_ENV = "JUICE_CONFIG_DIR"
ROOT_ENV = "JUICE_ROOT"

_DEFAULTS = {
    "config_dir": "/etc/juice/config",
    "envs_dir": "/var/juice/envs",
    "run_dir": "/var/run/juice",
    "dist_dir": "/opt/orangeqs/juice/dist",
    "unit_dir": "/etc/systemd/system",
    "shared_dir": "/var/juice/shared",
    "log_dir": "/var/log/juice",
}


@dataclass(frozen=True)
class HostPaths:
    """Where things live on the host, as real paths.

    `under(root)` moves all of them below another directory (``--root``, ``JUICE_ROOT``)
    so that tests and unprivileged users never touch the real ``/``.
    """

    config_dir: Path
    envs_dir: Path
    run_dir: Path
    dist_dir: Path
    unit_dir: Path
    shared_dir: Path
    log_dir: Path
    root: Path = Path("/")

    @classmethod
    def under(cls, root: Path = Path("/")) -> HostPaths:
        """The standard layout below `root` (``/`` for a real host)."""
        root = root.absolute()
        return cls(
            root=root,
            **{name: root / default.lstrip("/") for name, default in _DEFAULTS.items()},
        )

    @classmethod
    def from_environment(cls, root: str | None = None, config_dir: str | None = None) -> HostPaths:
        """Paths from CLI options, falling back to ``JUICE_ROOT`` and ``JUICE_CONFIG_DIR``."""
        paths = cls.under(Path(root or os.environ.get(ROOT_ENV) or "/"))
        config_dir = config_dir or os.environ.get(CONFIG_DIR_ENV)
        if config_dir:
            paths = replace(paths, config_dir=Path(config_dir).absolute())
        return paths

    @property
    def lock_file(self) -> Path:
        """Serializes renders and builds; lives in the generated tree, which juice owns."""
        return self.envs_dir / ".juice.lock"

    def env_dir(self, name: str) -> Path:
        """The directory holding the rendered files of environment `name`."""
        return self.envs_dir / name

    def build_log(self, name: str) -> Path:
        """Where a build without systemd logs its output."""
        return self.log_dir / f"build-{name}.log"
