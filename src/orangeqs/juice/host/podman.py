"""Asking podman about images, and running a build command directly."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path


class PodmanError(RuntimeError):
    """podman could not answer."""


def image_labels(podman: Path, image: str) -> dict[str, str] | None:
    """The labels of `image`, or None when there is no such image."""
    exists = subprocess.run(
        [str(podman), "image", "exists", image], capture_output=True, check=False
    )
    if exists.returncode == 1:
        return None
    if exists.returncode != 0:
        raise PodmanError(f"podman image exists {image} failed: {exists.stderr.decode().strip()}")
    result = subprocess.run(
        [str(podman), "image", "inspect", "--format", "{{json .Labels}}", image],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PodmanError(f"podman image inspect {image} failed: {result.stderr.strip()}")
    labels = json.loads(result.stdout or "null")
    return {str(key): str(value) for key, value in (labels or {}).items()}


def run_logged(build: Sequence[str], prune: Sequence[str], log: Path) -> int:
    """Run a build and then a prune (its failure ignored), both logged to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as handle:
        handle.write("$ " + " ".join(build) + "\n")
        handle.flush()
        returncode = subprocess.run(
            list(build), stdout=handle, stderr=subprocess.STDOUT, check=False
        ).returncode
        handle.write(f"# exit status {returncode}\n$ " + " ".join(prune) + "\n")
        handle.flush()
        subprocess.run(list(prune), stdout=handle, stderr=subprocess.STDOUT, check=False)
    return returncode
