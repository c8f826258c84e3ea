"""This checkout's core package under another version, for upgrade tests and benches."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# uv of the dev venv (or the bench's venv): builds wheels as a release does.
UV = Path(sys.executable).parent / "uv"


def checkout_as_version(tree: Path, version: str) -> Path:
    """A copy of this checkout's package in `tree` (its sources, pyproject.toml and
    README) whose version is `version`; returns `tree`."""
    shutil.copytree(REPO / "src", tree / "src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tree / name)
    version_file = tree / "src/orangeqs/juice/_version.py"
    text = version_file.read_text()
    version_file.write_text(re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"', text))
    return tree


def build_wheel(tree: Path, out: Path) -> Path:
    """The wheel of the package in `tree`, built with uv into `out`."""
    subprocess.run([str(UV), "build", "--wheel", "--out-dir", str(out), str(tree)],
                   check=True, capture_output=True)  # fmt: skip
    (wheel,) = out.glob("*.whl")
    return wheel
