"""The registry harness itself: a real TLS registry, podman push/pull, GPG-signed images.

These facts are what image distribution through a registry rests on: an image pushed by
one host and pulled into another host's own store keeps its ID, a host whose policy
requires signatures takes a correctly signed image and refuses an unsigned one, one
signed by another key, and one whose signature was tampered with.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.registry import ClientConfig, Registry, SigningKey, signed_registry
from support.roots import RootCommandError

pytestmark = pytest.mark.podman


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, Path, str]]:
    with signed_registry(tmp_path_factory.mktemp("registry")) as value:
        yield value


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SigningKey, SigningKey]]:
    work = tmp_path_factory.mktemp("keys")
    ours, theirs = SigningKey.create(work / "ours"), SigningKey.create(work / "theirs", "Other")
    yield ours, theirs
    ours.stop_agent()
    theirs.stop_agent()


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[list[ClientConfig]]:
    """Collects the simulated hosts of a test and removes their podman stores after it."""
    made: list[ClientConfig] = []
    yield made
    for host in made:
        host.remove_store()


def host(hosts: list[ClientConfig], config: ClientConfig) -> ClientConfig:
    hosts.append(config)
    return config


def tiny_image(host: ClientConfig, directory: Path, tag: str, content: str) -> str:
    """Import a one-file image into `host`'s store; return its ID."""
    directory.mkdir(parents=True)
    (directory / "answer").write_text(content)
    archive = directory.with_suffix(".tar")
    subprocess.run(["tar", "-C", str(directory), "-cf", str(archive), "."], check=True)
    return host.podman("import", "-q", str(archive), tag).stdout.strip().removeprefix("sha256:")


def test_a_signed_image_reaches_another_store_with_its_id(
    registry: tuple[Registry, Path, str],
    keys: tuple[SigningKey, SigningKey],
    tmp_path: Path,
    hosts: list[ClientConfig],
) -> None:
    reg, lookaside, url = registry
    ours, _ = keys
    build = host(hosts, ClientConfig.create(tmp_path / "build", reg, lookaside, signer=ours))
    lab = host(hosts, ClientConfig.create(tmp_path / "lab", reg, lookaside, url, trusted=ours))
    image_id = tiny_image(build, tmp_path / "img", "localhost/tiny:1", "signed")
    target = reg.reference("juice/signed", "1")

    build.podman("push", "--sign-by", ours.fingerprint, "localhost/tiny:1", target)

    assert reg.tags("juice/signed") == ["1"]
    assert any(lookaside.glob("juice/signed@sha256=*/signature-1"))
    lab.podman("pull", "-q", target)
    pulled = lab.podman("image", "inspect", "--format", "{{.Id}}", target).stdout.strip()
    assert pulled == image_id


def test_a_host_that_requires_signatures_refuses_unsigned_and_foreign_ones(
    registry: tuple[Registry, Path, str],
    keys: tuple[SigningKey, SigningKey],
    tmp_path: Path,
    hosts: list[ClientConfig],
) -> None:
    reg, lookaside, url = registry
    ours, theirs = keys
    build = host(hosts, ClientConfig.create(tmp_path / "build", reg, lookaside, signer=theirs))
    lab = host(hosts, ClientConfig.create(tmp_path / "lab", reg, lookaside, url, trusted=ours))
    tiny_image(build, tmp_path / "img", "localhost/tiny:2", "unsigned")
    build.podman("push", "localhost/tiny:2", reg.reference("juice/unsigned", "1"))
    build.podman("push", "--sign-by", theirs.fingerprint, "localhost/tiny:2",
                 reg.reference("juice/foreign", "1"))  # fmt: skip

    with pytest.raises(RootCommandError, match="A signature was required, but no signature"):
        lab.podman("pull", "-q", reg.reference("juice/unsigned", "1"))
    with pytest.raises(RootCommandError, match="Source image rejected: Invalid GPG signature"):
        lab.podman("pull", "-q", reg.reference("juice/foreign", "1"))
    assert lab.podman("images", "-q").stdout.strip() == ""


def test_a_tampered_signature_is_refused(
    registry: tuple[Registry, Path, str],
    keys: tuple[SigningKey, SigningKey],
    tmp_path: Path,
    hosts: list[ClientConfig],
) -> None:
    reg, lookaside, url = registry
    ours, _ = keys
    build = host(hosts, ClientConfig.create(tmp_path / "build", reg, lookaside, signer=ours))
    lab = host(hosts, ClientConfig.create(tmp_path / "lab", reg, lookaside, url, trusted=ours))
    tiny_image(build, tmp_path / "img", "localhost/tiny:3", "tampered")
    target = reg.reference("juice/tampered", "1")
    build.podman("push", "--sign-by", ours.fingerprint, "localhost/tiny:3", target)
    (signature,) = lookaside.glob("juice/tampered@sha256=*/signature-1")
    data = bytearray(signature.read_bytes())
    data[len(data) // 2] ^= 0xFF
    signature.write_bytes(bytes(data))

    with pytest.raises(RootCommandError, match="Source image rejected"):
        lab.podman("pull", "-q", target)
    assert lab.podman("images", "-q").stdout.strip() == ""
