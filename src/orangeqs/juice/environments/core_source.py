"""Where an environment gets ``orangeqs-juice-core`` from.

1. the wheel bundled with the system package (mounted read-only, installed from it);
2. a package registry, pinned to this version;
3. an editable source directory (a ``sources`` entry for orangeqs-juice-core).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from orangeqs.juice._version import CORE_DISTRIBUTION

if TYPE_CHECKING:  # `juice --version` runs without importing pydantic
    from orangeqs.juice.settings.models import UvEnvironment


@dataclass(frozen=True)
class BundledWheel:
    """The core wheel found in the dist directory, identified by its content."""

    path: Path
    sha256: str
    # Its Requires-Dist (without extras): the third-party layer installs them, so that a
    # new core version with the same dependencies rebuilds only the core itself.
    requirements: tuple[str, ...] = ()


def wheel_filename(version: str) -> str:
    """The file name of the core wheel of `version`."""
    return f"{CORE_DISTRIBUTION.replace('-', '_')}-{version}-py3-none-any.whl"


@dataclass(frozen=True)
class CoreSource:
    """The resolved source of orangeqs-juice-core for one environment."""

    kind: Literal["wheel", "registry", "editable"]
    version: str
    wheel: BundledWheel | None = None

    @property
    def bundled(self) -> BundledWheel | None:
        """The package's own wheel, when the core comes from it."""
        return self.wheel if self.kind == "wheel" else None

    def requirement(self) -> str:
        """The dependency line in the environment's pyproject.toml."""
        if self.kind == "registry":
            return f"{CORE_DISTRIBUTION}=={self.version}"
        return CORE_DISTRIBUTION

    def describe(self) -> str:
        """Human-readable, for ``juice --version`` and ``juice env list``."""
        if self.kind == "wheel" and self.wheel:
            return f"bundled wheel {self.wheel.path}"
        if self.kind == "registry":
            return f"package registry ({self.requirement()})"
        return "editable source (sources.orangeqs-juice-core)"


class CoreSourceError(ValueError):
    """The configured core source cannot be used."""


def resolve_core_source(
    config: UvEnvironment, version: str, wheel: BundledWheel | None
) -> CoreSource:
    """Pick the core source for an environment.

    ``core_source = "auto"`` (the default) prefers an editable source if one is
    configured, then the bundled wheel, then the registry.
    """
    if any(entry.editable for entry in config.source_entries(CORE_DISTRIBUTION)):
        return CoreSource("editable", version)
    if config.core_source == "registry":
        return CoreSource("registry", version)
    if wheel is None and config.core_source == "wheel":
        raise CoreSourceError(
            f"core_source is 'wheel' but the bundled wheel {wheel_filename(version)} "
            "is missing; reinstall the orangeqs-juice package or set core_source = 'auto'"
        )
    return bundled_or_registry(version, wheel)


def bundled_or_registry(version: str, wheel: BundledWheel | None) -> CoreSource:
    """The bundled wheel when there is one, else the registry pinned to `version`."""
    if wheel is not None:
        return CoreSource("wheel", version, wheel)
    return CoreSource("registry", version)
