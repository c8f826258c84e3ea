"""The shape of ``pyproject_toml_extra``: what uv reads, where juice's own keys are kept.

``pyproject_toml_extra`` is merged into the ``pyproject.toml`` juice writes. A value of
the wrong kind (a string where uv reads a table) would produce a file uv cannot read,
and a key juice writes would silently undo juice's own; both are refused here, by the
key path inside the extra and the reason.
"""

from __future__ import annotations

from typing import Any

from packaging.utils import canonicalize_name

# pyproject.toml's top-level tables (PEP 518, PEP 621, PEP 735); nothing else belongs there.
TOP_LEVEL = ("build-system", "dependency-groups", "project", "tool")
# [project] keys of the pyproject.toml specification, and those juice writes itself.
PROJECT_KEYS = (
    "authors", "classifiers", "dependencies", "description", "dynamic", "entry-points",
    "gui-scripts", "keywords", "license", "license-files", "maintainers", "name",
    "optional-dependencies", "readme", "requires-python", "scripts", "urls", "version",
)  # fmt: skip
JUICE_PROJECT_KEYS = ("name", "version", "description", "dependencies", "requires-python")
JUICE_UV_KEYS = ("package",)
# [tool.uv] keys whose value must be a list of strings or a table.
_UV_STRING_LISTS = (
    "constraint-dependencies", "dev-dependencies", "environments", "extra-index-url",
    "find-links", "no-binary-package", "no-build-isolation-package", "no-build-package",
    "override-dependencies", "required-environments",
)  # fmt: skip
_UV_TABLES = ("pip", "workspace", "cache-keys-table")

_KIND = {dict: "a table", list: "a list", str: "a string", bool: "true or false"}


class ShapeError(ValueError):
    """A value of the wrong kind, or a key juice keeps for itself, at `key` in the extra."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")


def check_pyproject_extra(extra: dict[str, Any], core_distribution: str) -> None:
    """Refuse an extra uv could not read, or one that overrides what juice writes.

    Raises ShapeError naming the key inside the extra and the reason.
    """
    for key, value in extra.items():
        if key not in TOP_LEVEL:
            raise ShapeError(key, f"not a pyproject.toml table; those are {', '.join(TOP_LEVEL)}")
        _require(key, value, dict)
    _check_project(extra.get("project", {}))
    _check_build_system(extra.get("build-system", {}))
    for group, entries in extra.get("dependency-groups", {}).items():
        _require(f"dependency-groups.{group}", entries, list)
    tool = extra.get("tool", {})
    for name, table in tool.items():
        _require(f"tool.{name}", table, dict)
    _check_uv(tool.get("uv", {}), core_distribution)


def _check_project(project: dict[str, Any]) -> None:
    for key in project:
        if key in JUICE_PROJECT_KEYS:
            raise ShapeError(
                f"project.{key}",
                f"sets project.{key}, which juice writes itself; use the environment's own "
                "keys (dependencies, python_version, sources) instead",
            )
        if key not in PROJECT_KEYS:
            raise ShapeError(f"project.{key}", "not a [project] key of pyproject.toml")
    for key in ("classifiers", "keywords", "dynamic"):
        if key in project:
            _require_strings(f"project.{key}", project[key])
    for key in ("urls", "scripts", "gui-scripts", "entry-points", "optional-dependencies"):
        if key in project:
            _require(f"project.{key}", project[key], dict)
    for extra, requirements in project.get("optional-dependencies", {}).items():
        _require_strings(f"project.optional-dependencies.{extra}", requirements)


def _check_build_system(build_system: dict[str, Any]) -> None:
    if "requires" in build_system:
        _require_strings("build-system.requires", build_system["requires"])
    if "build-backend" in build_system:
        _require("build-system.build-backend", build_system["build-backend"], str)


def _check_uv(uv: dict[str, Any], core_distribution: str) -> None:
    for key in uv:
        if key in JUICE_UV_KEYS:
            raise ShapeError(f"tool.uv.{key}", f"sets tool.uv.{key}, which juice writes itself")
    for key in _UV_STRING_LISTS:
        if key in uv:
            _require_strings(f"tool.uv.{key}", uv[key])
    for key in _UV_TABLES:
        if key in uv:
            _require(f"tool.uv.{key}", uv[key], dict)
    if "index" in uv:
        _require("tool.uv.index", uv["index"], list)
        for number, index in enumerate(uv["index"]):
            _require(f"tool.uv.index[{number}]", index, dict)
            _require(f"tool.uv.index[{number}].url", index.get("url"), str)
    if "sources" in uv:
        _check_sources(uv["sources"], core_distribution)


def _check_sources(sources: Any, core_distribution: str) -> None:
    _require("tool.uv.sources", sources, dict)
    core = canonicalize_name(core_distribution)
    for package, entry in sources.items():
        key = f"tool.uv.sources.{package}"
        if canonicalize_name(package) == core:
            raise ShapeError(
                key,
                f"juice chooses where {core_distribution} comes from; use the "
                f"environment's core_source, or sources.{core_distribution} for an "
                "editable checkout",
            )
        entries = entry if isinstance(entry, list) else [entry]
        for number, table in enumerate(entries):
            where = f"{key}[{number}]" if isinstance(entry, list) else key
            if not isinstance(table, dict):
                raise ShapeError(where, f"must be a table or a list of tables, not {_kind(table)}")


def _require(key: str, value: Any, kind: type) -> None:
    if not isinstance(value, kind):
        raise ShapeError(key, f"must be {_KIND[kind]}, not {_kind(value)}")


def _require_strings(key: str, value: Any) -> None:
    _require(key, value, list)
    for number, item in enumerate(value):
        _require(f"{key}[{number}]", item, str)


def _kind(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    for kind, words in _KIND.items():
        if isinstance(value, kind):
            return words
    return f"a {type(value).__name__}"
