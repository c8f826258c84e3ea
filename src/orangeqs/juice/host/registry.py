"""podman push and pull of environment images to and from a registry.

Everything about reaching the registry is podman's own configuration, never juice's:
credentials from its auth file (`podman login`, REGISTRY_AUTH_FILE), TLS from
/etc/containers/certs.d, plain HTTP only where registries.conf says `insecure = true`,
and which signatures a pull requires from policy.json and registries.d.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class RegistryError(RuntimeError):
    """A push or pull failed; the message is podman's reason, in one line."""


@dataclass(frozen=True)
class Pulled:
    """An image a pull brought into the local store."""

    image_id: str
    # The digest of the manifest the registry served (what the signature covers).
    manifest_digest: str
    labels: dict[str, str]


def _run(podman: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(podman), *args], capture_output=True, text=True, check=False)


def _reason(stderr: str) -> str:
    """podman's error line without its progress lines ("Trying to pull ...")."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error: ")]
    return (errors or lines or ["no reason given"])[-1]


def pull(podman: Path, reference: str) -> Pulled:
    """Pull `reference` (policy.json decides whether its signature is required)."""
    result = _run(podman, "pull", "--quiet", reference)
    if result.returncode != 0:
        raise RegistryError(_reason(result.stderr))
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise RegistryError(f"podman pull {reference} named no image")
    image_id = lines[-1].removeprefix("sha256:")
    inspect = _run(podman, "image", "inspect", image_id)
    if inspect.returncode != 0:
        raise RegistryError(_reason(inspect.stderr))
    try:
        (found,) = json.loads(inspect.stdout)
        labels = {str(key): str(value) for key, value in (found.get("Labels") or {}).items()}
    except (ValueError, AttributeError) as error:
        raise RegistryError(
            f"podman image inspect {image_id}: unexpected output ({error})"
        ) from None
    return Pulled(image_id, str(found.get("Digest") or ""), labels)


def forget(podman: Path, reference: str) -> None:
    """Remove the name `reference` (and its image, when that was its only name); never
    its parent layers (see images.remove)."""
    _run(podman, "rmi", "--no-prune", reference)


def push(podman: Path, image: str, reference: str, sign_by: str | None) -> str:
    """Push the local `image` as `reference`, signed by the GPG key `sign_by` if given;
    return the digest of the manifest the registry now holds."""
    with tempfile.TemporaryDirectory(prefix="juice-push-") as scratch:
        digest_file = Path(scratch) / "digest"
        signing = ["--sign-by", sign_by] if sign_by else []
        result = _run(
            podman, "push", "--quiet", *signing, "--digestfile", str(digest_file),
            image, reference,
        )  # fmt: skip
        if result.returncode != 0:
            raise RegistryError(_reason(result.stderr))
        return digest_file.read_text().strip()
