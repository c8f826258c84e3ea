"""Pydantic models of the parts of ``orchestration.toml`` that juice owns.

Owned: ``[environments.default]``, ``[services.<key>.environment]`` (and a service's
``command``), ``[jupyterhub.singleuser.environment]``; read: ``[data_folder] user_id`` /
``group_id`` and the service runner's keys of ``[services.<key>]``. The environment
model is OrangeQS Juice's own, with its defaults, plus juice's extensions
(``python_source``, ``build``, ``core_source``, ``command``). Other sections of a full
Juice config belong to other components and are ignored, except that a key which looks
like a misspelling of one of ours is reported.
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

from orangeqs.juice._version import CORE_DISTRIBUTION
from orangeqs.juice.paths import DEFAULT_DIST_DATA, DEFAULT_USER_DATA_SHARED
from orangeqs.juice.settings.pyproject_shape import check_pyproject_extra
from orangeqs.juice.settings.types import (
    AccountId,
    Architecture,
    ContainerfileLine,
    ContainerPath,
    DependencySpecifier,
    DevicePath,
    EnvVarName,
    GroupName,
    HomeRelativePath,
    HostFolder,
    ImageReference,
    MemorySize,
    Name,
    Port,
    PythonVersion,
    RegistryPrefix,
    ServiceEntrypoint,
    SingleLine,
    SystemPackage,
    Volume,
    continues_onto_next_line,
    expand_home,
    single_line,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The defaults of OrangeQS Juice's own environment model: a configuration that leaves a
# key out means the same here as there.
DEFAULT_BASE_IMAGE = "quay.io/almalinuxorg/almalinux:10"
DEFAULT_PYTHON_VERSION = "3.12"
DEFAULT_HOME_PATH = "/home/user"
DEFAULT_SHARED_PATH = "~/shared"
DEFAULT_SHARED_LIB_PATH = "~/shared/lib"
# The container user's uid and gid when [data_folder] does not name the host's juice-data ids.
DEFAULT_ACCOUNT_ID = 1000


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


class PortMapping(StrictModel):
    """One published port of a service's container (podman ``-p HOST:CONTAINER``)."""

    host_port: Port
    container_port: Port


class ContainerSettings(StrictModel):
    """``volumes`` and ``environment`` apply to the image build (its RUN steps) and to the
    running container alike (named volumes: the running container only, as podman build
    takes host paths). The other keys apply to a service's running container only."""

    volumes: list[Volume] = []
    environment: dict[EnvVarName, SingleLine] = {}
    port_forwarding: list[PortMapping] = []
    devices: list[DevicePath] = []
    group_add: list[GroupName] = []
    memory: MemorySize | None = None
    # /dev and the device-cgroup rules for USB serial instruments, plus the dialout group.
    usb_passthrough: bool = False


class BuildSettings(StrictModel):
    """Applied to the image build only."""

    volumes: list[Volume] = []
    environment: dict[EnvVarName, SingleLine] = {}
    podman_args: list[SingleLine] = []


class UvEnvironment(StrictModel):
    """An environment whose Python packages uv installs."""

    type: Literal["uv"] = "uv"
    base_image: ImageReference = DEFAULT_BASE_IMAGE
    # None only for python_source = "system" without a python_version: the image's python3.
    python_version: PythonVersion | None = DEFAULT_PYTHON_VERSION
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
    # The container user's home, the host's shared folder and where editable host
    # sources are mounted; '~' in the last two is home_path (resolved when loading).
    home_path: ContainerPath = DEFAULT_HOME_PATH
    shared_path: HomeRelativePath = DEFAULT_SHARED_PATH
    shared_lib_path: HomeRelativePath = DEFAULT_SHARED_LIB_PATH

    @model_validator(mode="before")
    @classmethod
    def _effective_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        # A system Python is whatever the image has, unless a version is asked for.
        if data.get("python_source") == "system" and "python_version" not in data:
            data["python_version"] = None
        home = data.get("home_path", DEFAULT_HOME_PATH)
        if isinstance(home, str) and home.startswith("/"):
            for key, default in (
                ("shared_path", DEFAULT_SHARED_PATH),
                ("shared_lib_path", DEFAULT_SHARED_LIB_PATH),
            ):
                value = data.get(key, default)
                if isinstance(value, str):
                    data[key] = expand_home(value, home)
        return data

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
        # The shape uv reads, without the keys juice writes or a source for the core.
        check_pyproject_extra(value, CORE_DISTRIBUTION)
        return value

    @field_validator("extra_dockerfile_lines")
    @classmethod
    def _last_line_ends(cls, value: list[str]) -> list[str]:
        # Items are written one per line, so a backslash continues onto the next item;
        # after the last one it would join the first line juice generates.
        if value and continues_onto_next_line(value[-1]):
            raise ValueError(
                f"the last line ([{len(value) - 1}]) ends with a backslash, which would "
                "continue onto the line juice generates next; end the command there"
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

    default: EnvironmentSettings = UvEnvironment()


class ServiceSettings(SharedSection):
    """``[services.<key>]``: a Juice service; juice reads its environment and command."""

    environment: EnvironmentSettings | None = None
    # A list of arguments, or a string split like a shell would (no shell runs it).
    command: list[SingleLine] | None = None
    # Read by OrangeQS Juice's service runner inside the container, not by juice; typed
    # here so that a wrong value is reported where it is written.
    entrypoint: ServiceEntrypoint = "orangeqs.juice.service:IPythonService"
    init_args: list[Any] = []
    init_kwargs: dict[str, Any] = {}
    install_proxy: bool = False
    supervisor_port: Port = 9001

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return shlex.split(single_line(value))
            except ValueError as error:
                raise ValueError(f"cannot split the command: {error}") from None
        return value

    @field_validator("command")
    @classmethod
    def _runs_something(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError(
                "is empty, so no run unit would be made; give the program to run, or leave "
                "'command' out for a service that juice only builds"
            )
        return value


class SingleuserSettings(SharedSection):
    """``[jupyterhub.singleuser]``: the JupyterHub user container."""

    environment: EnvironmentSettings | None = None


class JupyterhubSettings(SharedSection):
    """``[jupyterhub]``: juice reads only the user container's environment."""

    singleuser: SingleuserSettings = SingleuserSettings()


class DataFolderSettings(SharedSection):
    """``[data_folder]``: the host ids the container user gets, and two host folders.

    OrangeQS Juice writes the ids (``orchestration.d/juice_data_user.toml``) for its
    ``juice-data`` host user, so files containers write to the shared folder are its.
    ``user_data_shared`` is mounted at every container's ``shared_path``; ``dist_data``
    (wheels) at ``/dist``, read-only, when the host has it.
    """

    user_id: AccountId = DEFAULT_ACCOUNT_ID
    group_id: AccountId = DEFAULT_ACCOUNT_ID
    user_data_shared: HostFolder = DEFAULT_USER_DATA_SHARED
    dist_data: HostFolder = DEFAULT_DIST_DATA


# How many core versions' images of each environment juice keeps (`juice env gc`).
DEFAULT_KEEP_GENERATIONS = 2


# Where `juice env build` gets an image it does not have: "build" it here, "pull" it
# from [images] registry (never build), or "pull-or-build" (build what the registry lacks).
ImageSource = Literal["build", "pull", "pull-or-build"]


class ImagesSettings(StrictModel):
    """``[images]``: how juice keeps environment images, and where it gets them."""

    # The images of the last `keep` core versions stay: installing the previous
    # package again then needs no build.
    keep: int = Field(DEFAULT_KEEP_GENERATIONS, ge=1, le=100)
    # Repository prefix `juice env push` pushes to and the pull modes pull from.
    registry: RegistryPrefix | None = None
    source: ImageSource = "build"

    @model_validator(mode="after")
    def _pull_needs_a_registry(self) -> ImagesSettings:
        if self.source != "build" and self.registry is None:
            raise PydanticCustomError(
                "registry_missing",
                f"source = {self.source!r} pulls images, but no registry is set: add "
                "registry = 'HOST[:PORT]/PATH' to [images]",
            )
        return self


class OrchestrationSettings(SharedSection):
    """The whole orchestration config, as far as environment management is concerned."""

    environments: EnvironmentsSection = EnvironmentsSection()
    data_folder: DataFolderSettings = DataFolderSettings()
    services: dict[Name, ServiceSettings] = Field(default_factory=dict)
    jupyterhub: JupyterhubSettings = JupyterhubSettings()
    images: ImagesSettings = ImagesSettings()

    def with_environments_resolved(self) -> OrchestrationSettings:
        """These settings with the environment each service and the user container uses
        written out: a copy of ``environments.default`` where they have none of their own.
        """
        default = self.environments.default
        services = {
            name: service.model_copy(update={"environment": service.environment or default})
            for name, service in self.services.items()
        }
        singleuser = self.jupyterhub.singleuser
        jupyterhub = self.jupyterhub.model_copy(
            update={
                "singleuser": singleuser.model_copy(
                    update={"environment": singleuser.environment or default}
                )
            }
        )
        return self.model_copy(update={"services": services, "jupyterhub": jupyterhub})

    @field_validator("services")
    @classmethod
    def _no_reserved_names(cls, value: dict[str, ServiceSettings]) -> dict[str, ServiceSettings]:
        if "singleuser" in value:
            raise ValueError(
                "'singleuser' is the JupyterHub user container's environment; "
                "give the service another name"
            )
        return value
