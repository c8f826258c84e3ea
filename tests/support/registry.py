"""A real OCI registry on 127.0.0.1 for tests: Debian's docker-registry (CNCF Distribution).

Typical use::

    with running_registry(tmp_path / "registry") as registry:   # TLS with a test CA
        signer = SigningKey.create(tmp_path / "gnupg")
        build_host = ClientConfig.create(tmp_path / "build-host", registry, signer=signer)
        lab_host = ClientConfig.create(tmp_path / "lab-host", registry, trusted=signer)
        podman push with build_host.env(...); podman pull with lab_host.env(...)

What is real and what is the test's own:
- The registry speaks TLS with a certificate for 127.0.0.1 issued by a throwaway CA.
  podman trusts a registry's CA from ``/etc/containers/certs.d/HOST:PORT/ca.crt`` (for
  root there is no per-user certs.d), so the CA is installed under the registry's own
  HOST:PORT directory for the block and removed after it: nothing else is touched.
- Signatures are podman's "simple signing" (GPG), the kind podman 4.3 makes with
  ``push --sign-by``. They live beside the registry in a *lookaside* store: the build
  host writes them to a directory, lab hosts read them over HTTP (served here on
  127.0.0.1). Which store to use comes from ``registries.d``; whether a signature is
  required comes from ``policy.json``. Both are read from ``$HOME/.config/containers/``
  when present, so each simulated host gets its own HOME and nothing under /etc changes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.http import serve_directory
from support.podman import PrivateStore, private_store
from support.roots import run

# Where podman (as root) looks for a registry's CA: one directory per HOST:PORT.
CERTS_D = Path("/etc/containers/certs.d")
HOST = "127.0.0.1"
READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class TestCA:
    """A throwaway certificate authority and a server certificate for 127.0.0.1."""

    ca_cert: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def create(cls, directory: Path) -> TestCA:
        """Make the CA and a server certificate it signed (openssl, valid two days)."""
        directory.mkdir(parents=True, exist_ok=True)
        ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
        key, csr, cert = (
            directory / "server.key",
            directory / "server.csr",
            directory / "server.crt",
        )
        extensions = directory / "server.ext"
        extensions.write_text(f"subjectAltName=IP:{HOST}\n")
        run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=juice test CA",
                "-keyout",
                str(ca_key),
                "-out",
                str(ca_cert),
            ]
        )
        run(
            [
                "openssl",
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                f"/CN={HOST}",
                "-keyout",
                str(key),
                "-out",
                str(csr),
            ]
        )
        run(["openssl", "x509", "-req", "-days", "2", "-in", str(csr), "-CA", str(ca_cert),
             "-CAkey", str(ca_key), "-CAcreateserial", "-extfile", str(extensions),
             "-out", str(cert)])  # fmt: skip
        return cls(ca_cert, cert, key)


@dataclass(frozen=True)
class Registry:
    """A registry serving on 127.0.0.1."""

    address: str  # HOST:PORT, the prefix of every image reference in it
    ca: TestCA
    storage: Path

    def reference(self, repository: str, tag: str) -> str:
        """An image reference in this registry, e.g. 127.0.0.1:5000/juice/x:tag."""
        return f"{self.address}/{repository}:{tag}"

    def tags(self, repository: str) -> list[str]:
        """The tags the registry holds for `repository` (the distribution API's tag list)."""
        url = f"https://{self.address}/v2/{repository}/tags/list"
        context = ssl.create_default_context(cafile=str(self.ca.ca_cert))
        try:
            with urllib.request.urlopen(url, context=context, timeout=10) as response:
                return sorted(json.load(response).get("tags") or [])
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return []
            raise


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _registry_config(storage: Path, port: int, ca: TestCA) -> str:
    # JSON is YAML: the registry reads this as its config.yml.
    return json.dumps(
        {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
            "http": {
                "addr": f"{HOST}:{port}",
                "tls": {"certificate": str(ca.server_cert), "key": str(ca.server_key)},
            },
        },
        indent=2,
    )


def _wait_ready(address: str, ca: TestCA, process: subprocess.Popen[bytes], log: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca.ca_cert))
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"docker-registry exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(f"https://{address}/v2/", context=context, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"docker-registry did not answer on {address}:\n{log.read_text()}")


@contextmanager
def running_registry(directory: Path) -> Iterator[Registry]:
    """Start docker-registry with TLS on a free port of 127.0.0.1; stop it after the block.

    The registry's CA is installed in podman's certs.d under this registry's HOST:PORT
    for the block only.
    """
    if shutil.which("docker-registry") is None:
        raise RuntimeError("docker-registry is not installed (scripts/setup-host installs it)")
    directory.mkdir(parents=True, exist_ok=True)
    ca = TestCA.create(directory / "tls")
    storage = directory / "storage"
    port = _free_port()
    address = f"{HOST}:{port}"
    config = directory / "config.yml"
    config.write_text(_registry_config(storage, port, ca))
    log = directory / "registry.log"
    certs = CERTS_D / address
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(address, ca, process, log)
        certs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ca.ca_cert, certs / "ca.crt")
        yield Registry(address, ca, storage)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(certs, ignore_errors=True)


@dataclass(frozen=True)
class SigningKey:
    """A GPG key without passphrase in its own GNUPGHOME, for ``podman push --sign-by``."""

    home: Path
    fingerprint: str

    @classmethod
    def create(cls, home: Path, name: str = "Juice Image Signing Test") -> SigningKey:
        """Generate the key (ed25519: small and quick)."""
        home.mkdir(mode=0o700, parents=True)
        env = {**os.environ, "GNUPGHOME": str(home)}
        email = f"{name.lower().replace(' ', '-')}@test.invalid"
        run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"{name} <{email}>",
             "ed25519", "sign", "2d"], env=env)  # fmt: skip
        listing = run(["gpg", "--batch", "--with-colons", "--list-secret-keys"], env=env).stdout
        fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )
        return cls(home, fingerprint)

    def export_public(self, path: Path) -> Path:
        """Write the public key (binary keyring, what policy.json's keyPath takes)."""
        env = {**os.environ, "GNUPGHOME": str(self.home)}
        path.write_bytes(subprocess.run(
            ["gpg", "--batch", "--export", self.fingerprint],
            env=env, check=True, capture_output=True,
        ).stdout)  # fmt: skip
        return path

    def stop_agent(self) -> None:
        """Stop the gpg-agent that signing started for this GNUPGHOME."""
        env = {**os.environ, "GNUPGHOME": str(self.home)}
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)


@dataclass(frozen=True)
class ClientConfig:
    """One simulated host's podman client settings: its HOME, store, and signing role."""

    home: Path
    store: PrivateStore
    gnupg_home: Path | None

    @classmethod
    def create(
        cls,
        directory: Path,
        registry: Registry,
        lookaside: Path,
        lookaside_url: str | None = None,
        *,
        signer: SigningKey | None = None,
        trusted: SigningKey | None = None,
        base_image: str | None = None,
    ) -> ClientConfig:
        """A host with its own podman store below `directory` (see `private_store`).

        `signer`: this host signs what it pushes, writing signatures to `lookaside`.
        `trusted`: this host refuses images from the registry unless signed by that key,
        reading signatures from `lookaside_url`.
        `base_image`: copied into the host's store from the suite's.
        """
        home = directory / "home"
        containers = home / ".config/containers"
        (containers / "registries.d").mkdir(parents=True, exist_ok=True)
        sigstore: dict[str, str] = {"lookaside-staging": lookaside.as_uri()}
        if lookaside_url:
            sigstore["lookaside"] = lookaside_url
        (containers / "registries.d/juice-test.yaml").write_text(
            json.dumps({"docker": {registry.address: sigstore}}, indent=2)
        )
        if trusted is not None:
            key = trusted.export_public(directory / "trusted.gpg")
            requirement = [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(key)}]
            policy = {
                "default": [{"type": "insecureAcceptAnything"}],
                "transports": {"docker": {registry.address: requirement}},
            }
            (containers / "policy.json").write_text(json.dumps(policy, indent=2))
        store = private_store(directory, base_image)
        return cls(home, store, signer.home if signer else None)

    def env(self) -> dict[str, str]:
        """The environment podman runs with for this host."""
        env = {**self.store.env, "HOME": str(self.home)}
        if self.gnupg_home:
            env["GNUPGHOME"] = str(self.gnupg_home)
        return env

    def remove_store(self) -> None:
        """Remove this host's images and podman store (its overlay mount included)."""
        self.store.remove()

    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run podman as this host."""
        return run(["podman", *args], env=self.env(), check=check)


@contextmanager
def signed_registry(directory: Path) -> Iterator[tuple[Registry, Path, str]]:
    """A registry and its lookaside signature store served over HTTP: (registry, store, URL)."""
    lookaside = directory / "lookaside"
    lookaside.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        registry = stack.enter_context(running_registry(directory / "registry"))
        url = stack.enter_context(serve_directory(lookaside))
        yield registry, lookaside, url
