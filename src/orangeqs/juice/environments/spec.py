"""Which environments exist: one per service and one for the JupyterHub user container."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `juice --version` runs without importing pydantic
    from orangeqs.juice.settings.models import OrchestrationSettings, UvEnvironment

SINGLEUSER = "singleuser"
IMAGE_PREFIX = "juice-"


@dataclass(frozen=True)
class EnvironmentSpec:
    """One environment: its name, its config, and where that config came from."""

    name: str
    config: UvEnvironment
    # True when the config is a copy of [environments.default].
    uses_default: bool
    # The host ids the container user gets ([data_folder] user_id / group_id).
    user_id: int
    group_id: int
    # The service's command, when the service should run as a systemd unit.
    command: tuple[str, ...] | None = None

    @property
    def image(self) -> str:
        """The image name (each environment has its own, so each rebuilds alone)."""
        return f"localhost/{IMAGE_PREFIX}{self.name}"

    @property
    def build_unit(self) -> str:
        """The systemd unit that builds the image."""
        return f"{IMAGE_PREFIX}{self.name}-build.service"

    @property
    def run_unit(self) -> str | None:
        """The systemd unit that runs the service's container, if it has a command."""
        return f"{IMAGE_PREFIX}{self.name}.service" if self.command else None


def plan_environments(settings: OrchestrationSettings) -> list[EnvironmentSpec]:
    """Every environment of the config: ``singleuser`` first, then services by name."""
    default = settings.environments.default
    data_folder = settings.data_folder
    singleuser = settings.jupyterhub.singleuser.environment
    specs = [
        EnvironmentSpec(
            name=SINGLEUSER,
            config=singleuser or default,
            uses_default=singleuser is None,
            user_id=data_folder.user_id,
            group_id=data_folder.group_id,
        )
    ]
    for name in sorted(settings.services):
        service = settings.services[name]
        specs.append(
            EnvironmentSpec(
                name=name,
                config=service.environment or default,
                uses_default=service.environment is None,
                command=tuple(service.command) if service.command else None,
                user_id=data_folder.user_id,
                group_id=data_folder.group_id,
            )
        )
    return specs


def unit_clashes(specs: list[EnvironmentSpec]) -> dict[str, list[str]]:
    """Unit names that more than one environment would write, with those environments.

    A service ``foo`` and a service ``foo-build`` with a command would both write
    ``juice-foo-build.service``.
    """
    owners: dict[str, list[str]] = {}
    for spec in specs:
        for unit in (spec.build_unit, spec.run_unit):
            if unit:
                owners.setdefault(unit, []).append(spec.name)
    return {unit: names for unit, names in owners.items() if len(names) > 1}


def select(specs: list[EnvironmentSpec], names: list[str]) -> list[EnvironmentSpec]:
    """The specs named, in the order given; unknown names raise KeyError with all of them."""
    by_name = {spec.name: spec for spec in specs}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [by_name[name] for name in dict.fromkeys(names)]
