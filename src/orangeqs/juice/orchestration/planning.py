"""From the config directory to the rendered text of every environment."""

from __future__ import annotations

from dataclasses import dataclass

from orangeqs.juice._version import __version__
from orangeqs.juice.environments.core_source import (
    BundledWheel,
    CoreSourceError,
    resolve_core_source,
)
from orangeqs.juice.environments.mounts import SourceConflictError
from orangeqs.juice.environments.rendering import RenderedEnvironment, render_environment
from orangeqs.juice.environments.spec import (
    EnvironmentSpec,
    plan_environments,
    select,
    unit_clashes,
)
from orangeqs.juice.environments.units import Tools
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
    rendered = [_render(spec, loaded, paths, tools, version, wheel) for spec in specs]
    return Plan(loaded, rendered, all_names, all_units)


def _render(
    spec: EnvironmentSpec,
    loaded: LoadedSettings,
    paths: HostPaths,
    tools: Tools,
    version: str,
    wheel: BundledWheel | None,
) -> RenderedEnvironment:
    key = environment_key(spec)
    try:
        core = resolve_core_source(spec.config, version, wheel)
        return render_environment(spec, core, paths, tools)
    except CoreSourceError as error:
        raise ConfigError.single(loaded.origin(key), f"{key}.core_source", str(error)) from None
    except SourceConflictError as error:
        raise ConfigError.single(loaded.origin(key), f"{key}.sources", str(error)) from None
