"""The volumes an environment gets, at build time and at run time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from orangeqs.juice.environments.core_source import CoreSource
from orangeqs.juice.paths import HostPaths

if TYPE_CHECKING:  # `juice --version` runs without importing pydantic
    from orangeqs.juice.settings.models import UvEnvironment, UvSource

CONTAINER_USER = "juice"
CONTAINER_HOME = PurePosixPath("/home/juice")
CONTAINER_SHARED = CONTAINER_HOME / "shared"
EDITABLE_ROOT = CONTAINER_SHARED / "lib"
# Where the host's uv binary appears during the build (not in the final image).
BUILD_UV = PurePosixPath("/opt/juice-build/bin/uv")


@dataclass(frozen=True)
class Mount:
    """A podman ``-v`` volume."""

    source: str
    target: str
    options: str = ""

    def spec(self) -> str:
        """The ``-v`` argument."""
        return ":".join(part for part in (self.source, self.target, self.options) if part)

    @classmethod
    def parse(cls, volume: str) -> Mount:
        """A mount from podman -v syntax (already validated by the settings)."""
        source, target, *options = volume.split(":")
        return cls(source, target, options[0] if options else "")


class SourceConflictError(ValueError):
    """Two editable sources would be mounted at the same place."""


def editable_sources(config: UvEnvironment) -> dict[str, list[UvSource]]:
    """The uv sources with editable host paths moved to where the container sees them.

    A path starting with ``~`` is already a container path (the user's home); an
    absolute host path is mounted at ``~/shared/lib/<folder>``.
    """
    resolved: dict[str, list[UvSource]] = {}
    for package, entries in config.sources.items():
        resolved[package] = [_container_source(entry) for entry in entries]
    return resolved


def _container_source(entry: UvSource) -> UvSource:
    if not entry.path:
        return entry
    if entry.path.startswith("~"):
        return entry.model_copy(update={"path": str(CONTAINER_HOME) + entry.path[1:]})
    if entry.editable:
        target = EDITABLE_ROOT / PurePosixPath(entry.path).name
        return entry.model_copy(update={"path": str(target)})
    return entry


def editable_mounts(config: UvEnvironment) -> list[Mount]:
    """A mount for every editable source given as an absolute host path."""
    mounts: dict[str, Mount] = {}
    for entries in config.sources.values():
        for entry in entries:
            if entry.editable and entry.path and entry.path.startswith("/"):
                target = str(EDITABLE_ROOT / PurePosixPath(entry.path).name)
                existing = mounts.get(target)
                if existing and existing.source != entry.path:
                    raise SourceConflictError(
                        f"editable sources {existing.source} and {entry.path} would both be "
                        f"mounted at {target}; rename one of the folders"
                    )
                mounts[target] = Mount(entry.path, target)
    return list(mounts.values())


def common_mounts(
    config: UvEnvironment, core: CoreSource, paths: HostPaths, *, for_build: bool
) -> list[Mount]:
    """Mounts shared by the build and the running container.

    ``podman build -v`` takes host paths only, so named volumes of ``container.volumes``
    are mounted in the running container alone.
    """
    mounts = [
        Mount(str(paths.shared_dir), str(CONTAINER_SHARED)),
        *editable_mounts(config),
        Mount(str(paths.config_dir), "/etc/juice/config", "ro"),
        Mount(str(paths.run_dir), "/var/run/juice"),
    ]
    if core.kind == "wheel" and core.wheel:
        wheel = str(core.wheel.path)
        mounts.append(Mount(wheel, wheel, "ro"))
    volumes = [Mount.parse(volume) for volume in config.container.volumes]
    mounts += [m for m in volumes if not for_build or m.source.startswith("/")]
    return mounts


def build_mounts(
    config: UvEnvironment, core: CoreSource, paths: HostPaths, uv: Path
) -> list[Mount]:
    """Mounts for ``podman build``: the common ones, uv, and the build-only volumes."""
    return [
        *common_mounts(config, core, paths, for_build=True),
        Mount(str(uv), str(BUILD_UV), "ro"),
        *(Mount.parse(volume) for volume in config.build.volumes),
    ]


def run_mounts(config: UvEnvironment, core: CoreSource, paths: HostPaths) -> list[Mount]:
    """Mounts for the running container."""
    return common_mounts(config, core, paths, for_build=False)
