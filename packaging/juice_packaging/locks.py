"""Regenerate the hashed lock files: ``python -m juice_packaging.locks`` (see docs/packaging.md).

- requirements-runtime.txt: what the managed venv holds besides orangeqs-juice-core,
  resolved from pyproject.toml's dependencies plus the ``host`` extra (the uv binary
  that image builds mount). Universal (every Python >= 3.10, every platform), so one
  lock serves every distribution release's system Python.
- requirements-tools.txt: the build tools, from requirements-tools.in, for the build
  machine's /usr/bin/python3.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"

RUNTIME_HEADER = """\
# The managed venv's pinned dependencies (orangeqs-juice-core itself comes from the wheel
# the build makes). Each is there because orangeqs-juice-core needs it: the "via" lines
# say which requirement of pyproject.toml pulls it in; uv is the `host` extra (the binary
# every image build mounts). Generated with hashes: python -m juice_packaging.locks
"""
TOOLS_HEADER = "# Pinned, hashed build tools (generated from requirements-tools.in; do not edit).\n"


def compile_lock(uv: Path, args: list[str], header: str, out: Path) -> None:
    """Run ``uv pip compile`` and write its output after our header."""
    result = subprocess.run(
        [str(uv), "pip", "compile", "--quiet", "--generate-hashes", "--no-header", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    out.write_text(header + result.stdout, encoding="utf-8")


def main() -> None:
    """Regenerate both lock files with the tool environment's uv."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uv", type=Path, default=REPO / ".cache/packaging-tools/bin/uv")
    uv = parser.parse_args().uv
    compile_lock(
        uv,
        ["--universal", "--python-version", "3.10", "--extra", "host", "pyproject.toml"],
        RUNTIME_HEADER,
        PACKAGING / "requirements-runtime.txt",
    )
    compile_lock(
        uv,
        [
            "--python-version",
            "3.11",
            "--python-platform",
            "x86_64-manylinux_2_28",
            "packaging/requirements-tools.in",
        ],
        TOOLS_HEADER,
        PACKAGING / "requirements-tools.txt",
    )


if __name__ == "__main__":
    main()
