"""Every host path the CLI touches, built once so that all of them can move under a root."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

# Exists when PID 1 is systemd (sd_booted()); also where runtime unit links live.
RUNTIME_UNIT_DIR = "/run/systemd/system"

CONFIG_DIR_ENV = "JUICE_CONFIG_DIR"
ROOT_ENV = "JUICE_ROOT"

# The host folders of OrangeQS Juice's [data_folder] (its defaults): the shared folder,
# mounted at every container's shared_path, and the folder of wheels mounted at /dist.
DEFAULT_USER_DATA_SHARED = "/var/lib/juice/user/shared"
DEFAULT_DIST_DATA = "/var/lib/juice/dist"
# One folder per environment with its uv.lock and the pyproject.toml it was made for.
DEFAULT_LOCKS = "/var/lib/juice/locks"
# The files juice keeps in an environment's lock folder (purge removes these only): the
# lock, the pyproject.toml it was made for, and its export for the third-party layer.
LOCK_NAME = "uv.lock"
LOCKED_PYPROJECT_NAME = "pyproject.toml"
LOCKED_EXPORT_NAME = "third-party.requirements.txt"
# The lock of the configuration before (e.g. of the previous core version) is kept under
# these names, so that going back to it needs no resolution (and no index).
PREVIOUS_LOCK_PREFIX = "previous."
# A lock step works in <locks_dir>/.<name>.<random><suffix> (purge removes leftovers).
LOCK_WORK_SUFFIX = ".work"
# One journal per environment of the images it got and when (<name><suffix>): rollback
# and gc order an environment's images by it, not by when they were built.
DEFAULT_GENERATIONS = "/var/lib/juice/generations"
GENERATIONS_SUFFIX = ".json"
# The shared folder of juice versions before OrangeQS Juice's (purge removes it if empty).
LEGACY_SHARED_DIR = "/var/juice/shared"
# The podman lock of juice versions before image generations (purge removes it).
LEGACY_PODMAN_LOCK = "/var/juice/envs/.podman.lock"

_DEFAULTS = {
    "config_dir": "/etc/juice/config",
    "envs_dir": "/var/juice/envs",
    "run_dir": "/var/run/juice",
    "dist_dir": "/opt/orangeqs/juice/dist",
    "unit_dir": "/etc/systemd/system",
    # systemctl --runtime puts its links (masks too) here; they last until reboot.
    "runtime_unit_dir": RUNTIME_UNIT_DIR,
    "shared_dir": DEFAULT_USER_DATA_SHARED,
    "dist_data_dir": DEFAULT_DIST_DATA,
    "log_dir": "/var/log/juice",
    # The environments' locks: juice's state, not a render (renders and upgrades keep
    # them; purge removes them).
    "locks_dir": DEFAULT_LOCKS,
    # juice's state too (purge removes the journals).
    "generations_dir": DEFAULT_GENERATIONS,
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
    runtime_unit_dir: Path
    shared_dir: Path
    # None once planning found that this host has no such folder (nothing is mounted then).
    dist_data_dir: Path | None
    log_dir: Path
    locks_dir: Path
    generations_dir: Path
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

    def on_host(self, path: str) -> Path:
        """A host path from the configuration, moved under the root like the others."""
        return self.root / path.lstrip("/")

    def with_data_folder(self, user_data_shared: str, dist_data: str) -> HostPaths:
        """These paths with the ``[data_folder]`` folders of the configuration."""
        return replace(
            self, shared_dir=self.on_host(user_data_shared), dist_data_dir=self.on_host(dist_data)
        )

    @property
    def lock_file(self) -> Path:
        """Serializes renders and builds; lives in the generated tree, which juice owns."""
        return self.envs_dir / ".juice.lock"

    def env_dir(self, name: str) -> Path:
        """The directory holding the rendered files of environment `name`."""
        return self.envs_dir / name

    def lock_dir(self, name: str) -> Path:
        """The folder of environment `name`'s lock: ``uv.lock`` and its ``pyproject.toml``."""
        return self.locks_dir / name

    def generations_file(self, name: str) -> Path:
        """The journal of the images environment `name` got, and when."""
        return self.generations_dir / f"{name}{GENERATIONS_SUFFIX}"

    def build_log(self, name: str) -> Path:
        """Where a build without systemd logs its output."""
        return self.log_dir / f"build-{name}.log"
