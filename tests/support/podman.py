"""Rootful podman for tests: the suite's containers.conf and a local Debian base image.

No registry is reachable from tests, so base images are made locally from a
debootstrapped root (`podman import`). Simulated hosts (tests, benches) each get a
store of their own with `private_store`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from support import CACHE_DIR, file_lock
from support.roots import ROOT_PATH, debian_root_tarball, run

CONTAINERS_CONF = str(Path(__file__).with_name("containers.conf"))
BASE_IMAGE = "localhost/juice-test-base:bookworm"
# What every environment image needs from its base: the core package runs on python3,
# and HTTPS downloads need the CA bundle.
BASE_IMAGE_PACKAGES = ("python3", "ca-certificates")


# Builds on this machine reach PyPI only with its CA bundle (the network inspects TLS):
# the setting a lab behind such a proxy uses too (see the shipped config). The body of
# an environment's [<...>.build] table.
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CA_IN_BUILDS = "/etc/juice-host-ca.crt"
BUILD_SETTINGS = (
    f'volumes = ["{HOST_CA_BUNDLE}:{CA_IN_BUILDS}:ro"]\n'
    f'environment = {{ SSL_CERT_FILE = "{CA_IN_BUILDS}", UV_HTTP_RETRIES = "8" }}\n'
)


# The suite's own podman store, below this checkout's cache: every run sees the state a
# new machine has (nothing from the host's store), and two checkouts never share images.
STORE_DIR = CACHE_DIR / "podman-store"


def storage_conf_text(store: Path) -> str:
    """A storage.conf (CONTAINERS_STORAGE_CONF) for a podman store in `store`."""
    return f'[storage]\ndriver = "overlay"\ngraphroot = "{store}/graph"\nrunroot = "{store}/run"\n'


def storage_conf() -> Path:
    """A storage.conf for the suite's private store (written once per checkout)."""
    conf = STORE_DIR / "storage.conf"
    text = "# The test suite's private podman store (CONTAINERS_STORAGE_CONF).\n" + (
        storage_conf_text(STORE_DIR)
    )
    if not conf.exists() or conf.read_text() != text:
        STORE_DIR.mkdir(parents=True, exist_ok=True)
        conf.write_text(text)
    return conf


def podman_env() -> dict[str, str]:
    """os.environ plus the suite's containers.conf and private store."""
    return {
        **os.environ,
        "CONTAINERS_CONF": CONTAINERS_CONF,
        "CONTAINERS_STORAGE_CONF": str(storage_conf()),
    }


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `podman ARGS` with `podman_env()`; raise with its output on failure."""
    return run(["podman", *args], env=podman_env(), check=check)


def image_exists(tag: str) -> bool:
    """Whether podman's (rootful) store holds an image named `tag`."""
    return podman("image", "exists", tag, check=False).returncode == 0


def ensure_base_image(tag: str = BASE_IMAGE) -> str:
    """Import a bookworm minbase root with python3 into podman as `tag` once; return `tag`.

    Locked so concurrent test processes import it once; skipped when it already exists.
    """
    if image_exists(tag):
        return tag
    with file_lock(CACHE_DIR / "podman-base-image.lock"):
        if not image_exists(tag):
            tarball = debian_root_tarball(BASE_IMAGE_PACKAGES)
            podman(
                "import",
                # An imported root has no config: give builds and containers a PATH and shell.
                "--change", f"ENV=PATH={ROOT_PATH}",
                "--change", "CMD=/bin/bash",
                str(tarball),
                tag,
            )  # fmt: skip
    return tag


def remove_private_store(storage_conf: Path, graph: Path) -> None:
    """Remove the images of a private store and its directories (overlay mounts too).

    Never `podman system reset`: besides the store it removes podman's run-time
    directory that every podman on the host shares (/run/libpod), and a podman running
    beside it then fails ("creating runtime status file: ... /run/libpod/alive").
    """
    env = {**os.environ, "CONTAINERS_CONF": CONTAINERS_CONF,
           "CONTAINERS_STORAGE_CONF": str(storage_conf)}  # fmt: skip
    subprocess.run(["podman", "rmi", "--all", "--force"], env=env, capture_output=True,
                   check=False)  # fmt: skip
    for mount in (graph / "overlay", graph):
        subprocess.run(["umount", "--lazy", str(mount)], capture_output=True, check=False)
    shutil.rmtree(graph, ignore_errors=True)


@dataclass(frozen=True)
class PrivateStore:
    """A simulated host's own podman store, and a podman on its PATH that logs each call.

    `env` runs podman, and juice from this Python's bin directory, against this store;
    the log is how a caller counts what juice asked podman to do (`count("build")`).
    """

    directory: Path
    env: dict[str, str]

    @property
    def storage_conf(self) -> Path:
        return self.directory / "store/storage.conf"

    @property
    def graph(self) -> Path:
        return self.directory / "store/graph"

    @property
    def log(self) -> Path:
        return self.directory / "podman-calls.log"

    def calls(self) -> list[str]:
        """Every podman call through `env` so far, as its arguments joined by spaces."""
        return self.log.read_text().splitlines() if self.log.exists() else []

    def count(self, verb: str) -> int:
        """How many of `calls()` were `podman VERB ...`."""
        return sum(1 for call in self.calls() if call.startswith(f"{verb} "))

    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `podman ARGS` against this store; raise with its output on failure."""
        return run(["podman", *args], env=self.env, check=check)

    def remove(self) -> None:
        """Remove this store's images and directories (see `remove_private_store`)."""
        remove_private_store(self.storage_conf, self.graph)
        shutil.rmtree(self.directory / "store", ignore_errors=True)


def private_store(
    directory: Path, base_image: str | None = None, *, own_tmpdir: bool = False
) -> PrivateStore:
    """A `PrivateStore` below `directory`, holding `base_image` (copied from the suite's
    store with podman save / load) when one is named.

    `own_tmpdir`: podman keeps RUN --mount=type=cache directories under TMPDIR, so a
    TMPDIR of the store's own makes its first build pay the downloads, as a new host's does.
    """
    real = shutil.which("podman")
    if real is None:
        raise RuntimeError("podman is not on PATH")
    store = directory / "store"
    store.mkdir(parents=True)
    (store / "storage.conf").write_text(storage_conf_text(store))
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    log = directory / "podman-calls.log"
    (bin_dir / "podman").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    (bin_dir / "podman").chmod(0o755)
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {
        **os.environ,
        "CONTAINERS_CONF": CONTAINERS_CONF,
        "CONTAINERS_STORAGE_CONF": str(store / "storage.conf"),
        "PATH": path,
    }
    if own_tmpdir:
        (store / "tmp").mkdir()
        env["TMPDIR"] = str(store / "tmp")
    made = PrivateStore(directory, env)
    if base_image is not None:
        archive = directory / "base.tar"
        podman("save", "-o", str(archive), base_image)
        made.podman("load", "-i", str(archive))
        archive.unlink()
    return made
