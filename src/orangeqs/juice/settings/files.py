"""Finding, parsing and merging the orchestration config files of a config directory.

Layout of an existing Juice host: ``orchestration.toml`` (priority 0),
``<N>-orchestration.toml`` and drop-ins ``orchestration.d/*.toml`` (priority N from a
``<N>-`` prefix, else 10). Files apply in order of (priority, path); tables merge
recursively, any other value (lists included) is replaced by the later file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orangeqs.juice.settings.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAIN_FILE = "orchestration.toml"
DROP_IN_DIR = "orchestration.d"
DROP_IN_PRIORITY = 10

_NUMBERED_MAIN = re.compile(r"^(\d+)-orchestration\.toml$")
_NUMBERED_DROP_IN = re.compile(r"^(\d+)-.+\.toml$")

KeyPath = tuple[str, ...]


@dataclass
class MergedConfig:
    """The merged raw data, and which file set each key (for error messages)."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[KeyPath, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def origin(self, key: Iterable[str]) -> Path | None:
        """The file that set `key` or, failing that, its closest enclosing table."""
        path = tuple(key)
        while path:
            if path in self.origins:
                return self.origins[path]
            path = path[:-1]
        return self.files[-1] if len(self.files) == 1 else None


def config_files(config_dir: Path) -> list[Path]:
    """The config files of `config_dir` in the order they apply.

    A directory that cannot be read raises OSError (a host problem, not bad input):
    reading it as empty would silently drop the administrator's settings.
    """
    candidates: list[tuple[int, Path]] = []
    if config_dir.is_dir():
        for path in config_dir.iterdir():
            if path.name == MAIN_FILE:
                candidates.append((0, path))
            elif match := _NUMBERED_MAIN.match(path.name):
                candidates.append((int(match.group(1)), path))
        drop_ins = config_dir / DROP_IN_DIR
        if drop_ins.is_dir():
            # iterdir, not glob: glob yields nothing from a directory it cannot read.
            for path in drop_ins.iterdir():
                if path.suffix != ".toml" or path.name.startswith("."):
                    continue  # editors' temporary files
                match = _NUMBERED_DROP_IN.match(path.name)
                candidates.append((int(match.group(1)) if match else DROP_IN_PRIORITY, path))
    return [path for _, path in sorted(candidates)]


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; errors name the file, line and reason.

    A file that cannot be read (permissions, a directory of that name) raises OSError,
    naming the file: a host problem, not bad input.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError.single(path, "", f"not UTF-8 text: {error.reason}") from error
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as error:
        raise ConfigError.single(path, "", f"not valid TOML: {error}") from error


def load_config_dir(config_dir: Path) -> MergedConfig:
    """Read and merge every config file of `config_dir`."""
    files = config_files(config_dir)
    if not files:
        raise ConfigError.single(
            config_dir / MAIN_FILE,
            "",
            "no configuration found: create it, or point --config-dir "
            "(JUICE_CONFIG_DIR) at the directory that holds orchestration.toml",
        )
    merged = MergedConfig(files=files)
    for path in files:
        merge_into(merged.data, read_toml(path), origin=path, origins=merged.origins)
    return merged


def merge_into(
    target: dict[str, Any],
    overlay: Mapping[str, Any],
    *,
    origin: Path | None = None,
    origins: dict[KeyPath, Path] | None = None,
    prefix: KeyPath = (),
) -> None:
    """Merge `overlay` into `target`: tables recursively, other values replaced."""
    for key, value in overlay.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge_into(target[key], value, origin=origin, origins=origins, prefix=path)
            continue
        target[key] = _copy(value)
        if origins is not None and origin is not None:
            for stale in [p for p in origins if p[: len(path)] == path]:
                del origins[stale]
            _record(origins, path, value, origin)


def _record(origins: dict[KeyPath, Path], path: KeyPath, value: Any, origin: Path) -> None:
    origins[path] = origin
    if isinstance(value, Mapping):
        for key, child in value.items():
            _record(origins, (*path, key), child, origin)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_copy(child) for child in value]
    return value
