"""container.memory accepts exactly the sizes this machine's podman --memory accepts."""

from __future__ import annotations

import subprocess

import pytest
from pydantic import TypeAdapter, ValidationError

from orangeqs.juice.settings.types import MemorySize

pytestmark = pytest.mark.podman

SIZES = ["2GB", "1.5G", "2GiB", "2 GB", "512m", "2Gi", "1073741824", "1.5", "0"]
NOT_SIZES = ["1.2.3G", "2XB", "-1", ".5G", "2 G B", "1e9", "2GBi", "G"]


def podman_accepts(size: str, image: str, env: dict[str, str]) -> bool:
    created = subprocess.run(
        ["podman", "create", "--memory", size, image, "true"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if created.returncode == 0:
        subprocess.run(["podman", "rm", created.stdout.strip()], env=env, capture_output=True)
    return created.returncode == 0


def juice_accepts(size: str) -> bool:
    try:
        TypeAdapter(MemorySize).validate_python(size)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("size", SIZES + NOT_SIZES)
def test_juice_and_podman_agree_on_memory_sizes(
    size: str, base_image: str, podman_env: dict[str, str]
) -> None:
    expected = size in SIZES
    assert podman_accepts(size, base_image, podman_env) is expected, "podman changed"
    assert juice_accepts(size) is expected
