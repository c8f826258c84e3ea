"""The Containerfile of an environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orangeqs.juice.environments.core_source import CoreSource
from orangeqs.juice.environments.locks import THIRD_PARTY_REQUIREMENTS
from orangeqs.juice.environments.mounts import BUILD_UV, CONTAINER_USER, ENV_DIR
from orangeqs.juice.environments.pyproject import THIRD_PARTY_FILE
from orangeqs.juice.environments.spec import EnvironmentSpec
from orangeqs.juice.environments.templating import templates
from orangeqs.juice.environments.units import CORE_VERSION_LABEL, DIGEST_LABEL
from orangeqs.juice.paths import LOCK_NAME


def quote_env_value(value: str) -> str:
    """A Containerfile ENV value: double-quoted, with no variable expansion.

    The settings already refuse control characters, so a value stays on its line.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def core_marker(core: CoreSource) -> str:
    """Text that changes exactly when the installed orangeqs-juice-core would."""
    if core.kind == "wheel" and core.wheel:
        return f"orangeqs-juice-core {core.version} wheel sha256:{core.wheel.sha256}"
    return f"orangeqs-juice-core {core.version} from {core.kind}"


# The template of every environment's Containerfile (beside the templating module).
CONTAINERFILE_TEMPLATE = "Containerfile.j2"


def containerfile_values(
    spec: EnvironmentSpec, core: CoreSource, locked: bool = False, wheel_alone: bool = False
) -> dict[str, Any]:
    """The values the Containerfile template renders, except the digest; with the
    template's text they determine the file, so the image's identity is computed from
    them without rendering (`juice env status` loads no template engine).

    `locked`: install from the environment's uv.lock (which `juice env build` always has)
    rather than resolve; `wheel_alone`: the lock does not hold the core, whose layer
    installs the package's own wheel by itself.
    """
    config = spec.config
    managed = config.python_source == "managed"
    return {
        "core_version_label": CORE_VERSION_LABEL,
        "core_version": core.version,
        "digest_label": DIGEST_LABEL,
        "base_image": config.base_image,
        "container_environment": [
            (key, quote_env_value(value)) for key, value in config.container.environment.items()
        ],
        "build_arguments": list(config.build.environment),
        "system_packages": " ".join(config.system_packages),
        "extra_lines": list(config.extra_dockerfile_lines),
        "user": CONTAINER_USER,
        "user_id": spec.user_id,
        "group_id": spec.group_id,
        "home": config.home_path,
        "shared": config.shared_path,
        "env_dir": ENV_DIR,
        # Made in the image too, so they exist (owned by the user) where the host's
        # folders are not mounted, e.g. during the build of an image without them.
        "user_folders": " ".join(
            dict.fromkeys([config.home_path, config.shared_path, config.shared_lib_path])
        ),
        "python_source": config.python_source,
        "python_preference": "only-managed" if managed else "only-system",
        "python_downloads": "automatic" if managed else "never",
        "python_request": config.python_version,
        "uv": str(BUILD_UV),
        "core_marker": core_marker(core),
        "third_party_file": THIRD_PARTY_FILE,
        "locked": locked,
        "third_party_requirements": THIRD_PARTY_REQUIREMENTS,
        "lock_file": LOCK_NAME,
        "core_wheel": str(core.bundled.path) if core.bundled and wheel_alone else "",
    }


def render_containerfile(values: Mapping[str, Any], digest: str | None = None) -> str:
    """The Containerfile text (deterministic: same values, same bytes). `digest` (None
    while computing it) goes into the last line's label."""
    return templates().get_template(CONTAINERFILE_TEMPLATE).render(**values, digest=digest)
