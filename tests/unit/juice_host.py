"""A host tree under a temporary root, and a way to run the CLI against it."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from orangeqs.juice.cli import main
from orangeqs.juice.paths import HostPaths


@dataclass
class JuiceHost:
    """A host tree under a temporary root, with helpers to configure it and run juice."""

    root: Path
    paths: HostPaths

    def write_config(self, text: str, name: str = "orchestration.toml") -> Path:
        path = self.paths.config_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            main, ["--root", str(self.root), *args], env=env, catch_exceptions=False
        )

    def generated(self) -> list[Path]:
        """What juice wrote in the generated tree, apart from its lock file."""
        if not self.paths.envs_dir.exists():
            return []
        return sorted(p for p in self.paths.envs_dir.iterdir() if p != self.paths.lock_file)

    def tree(self) -> dict[str, bytes]:
        """Every file under the root (config included), for 'nothing written' checks.

        The (empty) lock file is left out: it is taken before the configuration is read,
        so even a refused render or build may create it.
        """
        return {
            str(path.relative_to(self.root)): path.read_bytes()
            for path in sorted(self.root.rglob("*"))
            if path.is_file() and path != self.paths.lock_file
        }


MINIMAL = """
[environments.default]
type = "uv"
base_image = "docker.io/library/debian:bookworm-slim"
"""
