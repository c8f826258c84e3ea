"""Running a podman build directly (without systemd), and podman's error type."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path


class PodmanError(RuntimeError):
    """podman could not answer."""


def run_logged(build: Sequence[str], log: Path) -> int:
    """Run a build, its output logged to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as handle:
        handle.write("$ " + " ".join(build) + "\n")
        handle.flush()
        returncode = subprocess.run(
            list(build), stdout=handle, stderr=subprocess.STDOUT, check=False
        ).returncode
        handle.write(f"# exit status {returncode}\n")
    return returncode
