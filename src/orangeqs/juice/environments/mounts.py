"""The volumes an environment gets, at build time and at run time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from orangeqs.juice.environments.core_source import CoreSource
from orangeqs.juice.paths import HostPaths

if TYPE_CHECKING:  # `juice --version` runs without importing pydantic
    from orangeqs.juice.settings.models import UvEnvironment, UvSource

# The container user, as in OrangeQS Juice's images; its home is the environment's home_path.
CONTAINER_USER = "user"
# Where the host's uv binary appears during the build (not in the final image).
BUILD_UV = PurePosixPath("/opt/juice-build/bin/uv")
# The container paths of juice's own mounts, and of the environment in the image.
CONFIG_TARGET = "/etc/juice/config"
RUN_TARGET = "/var/run/juice"
DIST_TARGET = "/dist"
UV_CACHE_TARGET = "/var/cache/juice-uv"
ENV_DIR = "/env"
# What a configured mount must not be at or below: juice's own mounts and the venv.
_RESERVED = {
    CONFIG_TARGET: "where the configuration is mounted",
    RUN_TARGET: "where the runtime folder is mounted",
    DIST_TARGET: "where the host's wheels are mounted",
    str(BUILD_UV.parents[1]): "where uv is mounted during builds",
    UV_CACHE_TARGET: "uv's cache during builds",
    ENV_DIR: "the environment's Python and packages",
}


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


class MountConflictError(ValueError):
    """A configured mount would land on another, or on a path juice needs.

    `key` is the environment's key that asks for it (e.g. ``container.volumes[0]``).
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class SourceConflictError(MountConflictError):
    """Two editable sources would be mounted at the same place."""

    def __init__(self, message: str) -> None:
        super().__init__("sources", message)


def _covers(path: str, reserved: str, *, mounted: bool) -> bool:
    """`path` is `reserved` or inside it; for a mount, also a folder holding the venv
    (the mount would hide that image content; juice's own mounts go on top of others)."""
    inner, outer = PurePosixPath(path), PurePosixPath(reserved)
    if inner == outer or outer in inner.parents:
        return True
    return mounted and reserved == ENV_DIR and inner in outer.parents


def check_mount_targets(config: UvEnvironment) -> None:
    """Refuse configured mounts that land on juice's own paths or on each other.

    Raises MountConflictError naming the key. Nested configured mounts (an editable
    source inside shared_path, a volume inside another) are fine: podman mounts the
    outer one first.
    """
    # shared_lib_path is not itself mounted: only what is under it (editable sources).
    mounted = [("shared_path", config.shared_path)]
    mounted += [
        (f"sources.{package}", editable_target(config, entry.path))
        for package, entries in config.sources.items()
        for entry in entries
        if entry.editable and entry.path and entry.path.startswith("/")
    ]
    mounted += [
        (f"{section}.volumes[{index}]", Mount.parse(volume).target)
        for section, volumes in (
            ("container", config.container.volumes),
            ("build", config.build.volumes),
        )
        for index, volume in enumerate(volumes)
    ]
    for key, target in [("shared_lib_path", config.shared_lib_path), *mounted]:
        for reserved, what in _RESERVED.items():
            if _covers(target, reserved, mounted=key != "shared_lib_path"):
                raise MountConflictError(
                    key, f"{target} would cover {reserved}, {what}; choose another path"
                )
    first: dict[str, str] = {}
    for key, target in mounted:
        earlier = first.setdefault(str(PurePosixPath(target)), key)
        if earlier != key and not (earlier.startswith("sources.") and key.startswith("sources.")):
            raise MountConflictError(
                key, f"{target} is also where {earlier} is mounted; choose another path"
            )


def editable_sources(config: UvEnvironment) -> dict[str, list[UvSource]]:
    """The uv sources with editable host paths moved to where the container sees them.

    A path starting with ``~`` is already a container path (under ``home_path``); an
    absolute host path is mounted at ``<shared_lib_path>/<folder>``.
    """
    resolved: dict[str, list[UvSource]] = {}
    for package, entries in config.sources.items():
        resolved[package] = [_container_source(config, entry) for entry in entries]
    return resolved


def editable_target(config: UvEnvironment, host_path: str) -> str:
    """Where an editable source at `host_path` on the host appears in the container."""
    return str(PurePosixPath(config.shared_lib_path) / PurePosixPath(host_path).name)


def _container_source(config: UvEnvironment, entry: UvSource) -> UvSource:
    if not entry.path:
        return entry
    if entry.path.startswith("~"):
        from orangeqs.juice.settings.types import expand_home  # pydantic: only when rendering

        return entry.model_copy(update={"path": expand_home(entry.path, config.home_path)})
    if entry.editable:
        return entry.model_copy(update={"path": editable_target(config, entry.path)})
    return entry


def editable_mounts(config: UvEnvironment) -> list[Mount]:
    """A mount for every editable source given as an absolute host path."""
    mounts: dict[str, Mount] = {}
    for entries in config.sources.values():
        for entry in entries:
            if entry.editable and entry.path and entry.path.startswith("/"):
                target = editable_target(config, entry.path)
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
    check_mount_targets(config)
    mounts = [
        Mount(str(paths.shared_dir), config.shared_path),
        *editable_mounts(config),
        Mount(str(paths.config_dir), CONFIG_TARGET, "ro"),
        Mount(str(paths.run_dir), RUN_TARGET),
    ]
    # As on OrangeQS Juice hosts, so that sources such as path = "/dist/x.whl" work.
    if paths.dist_data_dir:
        mounts.append(Mount(str(paths.dist_data_dir), DIST_TARGET, "ro"))
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
