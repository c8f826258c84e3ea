"""piuparts, Debian's own installation checker, on the .deb: install and purge on a
minimal Debian 12 (nothing left behind, nothing of the system gone: /opt stays), and
install v1 from an apt repository, upgrade to v2 from the file, purge.

Slow (a few minutes: piuparts makes its own chroot and installs podman into it twice);
the base chroot piuparts sets up is cached under .cache/piuparts/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from support import CACHE_DIR, file_lock
from support.packages import BuiltPackages
from support.roots import SUITE, debian_mirror

BASE_TGZ = CACHE_DIR / "piuparts" / f"{SUITE}.tgz"


def local_repository(directory: Path, deb: Path) -> str:
    """A flat apt repository holding `deb`; its sources.list line (trusted: test only)."""
    directory.mkdir()
    shutil.copy2(deb, directory / deb.name)
    packages = subprocess.run(
        ["apt-ftparchive", "packages", "."], cwd=directory, capture_output=True, check=True
    ).stdout
    (directory / "Packages").write_bytes(packages)
    return f"deb [trusted=yes] file://{directory} ./"


def test_piuparts_install_purge_and_upgrade_from_v1(
    v1: BuiltPackages, v2: BuiltPackages, tmp_path: Path
) -> None:
    repo = tmp_path / "v1-repo"
    argv = [
        "piuparts", "-d", SUITE, "-m", debian_mirror(), "--tmpdir", str(tmp_path),
        # v1 known to apt in the chroot: piuparts then also runs its upgrade test.
        "--extra-repo", local_repository(repo, v1.deb), "--bindmount", str(repo),
    ]  # fmt: skip
    BASE_TGZ.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(BASE_TGZ.with_suffix(".lock")):
        saving = BASE_TGZ.with_name(f".{BASE_TGZ.name}.{os.getpid()}")
        argv += ["-b", str(BASE_TGZ)] if BASE_TGZ.is_file() else ["-s", str(saving)]
        result = subprocess.run(
            [*argv, str(v2.deb)], capture_output=True, text=True, check=False, timeout=1800
        )
        if saving.is_file():
            saving.rename(BASE_TGZ)
    output = result.stdout + result.stderr
    failures = "\n".join(
        line for line in output.splitlines() if "ERROR" in line or "FAIL" in line or "  /" in line
    )
    assert result.returncode == 0, failures or output[-5000:]
    assert "PASS: Installation and purging test." in output
    assert "PASS: Installation, upgrade and purging tests." in output
    assert "PASS: All tests." in output
