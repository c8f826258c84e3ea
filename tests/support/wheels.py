"""Wheels fetched from PyPI at test time (into the suite cache, never committed), and a
local package index (PEP 503 layout) made of some of them.

    wheels = fetch_wheels(["six==1.16.0", "six==1.17.0"])
    write_index(index_dir, [wheels["six==1.16.0"]])
    with serve_directory(index_dir) as url:  # uv: f"{url}/simple"
        ...
"""

from __future__ import annotations

import hashlib
import html
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from support import CACHE_DIR, file_lock

WHEELS_DIR = CACHE_DIR / "wheels"


def fetch_wheels(requirements: Sequence[str], dest: Path = WHEELS_DIR) -> dict[str, Path]:
    """Each pinned requirement's wheel (``name==version``), downloaded once; by requirement."""
    found: dict[str, Path] = {}
    with file_lock(dest / ".lock"):
        for requirement in requirements:
            name, version = requirement.split("==")
            pattern = f"{name.replace('-', '_')}-{version}-*.whl"
            matches = sorted(dest.glob(pattern))
            if not matches:
                download(["--no-deps", requirement], dest)
                matches = sorted(dest.glob(pattern))
            assert matches, f"pip download {requirement} gave no {pattern} in {dest}"
            found[requirement] = matches[0]
    return found


def download(arguments: list[str], dest: Path) -> None:
    """pip download of binary wheels into `dest` (the host's CA bundle applies)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:",
         "--index-url", "https://pypi.org/simple", "--dest", str(dest), *arguments],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def write_index(index: Path, wheels: Iterable[Path]) -> None:
    """A PEP 503 "simple" index of `wheels` below `index`: index/simple/<name>/ lists the
    files (in index/files/) with their sha256, as PyPI does, so that uv records hashes."""
    by_project: dict[str, list[Path]] = {}
    for wheel in wheels:
        project = wheel.name.split("-")[0].replace("_", "-").lower()
        by_project.setdefault(project, []).append(wheel)
    files = index / "files"
    files.mkdir(parents=True, exist_ok=True)
    simple = index / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    for project, project_wheels in sorted(by_project.items()):
        links = []
        for wheel in sorted(project_wheels):
            target = files / wheel.name
            if not target.exists():
                target.write_bytes(wheel.read_bytes())
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            name = html.escape(wheel.name)
            links.append(f'<a href="../../files/{name}#sha256={digest}">{name}</a><br>')
        (simple / project).mkdir(exist_ok=True)
        (simple / project / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
        )
    projects = sorted(p.name for p in simple.iterdir() if p.is_dir())
    (simple / "index.html").write_text(
        "<!DOCTYPE html><html><body>\n"
        + "\n".join(f'<a href="{p}/">{p}</a><br>' for p in projects)
        + "\n</body></html>\n"
    )
