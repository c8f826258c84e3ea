"""The maintainer scripts, generated from one set of shell fragments at package build time.

debian/*.in and rpm/*.in are thin per-format wrappers (the argument conventions of dpkg
and rpm); each ``#include NAME`` line there is replaced by packaging/scriptlets/NAME, the
logic both formats share (rebuild, purge, byte-compile), as debhelper splices its
autoscripts in. Every ``@NAME@`` in a fragment is filled, shell-quoted, from the one
place the core defines it (orangeqs.juice.ownership, orangeqs.juice.paths), so a fix or
a changed marker lands in both formats at once. The default configuration the scripts
install is staged here too, headed by the version that ships it.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from juice_packaging.steps import StepFailed
from juice_packaging.venv import INSTALLED_VENV

REPO = Path(__file__).resolve().parents[2]
FRAGMENTS = REPO / "packaging" / "scriptlets"
CORE = REPO / "src" / "orangeqs" / "juice"
CONFIG_SOURCE = REPO / "packaging" / "config" / "orchestration.toml"
# Where the .deb ships its default; postinst copies it to the config dir once.
DEFAULT_CONFIG = "/usr/share/orangeqs-juice/orchestration.toml"
# How long the maintainer scripts let juice wait for another juice process's lock.
LOCK_TIMEOUT_ENV = "JUICE_LOCK_TIMEOUT"
LOCK_TIMEOUT_SECONDS = 600
# Wrapper name in the source -> name nfpm's config uses, per format.
WRAPPERS = {
    "deb": ("debian", ["postinst", "postrm", "prerm"]),
    "rpm": ("rpm", ["post", "posttrans", "postun", "preun"]),
}
_INCLUDE = re.compile(r"^#include ([\w.-]+)$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


@dataclass(frozen=True)
class Staged:
    """Where the rendered scripts went (one directory per format) and every script."""

    deb: Path
    rpm: Path
    scripts: list[Path]


def _load(name: str, path: Path) -> ModuleType:
    """Import one core module by file, without importing the core package (and its deps)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise StepFailed(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def core_values() -> dict[str, str]:
    """Every value the fragments use, from the core's own definitions."""
    ownership = _load("_juice_core_ownership", CORE / "ownership.py")
    core_paths = _load("_juice_core_paths", CORE / "paths.py")
    paths = core_paths.HostPaths.under(Path("/"))
    log_prefix, star, log_suffix = str(paths.build_log("*")).partition("*")
    config = paths.config_dir / "orchestration.toml"
    return {
        "MARKER": ownership.GENERATED_MARKER,
        "STAMP": ownership.GENERATED_DIR_STAMP,
        "VENV": INSTALLED_VENV,
        "CONFIG": str(config),
        "CONFIG_DIR": str(paths.config_dir),
        "CONFIG_PARENT": str(paths.config_dir.parent),
        "DEFAULT_CONFIG": DEFAULT_CONFIG,
        "ENVS_DIR": str(paths.envs_dir),
        "SHARED_DIR": str(paths.shared_dir),
        # Purge removes the shared folder and the folders juice made above it, if empty.
        "SHARED_PARENT": str(paths.shared_dir.parent),
        "SHARED_GRANDPARENT": str(paths.shared_dir.parent.parent),
        "LEGACY_SHARED_DIR": core_paths.LEGACY_SHARED_DIR,
        "VAR_DIR": str(paths.envs_dir.parent),
        "RUN_DIR": str(paths.run_dir),
        "UNIT_DIR": str(paths.unit_dir),
        "LOG_DIR": str(paths.log_dir),
        "BUILD_LOG_PREFIX": log_prefix if star else "",
        "BUILD_LOG_SUFFIX": log_suffix,
        "LOCK_FILE": str(paths.lock_file),
        "LOCKS_DIR": str(paths.locks_dir),
        "LOCK_NAME": core_paths.LOCK_NAME,
        "LOCKED_PYPROJECT_NAME": core_paths.LOCKED_PYPROJECT_NAME,
        "LOCKED_EXPORT_NAME": core_paths.LOCKED_EXPORT_NAME,
        "LOCK_WORK_SUFFIX": core_paths.LOCK_WORK_SUFFIX,
        "GENERATIONS_DIR": str(paths.generations_dir),
        "GENERATIONS_SUFFIX": core_paths.GENERATIONS_SUFFIX,
        "PREVIOUS_LOCK_PREFIX": core_paths.PREVIOUS_LOCK_PREFIX,
        "LEGACY_PODMAN_LOCK": core_paths.LEGACY_PODMAN_LOCK,
        "LOCK_TIMEOUT_ENV": LOCK_TIMEOUT_ENV,
        "LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
    }


def render(wrapper: Path, values: dict[str, str], fragments: Path = FRAGMENTS) -> str:
    """The wrapper with every ``#include`` spliced in and every ``@NAME@`` filled.

    Values are shell-quoted, so a marker with spaces or parentheses stays one word.
    """

    def include(match: re.Match[str]) -> str:
        fragment = fragments / match.group(1)
        if not fragment.is_file():
            raise StepFailed(f"{wrapper}: #include {match.group(1)}: no {fragment}")
        return fragment.read_text(encoding="utf-8").rstrip("\n") + "\n"

    text = _INCLUDE.sub(include, wrapper.read_text(encoding="utf-8"))
    missing = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise StepFailed(f"{wrapper}: no value for {', '.join('@' + m + '@' for m in missing)}")
    return _PLACEHOLDER.sub(lambda m: shlex.quote(values[m.group(1)]), text)


def default_config(version: str) -> str:
    """The shipped orchestration.toml: the source file, headed by the version it ships with.

    The header lets a file found beside the administrator's (rpm's ``.rpmnew``) say
    what it holds.
    """
    header = (
        f"# The default configuration of orangeqs-juice {version}.\n"
        "# Found as orchestration.toml.rpmnew: the new version's default, put beside your\n"
        "# orchestration.toml, which is kept unchanged and stays in use; merge what you\n"
        "# want from here, then delete this file.\n"
    )
    return header + CONFIG_SOURCE.read_text(encoding="utf-8")


def staged(stage_dir: Path) -> Staged:
    """Where `stage` puts the scripts below `stage_dir`."""
    out = {packager: stage_dir / "scripts" / packager for packager in WRAPPERS}
    scripts = [out[packager] / name for packager, (_, names) in WRAPPERS.items() for name in names]
    return Staged(deb=out["deb"], rpm=out["rpm"], scripts=scripts)


def stage(stage_dir: Path, version: str) -> Staged:
    """Render every maintainer script into ``stage_dir/scripts/{deb,rpm}/`` and stage
    the default configuration under ``stage_dir/root`` (.deb: DEFAULT_CONFIG; .rpm: the
    config dir itself, as %config(noreplace))."""
    values = core_values()
    where = staged(stage_dir)
    for packager, (source_dir, names) in WRAPPERS.items():
        out = where.deb if packager == "deb" else where.rpm
        out.mkdir(parents=True)
        for name in names:
            target = out / name
            target.write_text(render(REPO / source_dir / f"{name}.in", values), encoding="utf-8")
            target.chmod(0o755)
    config = default_config(version)
    for path in (DEFAULT_CONFIG, values["CONFIG"]):
        staged_config = stage_dir / "root" / path.lstrip("/")
        staged_config.parent.mkdir(parents=True, exist_ok=True)
        staged_config.write_text(config, encoding="utf-8")
    return where
