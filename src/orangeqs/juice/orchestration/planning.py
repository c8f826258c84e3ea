"""From the config directory to the rendered text of every environment."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from orangeqs.juice._version import __version__
from orangeqs.juice.environments.core_source import (
    BundledWheel,
    CoreSourceError,
    resolve_core_source,
)
from orangeqs.juice.environments.locks import StoredLock, lock_needed
from orangeqs.juice.environments.mounts import MountConflictError
from orangeqs.juice.environments.rendering import (
    RenderedEnvironment,
    render_environment,
)
from orangeqs.juice.environments.spec import (
    EnvironmentSpec,
    plan_environments,
    select,
    unit_clashes,
)
from orangeqs.juice.environments.units import Tools
from orangeqs.juice.host.locks import read_stored_lock
from orangeqs.juice.host.tools import find_bundled_wheel
from orangeqs.juice.paths import HostPaths
from orangeqs.juice.settings import ConfigError, LoadedSettings, load_settings


@dataclass(frozen=True)
class Plan:
    """The rendered environments and what they were rendered from."""

    loaded: LoadedSettings
    environments: list[RenderedEnvironment]
    all_names: list[str]
    # Every unit the whole config writes (also when only some environments are rendered).
    all_units: list[str]
    # The host paths rendered with: the given ones with the configured [data_folder].
    paths: HostPaths
    # Each rendered environment's lock as the host holds it (rendered from when usable).
    locks: dict[str, StoredLock] = field(default_factory=dict)
    # The tools rendered with (a second plan after locking renders with the same).
    tools: Tools | None = None


def environment_key(spec: EnvironmentSpec) -> str:
    """The config key holding an environment's settings (for error messages)."""
    if spec.uses_default:
        return "environments.default"
    if spec.name == "singleuser":
        return "jupyterhub.singleuser.environment"
    return f"services.{spec.name}.environment"


def make_plan(
    paths: HostPaths,
    tools: Tools,
    names: list[str] | None = None,
    version: str = __version__,
) -> Plan:
    """Load the config and render the environments named (all when `names` is None).

    Raises ConfigError for anything wrong with the config, before anything is written.
    """
    loaded = load_settings(paths.config_dir)
    paths = host_paths(paths, loaded)
    specs = plan_environments(loaded.settings)
    all_names = [spec.name for spec in specs]
    all_units = [unit for spec in specs for unit in (spec.build_unit, spec.run_unit) if unit]
    clashes = unit_clashes(specs)
    if clashes:
        unit, owners = next(iter(clashes.items()))
        raise ConfigError.single(
            loaded.origin("services"),
            "services",
            f"environments {' and '.join(owners)} would both write {unit}; rename one",
        )
    if names:
        try:
            specs = select(specs, names)
        except KeyError as error:
            raise ConfigError.single(
                None,
                "",
                f"no environment named {error.args[0]}; "
                f"the environments are: {', '.join(all_names)}",
            ) from None
    wheel = find_bundled_wheel(paths.dist_dir, version)
    locks = {spec.name: read_stored_lock(paths.lock_dir(spec.name), tools.uv) for spec in specs}
    rendered = [
        _render(spec, loaded, paths, tools, version, wheel, locks[spec.name]) for spec in specs
    ]
    return Plan(loaded, rendered, all_names, all_units, paths, locks, tools)


def host_paths(paths: HostPaths, loaded: LoadedSettings) -> HostPaths:
    """`paths` with the host folders of ``[data_folder]``; the wheels folder only when
    this host has it (OrangeQS Juice hosts do; a mount of a missing folder fails)."""
    data_folder = loaded.settings.data_folder
    paths = paths.with_data_folder(data_folder.user_data_shared, data_folder.dist_data)
    if paths.dist_data_dir and not paths.dist_data_dir.is_dir():
        paths = replace(paths, dist_data_dir=None)
    return paths


def _render(
    spec: EnvironmentSpec,
    loaded: LoadedSettings,
    paths: HostPaths,
    tools: Tools,
    version: str,
    wheel: BundledWheel | None,
    stored: StoredLock,
) -> RenderedEnvironment:
    key = environment_key(spec)
    try:
        core = resolve_core_source(spec.config, version, wheel)
        rendered = render_environment(spec, core, paths, tools, stored.usable())
        if rendered.locked and lock_needed(stored, rendered.lock_project):
            # Its lock was made for another configuration: until it is locked again,
            # the files are this configuration's, resolving in the build.
            rendered = render_environment(spec, core, paths, tools, None)
        return rendered
    except CoreSourceError as error:
        raise ConfigError.single(loaded.origin(key), f"{key}.core_source", str(error)) from None
    except MountConflictError as error:
        raise ConfigError.single(loaded.origin(key), f"{key}.{error.key}", str(error)) from None
