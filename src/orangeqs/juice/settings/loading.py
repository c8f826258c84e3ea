"""Loading validated settings from a config directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orangeqs.juice.settings.errors import ConfigError, Problem
from orangeqs.juice.settings.files import MergedConfig, load_config_dir
from orangeqs.juice.settings.models import OrchestrationSettings


@dataclass(frozen=True)
class LoadedSettings:
    """Validated settings and the files they came from."""

    settings: OrchestrationSettings
    merged: MergedConfig

    @property
    def files(self) -> list[Path]:
        """The config files, in the order they applied."""
        return self.merged.files

    def origin(self, dotted_key: str) -> Path | None:
        """The file that set `dotted_key` (or its closest enclosing table)."""
        return self.merged.origin(dotted_key.split("."))


def load_settings(config_dir: Path) -> LoadedSettings:
    """Read, merge and validate the config in `config_dir`; raise ConfigError if unusable."""
    merged = load_config_dir(config_dir)
    return validate(merged)


def validate(merged: MergedConfig) -> LoadedSettings:
    """Validate merged raw config data."""
    try:
        settings = OrchestrationSettings.model_validate(merged.data)
    except ValidationError as error:
        raise ConfigError(problems(error, merged)) from None
    return LoadedSettings(settings=settings, merged=merged)


def problems(error: ValidationError, merged: MergedConfig) -> list[Problem]:
    """One Problem per pydantic error, with the file and dotted key it concerns."""
    found: list[Problem] = []
    for item in error.errors(include_url=False):
        key = _data_path(merged.data, item["loc"], missing=item["type"] == "missing")
        ctx = item.get("ctx") or {}
        if item["type"] == "unknown_key" and len(ctx.get("key_names", [])) == 1:
            key = (*key, ctx["key_names"][0])
        if item["type"] == "environment_type":
            key = (*key, "type")
        found.append(Problem(merged.origin(key), _dotted(key), _reason(item)))
    return found


def _reason(item: Any) -> str:
    message = str(item["msg"])
    if item["type"] == "missing":
        return "required key is missing"
    if item["type"] == "extra_forbidden":
        return "unknown key"
    # "Value error, ..." is pydantic's prefix for our own validators' messages.
    return message.removeprefix("Value error, ")


def _data_path(data: Any, loc: Sequence[int | str], *, missing: bool) -> tuple[str, ...]:
    """The part of a pydantic location that is real config keys (union tags dropped)."""
    path: list[str] = []
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            path.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(f"[{part}]")
            node = node[part]
        elif missing and index == len(loc) - 1:
            # The missing required key itself: not in the data, but it is the subject.
            path.append(str(part))
    return tuple(path)


def _dotted(path: Sequence[str]) -> str:
    text = ""
    for part in path:
        if part.startswith("["):
            text += part
        else:
            text += ("." if text else "") + part
    return text
