"""The systemd units of an environment and the podman commands they run."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orangeqs.juice.environments.core_source import CoreSource
from orangeqs.juice.environments.mounts import Mount, build_mounts, run_mounts
from orangeqs.juice.environments.spec import IMAGE_PREFIX, EnvironmentSpec
from orangeqs.juice.environments.templating import templates
from orangeqs.juice.ownership import GENERATED_MARKER
from orangeqs.juice.paths import HostPaths

if TYPE_CHECKING:  # `juice --version` runs without importing pydantic
    from orangeqs.juice.settings.models import ContainerSettings

DIGEST_LABEL = "org.orangeqs.juice.digest"
# The core version whose rendering built the image (generations are counted by it).
CORE_VERSION_LABEL = "org.orangeqs.juice.core-version"
# Which environment an image was built for, on images of juice before images were
# shared between environments of the same configuration (read, no longer written).
ENVIRONMENT_LABEL = "org.orangeqs.juice.environment"
UNIT_MARKER = GENERATED_MARKER

_PLAIN = re.compile(r"[A-Za-z0-9_@+=:,./-]+")


def systemd_quote(argument: str) -> str:
    """One argument of an Exec= line, as systemd will split it back.

    Specifiers (%) and variable expansion ($) are escaped so the value is taken literally.
    """
    escaped = argument.replace("%", "%%").replace("$", "$$")
    if _PLAIN.fullmatch(argument):
        return escaped
    escaped = escaped.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def systemd_path(path: Path) -> str:
    """A path for settings such as WorkingDirectory=: taken as is, but specifiers expand."""
    return str(path).replace("%", "%%")


def systemd_file_url(path: Path) -> str:
    """A file:// URL for Documentation=, whose URLs are separated by spaces."""
    return ("file://" + urllib.parse.quote(str(path))).replace("%", "%%")


def exec_line(argv: Sequence[str]) -> str:
    """A command line for ExecStart= and friends."""
    return " ".join(systemd_quote(arg) for arg in argv)


def image_tag(version: str) -> str:
    """An image tag for a version (tags allow letters, digits, '_', '.', '-')."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", version)


def environment_of_reference(reference: str) -> str | None:
    """The environment whose repository a name is in (``.../juice-<name>:<tag>``), if any."""
    repository = reference.rsplit(":", 1)[0] if ":" in reference.rsplit("/", 1)[-1] else reference
    base = repository.rsplit("/", 1)[-1]
    return base.removeprefix(IMAGE_PREFIX) if base.startswith(IMAGE_PREFIX) else None


def identity_reference(image: str, digest: str) -> str:
    """The tag that names one identity: the image built from exactly these inputs.

    Every generation keeps this tag, so it is never dangling and its layers stay cache.
    """
    return f"{image}:id-{digest}"


def version_reference(image: str, version: str) -> str:
    """What the services of core `version` run: juice points it at that version's image."""
    return f"{image}:{image_tag(version)}"


@dataclass(frozen=True)
class Tools:
    """The host programs builds use."""

    podman: Path
    uv: Path


@dataclass(frozen=True)
class BuildCommand:
    """What a build unit runs; without systemd, juice runs the same argv itself."""

    build: tuple[str, ...]


def _volume_args(mounts: Sequence[Mount]) -> list[str]:
    return [arg for mount in mounts for arg in ("-v", mount.spec())]


def build_command(
    spec: EnvironmentSpec,
    core: CoreSource,
    paths: HostPaths,
    tools: Tools,
    digest: str | None,
) -> BuildCommand:
    """The podman build command; `digest` (None while computing it) names the image."""
    config = spec.config
    env_dir = paths.env_dir(spec.name)
    argv = [str(tools.podman), "build", "--file", str(env_dir / "Containerfile")]
    if digest:
        # The identity tag keeps this generation; the version tag is what services run.
        argv += ["--tag", identity_reference(spec.image, digest)]
    argv += ["--tag", version_reference(spec.image, core.version)]
    if config.arch:
        argv += ["--arch", config.arch]
    argv += _volume_args(build_mounts(config, core, paths, tools.uv))
    for key, value in config.build.environment.items():
        argv += ["--build-arg", f"{key}={value}"]
    argv += config.build.podman_args
    argv.append(str(env_dir))
    return BuildCommand(build=tuple(argv))


def render_build_unit(spec: EnvironmentSpec, paths: HostPaths, command: BuildCommand) -> str:
    """The text of juice-<name>-build.service."""
    return (
        templates()
        .get_template("build.service.j2")
        .render(
            name=spec.name,
            documentation=systemd_file_url(paths.env_dir(spec.name) / "Containerfile"),
            working_directory=systemd_path(paths.env_dir(spec.name)),
            build=exec_line(command.build),
        )
    )


# USB serial instruments: character devices ttyACM (major 166) and ttyUSB (major 188).
USB_SERIAL_MAJORS = (166, 188)
USB_SERIAL_GROUP = "dialout"


def runtime_args(container: ContainerSettings) -> list[str]:
    """The podman run options of the runtime-only container keys (never used to build).

    ``usb_passthrough`` mounts the host's /dev, so instruments plugged in later appear
    too, and lets the container open USB serial devices; those belong to ``dialout``.
    """
    argv: list[str] = []
    for port in container.port_forwarding:
        argv += ["-p", f"{port.host_port}:{port.container_port}"]
    for device in container.devices:
        argv += ["--device", device]
    groups = list(container.group_add)
    if container.usb_passthrough:
        argv += _volume_args([Mount("/dev", "/dev")])
        for major in USB_SERIAL_MAJORS:
            argv += ["--device-cgroup-rule", f"c {major}:* rwm"]
        if USB_SERIAL_GROUP not in groups:
            groups.append(USB_SERIAL_GROUP)
    for group in groups:
        argv += ["--group-add", group]
    if container.memory:
        argv += ["--memory", container.memory]
    return argv


def run_command(
    spec: EnvironmentSpec, core: CoreSource, paths: HostPaths, tools: Tools
) -> tuple[str, ...]:
    """The podman run command of a service's container."""
    assert spec.command is not None
    container = f"juice-{spec.name}"
    argv = [str(tools.podman), "run", "--rm", "--replace", "--name", container]
    argv += _volume_args(run_mounts(spec.config, core, paths))
    argv += runtime_args(spec.config.container)
    # The image of the installed core version, named explicitly: an unfinished upgrade
    # (some images of the new version missing) never moves what a service runs.
    argv.append(version_reference(spec.image, core.version))
    argv += spec.command
    return tuple(argv)


def render_run_unit(spec: EnvironmentSpec, core: CoreSource, paths: HostPaths, tools: Tools) -> str:
    """The text of juice-<name>.service, for a service with a command."""
    stop = (str(tools.podman), "stop", "--ignore", "--time", "10", f"juice-{spec.name}")
    return (
        templates()
        .get_template("run.service.j2")
        .render(
            name=spec.name,
            run=exec_line(run_command(spec, core, paths, tools)),
            stop=exec_line(stop),
        )
    )
