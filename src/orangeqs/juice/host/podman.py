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


def image_tags(podman: Path, repository: str) -> list[str]:
    """Every tag of `repository` (e.g. localhost/juice-x) as repository:tag."""
    result = subprocess.run(
        [str(podman), "images", "--format", "{{.Repository}}:{{.Tag}}",
         "--filter", f"reference={repository}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise PodmanError(f"podman images {repository} failed: {result.stderr.strip()}")
    return [line for line in result.stdout.split() if line.startswith(f"{repository}:")]


def untag(podman: Path, references: Sequence[str]) -> None:
    """Remove these tags (the images stay while another tag or a container uses them)."""
    for reference in references:
        # `podman untag IMAGE` alone removes every tag of IMAGE: name the one to remove.
        subprocess.run(
            [str(podman), "untag", reference, reference], capture_output=True, check=False
        )


def run_quietly(argv: Sequence[str]) -> None:
    """Run a housekeeping command whose failure changes nothing (e.g. a prune)."""
    subprocess.run(list(argv), capture_output=True, check=False)


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
