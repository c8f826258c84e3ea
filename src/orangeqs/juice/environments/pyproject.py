"""The ``pyproject.toml`` of an environment: its Python dependencies for uv."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tomli_w
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from orangeqs.juice._version import CORE_DISTRIBUTION
from orangeqs.juice.environments.core_source import CoreSource
from orangeqs.juice.environments.mounts import editable_sources
from orangeqs.juice.environments.spec import EnvironmentSpec
from orangeqs.juice.ownership import GENERATED_MARKER
from orangeqs.juice.settings.files import merge_into

HEADER = f"{GENERATED_MARKER}; do not edit: changes are overwritten.\n"


THIRD_PARTY_FILE = "third-party.pyproject.toml"


def names_core(spec: EnvironmentSpec) -> bool:
    """True when the configuration itself names orangeqs-juice-core: a dependency line
    (with extras or a version, say) or a source of its own."""
    core_name = canonicalize_name(CORE_DISTRIBUTION)
    config = spec.config
    return bool(config.source_entries(CORE_DISTRIBUTION)) or any(
        canonicalize_name(Requirement(dep).name) == core_name for dep in config.dependencies
    )


def pyproject_data(
    spec: EnvironmentSpec, core: CoreSource | None, core_requirements: Sequence[str] = ()
) -> dict[str, Any]:
    """The pyproject.toml content as data; without orangeqs-juice-core when `core` is None
    (then with `core_requirements`, what the core needs, instead).

    The image installs the third-party dependencies from the file without the core
    first, so that a new core version does not invalidate that layer, and the core's
    own dependencies with them, so that its layer installs only the core.
    """
    config = spec.config
    core_name = canonicalize_name(CORE_DISTRIBUTION)
    dependencies = [
        dep for dep in config.dependencies if canonicalize_name(Requirement(dep).name) != core_name
    ]
    if core is not None:
        own = [dep for dep in config.dependencies if dep not in dependencies]
        dependencies += own or [core.requirement()]
    else:
        dependencies += [dep for dep in core_requirements if dep not in dependencies]

    # No environment name here: environments of the same configuration render the same
    # file, so their images share the layers that install it.
    project: dict[str, Any] = {
        "name": "juice-environment",
        "version": "0",
        "description": "An OrangeQS Juice environment",
        "dependencies": dependencies,
    }
    if config.python_version:
        project["requires-python"] = f"=={_minor(config.python_version)}.*"

    sources: dict[str, Any] = {}
    for package, entries in editable_sources(config).items():
        if package == core_name and core is None:
            continue
        tables = [entry.as_toml() for entry in entries]
        sources[package] = tables[0] if len(tables) == 1 else tables
    if core and core.kind == "wheel" and core.wheel and core_name not in sources:
        sources[core_name] = {"path": str(core.wheel.path)}

    # A virtual project: uv installs its dependencies, not the project itself.
    uv: dict[str, Any] = {"package": False}
    if sources:
        uv["sources"] = sources
    data: dict[str, Any] = {"project": project, "tool": {"uv": uv}}
    merge_into(data, config.pyproject_toml_extra)
    return data


def render_pyproject(
    spec: EnvironmentSpec, core: CoreSource | None, core_requirements: Sequence[str] = ()
) -> str:
    """The pyproject.toml text (deterministic: same inputs, same bytes)."""
    return HEADER + tomli_w.dumps(pyproject_data(spec, core, core_requirements))


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
