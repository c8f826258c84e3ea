"""Everything rendered for one environment, as text, before anything is written."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from orangeqs.juice.environments.containerfile import (
    CONTAINERFILE_TEMPLATE,
    containerfile_values,
    render_containerfile,
)
from orangeqs.juice.environments.core_source import CoreSource
from orangeqs.juice.environments.locks import THIRD_PARTY_REQUIREMENTS, Locked, holds_core
from orangeqs.juice.environments.pyproject import THIRD_PARTY_FILE, names_core, render_pyproject
from orangeqs.juice.environments.spec import EnvironmentSpec
from orangeqs.juice.environments.templating import template_source
from orangeqs.juice.environments.units import (
    BuildCommand,
    Tools,
    build_command,
    render_build_unit,
    render_run_unit,
)
from orangeqs.juice.paths import LOCK_NAME, HostPaths

# The files a render writes in an environment's directory, in no other place: what
# removing a stale environment deletes (host/generated.py), and nothing else.
CONTAINERFILE = "Containerfile"
PYPROJECT = "pyproject.toml"
ENVIRONMENT_FILES = (THIRD_PARTY_FILE, PYPROJECT, CONTAINERFILE)
# With a lock: the lock (a copy; juice keeps it in HostPaths.lock_dir) and its export.
LOCKED_FILES = (LOCK_NAME, THIRD_PARTY_REQUIREMENTS)


@dataclass(frozen=True)
class RenderedEnvironment:
    """The files of an environment and how to build it.

    The Containerfile and the units are rendered when first asked for: a plan that is
    only compared with the images (`juice env status`) never loads the template engine.
    """

    spec: EnvironmentSpec
    core: CoreSource
    # The files other than the Containerfile: file name -> text.
    inputs: dict[str, str]
    # What the Containerfile template renders (with `digest`).
    containerfile_values: dict[str, Any]
    build: BuildCommand
    # Identifies the inputs of the image (the lock among them); a label on the built image.
    digest: str
    paths: HostPaths
    tools: Tools
    # Installed from a lock (what `juice env build` builds); False: uv resolves in the build.
    locked: bool = False
    # The core may stay out of the lock: it is the package's own wheel, and the
    # configuration does not name it (its requirements are in the third-party file).
    core_separable: bool = False
    # The lock holds the core (always, but for a separable core whose lock does not).
    core_in_lock: bool = True

    @cached_property
    def files(self) -> dict[str, str]:
        """File name -> text, written to the environment's directory."""
        containerfile = render_containerfile(self.containerfile_values, self.digest)
        return {**self.inputs, CONTAINERFILE: containerfile}

    @cached_property
    def units(self) -> dict[str, str]:
        """Unit file name -> text, written to the systemd unit directory."""
        spec = self.spec
        units = {spec.build_unit: render_build_unit(spec, self.paths, self.build)}
        if spec.run_unit:
            units[spec.run_unit] = render_run_unit(spec, self.core, self.paths, self.tools)
        return units

    @property
    def lock_project(self) -> str:
        """The pyproject.toml the lock is made for: without the core when its lock does not
        hold it (see locking.py: the package pins its own wheel by content, and the file
        lists what the core needs, so a new core version with the same requirements keeps
        the lock: no uv run, and a host that pulls its images needs no new locks)."""
        return self.inputs[PYPROJECT if self.core_in_lock else THIRD_PARTY_FILE]

    @property
    def full_project(self) -> str:
        """The pyproject.toml with the core, which every lock is first made for."""
        return self.inputs[PYPROJECT]

    @property
    def third_party_project(self) -> str:
        """The pyproject.toml without the core, for a lock that leaves the core out."""
        return self.inputs[THIRD_PARTY_FILE]


def render_environment(
    spec: EnvironmentSpec,
    core: CoreSource,
    paths: HostPaths,
    tools: Tools,
    locked: Locked | None = None,
) -> RenderedEnvironment:
    """Render one environment, from its lock when `locked` is given.

    Pure: no clock, no subprocess, no file access but the package's own templates.
    """
    is_locked = locked is not None
    inputs = {
        THIRD_PARTY_FILE: render_pyproject(spec, None, _core_requirements(core)),
        PYPROJECT: render_pyproject(spec, core),
    }
    if locked is not None:
        inputs[LOCK_NAME] = locked.lock
        inputs[THIRD_PARTY_REQUIREMENTS] = locked.third_party
    separable = core.bundled is not None and not names_core(spec)
    core_in_lock = not (separable and locked is not None and not holds_core(locked.lock))
    values = containerfile_values(spec, core, is_locked, wheel_alone=not core_in_lock)
    # Tool locations differ between shells and installs but not what they build.
    unlabelled = build_command(spec, core, paths, _NAMED_TOOLS, digest=None)
    digest = _digest(inputs, values, unlabelled)
    command = build_command(spec, core, paths, tools, digest=digest)
    return RenderedEnvironment(
        spec, core, inputs, values, command, digest, paths, tools, is_locked,
        core_separable=separable, core_in_lock=core_in_lock,
    )  # fmt: skip


def _core_requirements(core: CoreSource) -> tuple[str, ...]:
    """What the bundled core wheel needs (unknown for the other sources)."""
    return core.bundled.requirements if core.bundled else ()


_NAMED_TOOLS = Tools(podman=Path("podman"), uv=Path("uv"))


# Options of the build command that name an environment's own files or image: not what
# the image is built from.
PER_ENVIRONMENT_OPTIONS = frozenset({"--file", "--tag", "--label"})


def _digest(inputs: dict[str, str], values: dict[str, Any], command: BuildCommand) -> str:
    """The identity of the image: its files (the Containerfile as its template and
    values) and build options, not the environment's name, so environments of the same
    configuration have one identity and share one image."""
    hasher = hashlib.sha256()
    for name in sorted(inputs):
        hasher.update(f"{name}\0{inputs[name]}\0".encode())
    template = template_source(CONTAINERFILE_TEMPLATE)
    hasher.update(f"{CONTAINERFILE}\0{template}\0{json.dumps(values, sort_keys=True)}\0".encode())
    hasher.update("\0".join(build_options(command)).encode())
    return hasher.hexdigest()[:32]


def build_options(command: BuildCommand) -> list[str]:
    """The build command without the environment's own paths and names (its --file,
    --tag and --label values, and the context directory, its last argument)."""
    argv = command.build[:-1]
    return [
        arg
        for arg, before in zip(argv, ("", *argv[:-1]), strict=True)
        if before not in PER_ENVIRONMENT_OPTIONS
    ]
