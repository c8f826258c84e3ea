"""Build the system packages once per version and source state, for every test process.

`build_packages("1.0.0")` runs scripts/build-packages with that version override and a
fixed SOURCE_DATE_EPOCH, caching the result under .cache/test-packages/<version>-<hash>/
where the hash covers every input of the build; a file lock makes concurrent processes
build each version once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from support import CACHE_DIR, REPO_ROOT, file_lock

# Fixed, so that a second build of the same sources can be compared byte for byte.
SOURCE_DATE_EPOCH = 1767225600  # 2026-01-01T00:00:00Z
PACKAGES_DIR = CACHE_DIR / "test-packages"
# Everything the build reads; a change to any of them makes a new cache entry.
_INPUTS = (
    "pyproject.toml", "README.md", "src", "packaging", "debian", "rpm",
    "scripts/build-packages",
)  # fmt: skip


@dataclass(frozen=True)
class BuiltPackages:
    """The outputs of one build."""

    version: str  # PEP 440, as given
    deb: Path
    rpm: Path
    wheel: Path
    checksums: Path


def source_hash() -> str:
    """SHA-256 (short) over the paths and bytes of every build input."""
    digest = hashlib.sha256()
    for name in _INPUTS:
        top = REPO_ROOT / name
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# The target the suite builds unless a test names another (juice_packaging.targets).
DEFAULT_TARGET = "debian12"


def run_build(
    version: str, out_dir: Path, *, lint: bool = False, target: str = DEFAULT_TARGET
) -> subprocess.CompletedProcess[str]:
    """Run scripts/build-packages (output captured; the caller checks the exit code)."""
    argv = [
        str(REPO_ROOT / "scripts" / "build-packages"),
        "--version",
        version,
        "--target",
        target,
        "--out",
        str(out_dir),
    ]
    if not lint:
        argv.append("--no-lint")
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)}
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)


def _collect(version: str, directory: Path) -> BuiltPackages:
    def one(pattern: str) -> Path:
        found = sorted(directory.glob(pattern))
        if len(found) != 1:
            raise FileNotFoundError(f"expected one {pattern} in {directory}, found {found}")
        return found[0]

    return BuiltPackages(
        version=version,
        deb=one("orangeqs-juice_*.deb"),
        rpm=one("orangeqs-juice-*.rpm"),
        wheel=one("orangeqs_juice_core-*.whl"),
        checksums=one("SHA256SUMS"),
    )


def build_packages(
    version: str, out_dir: Path | None = None, target: str = DEFAULT_TARGET
) -> BuiltPackages:
    """The .deb, .rpm, wheel and SHA256SUMS of `version` for `target`, built once and cached.

    With `out_dir`, the files are copied there (and those paths returned).
    """
    cached = PACKAGES_DIR / f"{version}-{target}-{source_hash()}"
    with file_lock(PACKAGES_DIR / f"{version}-{target}.lock"):
        if not (cached / ".complete").is_file():
            shutil.rmtree(cached, ignore_errors=True)
            result = run_build(version, cached, target=target)
            if result.returncode != 0:
                raise RuntimeError(
                    f"scripts/build-packages --version {version} --target {target} failed:\n"
                    f"{result.stdout}\n{result.stderr}"
                )
            (cached / ".complete").write_text(result.stdout, encoding="utf-8")
    built = _collect(version, cached)
    if out_dir is None:
        return built
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in (built.deb, built.rpm, built.wheel, built.checksums):
        shutil.copy2(path, out_dir / path.name)
    return _collect(version, out_dir)
