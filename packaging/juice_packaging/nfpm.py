"""Fill packaging/nfpm.yaml and run nfpm for one format."""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template

from juice_packaging.steps import StepFailed, run


def render_config(template: Path, values: dict[str, str | list[str]]) -> str:
    """The template with every ``${NAME}`` filled; lists become YAML flow items."""
    mapping = {
        key: ", ".join(json.dumps(item) for item in value) if isinstance(value, list) else value
        for key, value in values.items()
    }
    text = Template(template.read_text(encoding="utf-8")).safe_substitute(mapping)
    left = sorted(set(re.findall(r"\$\{(\w+)\}", text)))
    if left:
        raise StepFailed(f"{template}: no value for {', '.join(left)}")
    return text


def package(nfpm: Path, config: Path, packager: str, target: Path, epoch: int) -> None:
    """Write one package with nfpm, at exactly `target`.

    nfpm reads SOURCE_DATE_EPOCH for the times it writes itself (archive members,
    the RPM build time); the config's ``mtime`` covers the files.
    """
    run(
        [nfpm, "package", "--config", config, "--packager", packager, "--target", target],
        cwd=config.parent,
        env={"SOURCE_DATE_EPOCH": str(epoch)},
    )
    if not target.is_file():
        raise StepFailed(f"nfpm reported success but wrote no {target}")
