"""Pydantic models of the parts of ``orchestration.toml`` that juice owns.

Owned: ``[environments.default]``, ``[services.<key>.environment]`` (and a service's
``command``), ``[jupyterhub.singleuser.environment]``. Other sections of a full Juice
config belong to other components and are ignored, except that a key which looks like a
misspelling of one of ours is reported.
"""

from __future__ import annotations

import difflib
import shlex
import sys
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal, Union

from packaging.utils import canonicalize_name
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from orangeqs.juice.settings.types import (
    Architecture,
    ContainerfileLine,
    DependencySpecifier,
    EnvVarName,
    ImageReference,
    Name,
    PythonVersion,
    SingleLine,
    SystemPackage,
    Volume,
    single_line,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def unknown_key_error(keys: list[str], known: list[str]) -> PydanticCustomError:
    """The error for keys no model knows, with the closest known key as a hint."""
    hints = []
    suggested = True
    for key in keys:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        suggested = suggested and bool(close)
    # Without a close match, the list of known keys is the useful hint.
    listing = "" if suggested else f"; known keys: {', '.join(sorted(known))}"
    return PydanticCustomError(
        "unknown_key",
        "unknown key {keys}{listing}",
        {"keys": ", ".join(hints), "listing": listing, "key_names": keys},
    )


class StrictModel(BaseModel):
    """A section juice owns: unknown keys are errors that suggest the close match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = _field_names(cls)
            unknown = [key for key in data if key not in known]
            if unknown:
                raise unknown_key_error(unknown, known)
        return data


class SharedSection(BaseModel):
    """A section shared with other Juice components: keys of theirs are ignored, but a
    key that is a near miss of one of ours is an error (it is almost surely a typo)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_near_misses(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = _field_names(cls)
            typos = [
                key
                for key in data
                if key not in known and difflib.get_close_matches(key, known, n=1, cutoff=0.8)
            ]
            if typos:
                raise unknown_key_error(typos, known)
        return data


def _field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


class UvSource(StrictModel):
    """One ``[tool.uv.sources]`` entry (uv's keys)."""

    git: SingleLine | None = None
    rev: SingleLine | None = None
    tag: SingleLine | None = None
    branch: SingleLine | None = None
    subdirectory: SingleLine | None = None
    lfs: bool | None = None
    url: SingleLine | None = None
    path: SingleLine | None = None
    editable: bool | None = None
    package: bool | None = None
    index: SingleLine | None = None
    workspace: bool | None = None
    marker: SingleLine | None = None
    extra: SingleLine | None = None
    group: SingleLine | None = None

    @field_validator("path")
    @classmethod
    def _path_is_absolute_or_home(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = PurePosixPath(value)
        if ".." in path.parts:
            raise ValueError(f"{value!r} must not contain '..'")
        if not (path.is_absolute() or value.startswith("~/")):
            raise ValueError(
                f"{value!r} is relative: give an absolute host path, or a path starting "
                "with '~/' (the container user's home)"
            )
        if path.name in ("", "~"):
            # An editable source is mounted by its folder name: '/' would mount the host.
            raise ValueError(f"{value!r} must name a folder, not a root")
        return value

    @model_validator(mode="after")
    def _editable_needs_path(self) -> UvSource:
        if self.editable and not self.path:
            raise ValueError("an editable source needs a 'path'")
        return self

    def as_toml(self) -> dict[str, Any]:
        """The entry as uv reads it (unset keys left out)."""
        return self.model_dump(exclude_none=True)


class ContainerSettings(StrictModel):
    """Applied to the image build (its RUN steps) and to the running container alike
    (named volumes: the running container only, as podman build takes host paths)."""

    volumes: list[Volume] = []
    environment: dict[EnvVarName, SingleLine] = {}


class BuildSettings(StrictModel):
    """Applied to the image build only."""

    volumes: list[Volume] = []
    environment: dict[EnvVarName, SingleLine] = {}
    podman_args: list[SingleLine] = []


class UvEnvironment(StrictModel):
    """An environment whose Python packages uv installs."""

    type: Literal["uv"] = "uv"
    base_image: ImageReference
    python_version: PythonVersion | None = None
    python_source: Literal["managed", "system"] = "managed"
    dependencies: list[DependencySpecifier] = []
    # uv takes a table or a list of tables per package; kept as a list here.
    sources: dict[SingleLine, list[UvSource]] = {}
    system_packages: list[SystemPackage] = []
    extra_dockerfile_lines: list[ContainerfileLine] = []
    pyproject_toml_extra: dict[str, Any] = {}
    arch: Architecture | None = None
    container: ContainerSettings = ContainerSettings()
    build: BuildSettings = BuildSettings()
    core_source: Literal["auto", "wheel", "registry"] = "auto"

    @field_validator("sources", mode="before")
    @classmethod
    def _tables_to_lists(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        # Keys are package names: compare them as uv does (orangeqs_juice_core is
        # orangeqs-juice-core), so one package cannot get two source tables.
        normalized: dict[str, Any] = {}
        for key, entry in value.items():
            name = canonicalize_name(key) if isinstance(key, str) else key
            if name in normalized:
                raise ValueError(f"{key!r} names the same package as another entry ({name})")
            normalized[name] = [entry] if isinstance(entry, dict) else entry
        return normalized

    @field_validator("pyproject_toml_extra", mode="before")
    @classmethod
    def _parse_toml_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return tomllib.loads(value)
            except tomllib.TOMLDecodeError as error:
                raise ValueError(f"the TOML string is not valid TOML: {error}") from None
        return value

    @field_validator("pyproject_toml_extra")
    @classmethod
    def _strings_single_line(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_strings(value)
        return value

    @field_validator("pyproject_toml_extra")
    @classmethod
    def _keeps_what_juice_sets(cls, value: dict[str, Any]) -> dict[str, Any]:
        project = value.get("project", {})
        uv = value.get("tool", {}).get("uv", {})
        taken = [f"project.{key}" for key in ("name", "dependencies") if key in project]
        taken += [f"tool.uv.{key}" for key in ("package",) if key in uv]
        if taken:
            raise ValueError(
                f"sets {', '.join(taken)}, which juice writes itself; use the environment's "
                "own keys (dependencies, sources) instead"
            )
        return value

    @model_validator(mode="after")
    def _one_value_per_variable(self) -> UvEnvironment:
        both = sorted(set(self.container.environment) & set(self.build.environment))
        if both:
            raise ValueError(
                f"{', '.join(both)} set in both container.environment and build.environment; "
                "the container's value would silently win during the build"
            )
        return self

    def source_entries(self, package: str) -> list[UvSource]:
        """The sources configured for `package` (a list, possibly empty)."""
        return self.sources.get(package, [])


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        single_line(value)
    elif isinstance(value, dict):
        for key, child in value.items():
            single_line(key)
            _check_strings(child)
    elif isinstance(value, list):
        for child in value:
            _check_strings(child)


def _environment_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "uv"))
    return str(getattr(value, "type", "uv"))


# A discriminated union on `type`, so other environment managers can be added later.
EnvironmentSettings = Annotated[
    Union[Annotated[UvEnvironment, Tag("uv")]],  # noqa: UP007 - a one-member union
    Discriminator(
        _environment_type,
        custom_error_type="environment_type",
        custom_error_message="unknown environment type; the types are: 'uv'",
    ),
]


class EnvironmentsSection(StrictModel):
    """``[environments]``: the default every service and the user container start from."""

    default: EnvironmentSettings


class ServiceSettings(SharedSection):
    """``[services.<key>]``: a Juice service; juice reads its environment and command."""

    environment: EnvironmentSettings | None = None
    # A list of arguments, or a string split like a shell would (no shell runs it).
    command: list[SingleLine] | None = None

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return shlex.split(single_line(value))
            except ValueError as error:
                raise ValueError(f"cannot split the command: {error}") from None
        return value


class SingleuserSettings(SharedSection):
    """``[jupyterhub.singleuser]``: the JupyterHub user container."""

    environment: EnvironmentSettings | None = None


class JupyterhubSettings(SharedSection):
    """``[jupyterhub]``: juice reads only the user container's environment."""

    singleuser: SingleuserSettings = SingleuserSettings()


# How many core versions' images of each environment juice keeps (`juice env gc`).
DEFAULT_KEEP_GENERATIONS = 2


class ImagesSettings(StrictModel):
    """``[images]``: how juice keeps environment images."""

    # The images of the last `keep` core versions stay: installing the previous
    # package again then needs no build.
    keep: int = Field(DEFAULT_KEEP_GENERATIONS, ge=1, le=100)


class OrchestrationSettings(SharedSection):
    """The whole orchestration config, as far as environment management is concerned."""

    environments: EnvironmentsSection
    services: dict[Name, ServiceSettings] = Field(default_factory=dict)
    jupyterhub: JupyterhubSettings = JupyterhubSettings()
    images: ImagesSettings = ImagesSettings()

    @field_validator("services")
    @classmethod
    def _no_reserved_names(cls, value: dict[str, ServiceSettings]) -> dict[str, ServiceSettings]:
        if "singleuser" in value:
            raise ValueError(
                "'singleuser' is the JupyterHub user container's environment; "
                "give the service another name"
            )
        return value
