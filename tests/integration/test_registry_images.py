"""Build once, run on many hosts: environment images through a real registry.

A build host builds every environment and pushes it (`juice env push`) to a TLS
docker-registry on 127.0.0.1; lab hosts with their own podman stores and the same
configuration and core version get the images with `juice env build` in a pull mode.
Each simulated host has its own store, HOME (policy.json, registries.d) and a podman
wrapper on PATH that logs every call, so "no podman build" is a fact from the log.

All hosts use one root path in turn (each replaces the previous one's files): an
image's identity covers the build command, which names host paths, and real hosts all
use the same paths (/).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.podman import BUILD_SETTINGS
from support.registry import ClientConfig, Registry, SigningKey, signed_registry

from orangeqs.juice import __version__
from orangeqs.juice.environments.units import image_tag

pytestmark = pytest.mark.podman

JUICE_BIN = Path(sys.executable).parent
NAMES = ["singleuser", "plain"]
# The registry's repository prefixes: all images signed; one image missing; unsigned;
# signed, then the signatures tampered with.
SIGNED, PARTIAL, UNSIGNED, TAMPERED = "juice", "partial", "unsigned", "tampered"
# Signed, but each identity tag holds the other environment's image.
SWAPPED = "swapped"


def config(base_image: str, registry: str, source: str) -> str:
    """singleuser on the default environment; plain on one of its own, which differs by a
    variable (environments of one configuration share one image: these must not)."""

    def environment(section: str, extra: str = "") -> str:
        return (
            textwrap.dedent(
                f"""
                [{section}]
                type = "uv"
                base_image = "{base_image}"
                python_source = "system"
                {extra}
                [{section}.build]
                """
            )
            + BUILD_SETTINGS
        )

    images = f'\n[images]\nregistry = "{registry}"\nsource = "{source}"\n'
    return (
        environment("environments.default")
        + environment("services.plain.environment", 'container.environment = { ROLE = "plain" }')
        + images
    )


@dataclass
class Host:
    """One simulated host: podman client settings (with a logging podman) and the shared root."""

    client: ClientConfig
    root: Path
    base_image: str
    core_wheel: Path

    def install(self, registry: str, source: str) -> None:
        """This host's root (replacing the previous host's) with its configuration."""
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root / "etc/juice/config").mkdir(parents=True)
        self.configure(registry, source)
        dist = self.root / "opt/orangeqs/juice/dist"
        dist.mkdir(parents=True)
        shutil.copy(self.core_wheel, dist)

    def configure(self, registry: str, source: str) -> None:
        path = self.root / "etc/juice/config/orchestration.toml"
        path.write_text(config(self.base_image, registry, source))

    def juice(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(JUICE_BIN / "juice"), "--root", str(self.root), *args],
            env=self.client.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=1200,
        )

    def podman_builds(self) -> int:
        return self.client.store.count("build")

    def podman_calls(self) -> str:
        return "\n".join(self.client.store.calls())

    def image_ids(self) -> dict[str, str | None]:
        ids: dict[str, str | None] = {}
        for name in NAMES:
            found = self.client.podman(
                "image", "inspect", "--format", "{{.Id}}",
                f"localhost/juice-{name}:{__version__}", check=False,
            )  # fmt: skip
            ids[name] = found.stdout.strip() if found.returncode == 0 else None
        return ids


@dataclass(frozen=True)
class World:
    registry: Registry
    lookaside: Path
    lookaside_url: str
    key: SigningKey
    work: Path
    base_image: str
    core_wheel: Path
    # What the build host built: environment -> image ID.
    pushed_ids: dict[str, str]
    # Its `juice env push --json` to the signed prefix.
    push_report: list[dict[str, object]]
    # Its `juice env push --all` to a registry that is down.
    push_to_down_registry: subprocess.CompletedProcess[str]
    # The build host's locks, which lab hosts are given (docs/locks.md, a second host).
    locks: Path

    def prefix(self, name: str) -> str:
        return f"{self.registry.address}/{name}"


def make_host(
    world_work: Path,
    name: str,
    registry: Registry,
    lookaside: Path,
    base_image: str,
    core_wheel: Path,
    lookaside_url: str | None = None,
    *,
    signer: SigningKey | None = None,
    trusted: SigningKey | None = None,
    with_base_image: bool = False,
) -> Host:
    """A host with a store of its own (holding the base image if `with_base_image`)."""
    client = ClientConfig.create(
        world_work / name, registry, lookaside, lookaside_url, signer=signer, trusted=trusted,
        base_image=base_image if with_base_image else None,
    )  # fmt: skip
    return Host(client, world_work / "root", base_image, core_wheel)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, core_wheel: Path, base_image: str
) -> Iterator[World]:
    """A registry with every environment's image pushed by a build host, under each
    prefix the tests need."""
    work = tmp_path_factory.mktemp("registry-images")
    key = SigningKey.create(work / "gnupg")
    with signed_registry(work / "registry") as (registry, lookaside, url):
        build = make_host(
            work, "build-host", registry, lookaside, base_image, core_wheel, signer=key,
            with_base_image=True,
        )  # fmt: skip
        try:
            build.install(f"{registry.address}/{SIGNED}", "build")
            built = build.juice("env", "build", "--all")
            assert built.returncode == 0, built.stdout + built.stderr
            pushed = build.juice("env", "push", "--all", "--sign-by", key.fingerprint, "--json")
            assert pushed.returncode == 0, pushed.stdout + pushed.stderr
            report = json.loads(pushed.stdout)
            for prefix, names, signing in (
                (PARTIAL, ["singleuser"], ["--sign-by", key.fingerprint]),
                (UNSIGNED, ["--all"], []),
                (TAMPERED, ["--all"], ["--sign-by", key.fingerprint]),
            ):
                build.configure(f"{registry.address}/{prefix}", "build")
                done = build.juice("env", "push", *names, *signing)
                assert done.returncode == 0, done.stdout + done.stderr
            for row, other in zip(report, reversed(report), strict=True):
                identity = str(row["references"][0]).replace(f"/{SIGNED}/", f"/{SWAPPED}/")
                build.client.podman("push", "--sign-by", key.fingerprint,
                                    str(other["image_id"]), identity)  # fmt: skip
            with socket_bound() as port:  # a registry that is down
                build.configure(f"127.0.0.1:{port}/juice", "build")
                down = build.juice("env", "push", "--all")
            for signature in lookaside.glob(f"{TAMPERED}/*@sha256=*/signature-*"):
                data = bytearray(signature.read_bytes())
                data[len(data) // 2] ^= 0xFF
                signature.write_bytes(bytes(data))
            ids = build.image_ids()
            assert all(ids.values()), ids
            locks = work / "build-host-locks"
            shutil.copytree(build.root / "var/lib/juice/locks", locks)
            yield World(
                registry, lookaside, url, key, work, base_image, core_wheel,
                {name: str(image) for name, image in ids.items()}, report, down, locks,
            )  # fmt: skip
        finally:
            build.client.remove_store()
            key.stop_agent()


@pytest.fixture
def lab_hosts(world: World) -> Iterator[list[Host]]:
    made: list[Host] = []
    yield made
    for host in made:
        host.client.remove_store()


def lab_host(
    world: World,
    hosts: list[Host],
    name: str,
    registry: str,
    source: str,
    locks: bool = True,
    with_base_image: bool = False,
) -> Host:
    """A lab host that requires the build host's signature on everything from the
    registry, given the build host's locks (unless `locks` is False); its store is empty
    unless `with_base_image`."""
    host = make_host(
        world.work, name, world.registry, world.lookaside, world.base_image, world.core_wheel,
        world.lookaside_url, trusted=world.key, with_base_image=with_base_image,
    )  # fmt: skip
    hosts.append(host)
    host.install(registry, source)
    if locks:
        shutil.copytree(world.locks, host.root / "var/lib/juice/locks")
    return host


def test_the_build_host_pushes_both_tags_of_every_environment(world: World) -> None:
    assert [(row["name"], row["pushed"]) for row in world.push_report] == [
        (name, True) for name in NAMES
    ]
    for row in world.push_report:
        repository = f"{SIGNED}/juice-{row['name']}"
        tags = world.registry.tags(repository)
        (identity,) = [tag for tag in tags if tag.startswith("id-")]
        assert tags == sorted([identity, image_tag(__version__)])
        assert row["references"] == [
            f"{world.registry.address}/{repository}:{identity}",
            f"{world.registry.address}/{repository}:{image_tag(__version__)}",
        ]
        assert str(row["manifest_digest"]).startswith("sha256:")
        assert row["signed_by"] == world.key.fingerprint
    assert world.registry.tags(f"{PARTIAL}/juice-plain") == []


def test_a_push_to_a_registry_that_is_down_fails_each_environment_clearly(world: World) -> None:
    result = world.push_to_down_registry

    assert result.returncode == 1, result.stdout + result.stderr
    for name in NAMES:
        assert f"{name}: not pushed: podman push to 127.0.0.1:" in result.stdout
    assert "connection refused" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_lab_host_in_pull_mode_gets_every_image_without_a_build(
    world: World, lab_hosts: list[Host]
) -> None:
    lab = lab_host(world, lab_hosts, "lab", world.prefix(SIGNED), "pull")

    result = lab.juice("env", "build", "--all", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    assert lab.podman_builds() == 0, lab.podman_calls()
    assert lab.image_ids() == world.pushed_ids
    digests = {str(row["name"]): str(row["manifest_digest"]) for row in world.push_report}
    report = json.loads(result.stdout)
    for row in report["results"]:
        repository = f"{world.prefix(SIGNED)}/juice-{row['name']}"
        assert row["outcome"] == "pulled"
        assert row["pulled_from"] == f"{repository}@{digests[row['name']]}"
    assert "pulled singleuser" in result.stderr
    assert "2 of 2 environment image(s) pulled" in result.stderr
    for name in NAMES:
        image = f"localhost/juice-{name}:{__version__}"
        version = lab.client.podman("run", "--rm", image, "juice", "--version").stdout
        assert version.splitlines()[0] == f"juice (orangeqs-juice-core) {__version__}"

    status = json.loads(lab.juice("env", "status", "--json").stdout)
    assert {row["name"]: (row["state"], row["pulled_from"]) for row in status} == {
        name: ("up to date", f"{world.prefix(SIGNED)}/juice-{name}@{digests[name]}")
        for name in NAMES
    }
    assert lab.juice("env", "status", "--check").returncode == 0
    text = lab.juice("env", "status").stdout
    assert f"pulled {world.prefix(SIGNED)}/juice-plain@sha256:{digests['plain'][7:19]}" in text
    history = json.loads(lab.juice("env", "history", "plain", "--json").stdout)
    assert [(entry["in_use"], entry["pulled_from"]) for entry in history] == [
        (True, f"{world.prefix(SIGNED)}/juice-plain@{digests['plain']}")
    ]

    # Nothing changed: the second run finds its images (no pull, no build).
    again = lab.juice("env", "build", "--all")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "pulling" not in again.stdout and lab.podman_builds() == 0
    for name in NAMES:
        assert f"{name}: up to date" in again.stdout


def test_pull_or_build_builds_only_what_the_registry_lacks(
    world: World, lab_hosts: list[Host]
) -> None:
    lab = lab_host(
        world, lab_hosts, "lab-partial", world.prefix(PARTIAL), "pull-or-build",
        with_base_image=True,
    )  # fmt: skip

    result = lab.juice("env", "build", "--all", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    outcomes = {row["name"]: row["outcome"] for row in json.loads(result.stdout)["results"]}
    assert outcomes == {"singleuser": "pulled", "plain": "built"}
    assert lab.podman_builds() == 1, lab.podman_calls()
    assert f"{world.prefix(PARTIAL)}/juice-plain:id-" in result.stderr
    assert "is not in the registry; building it here" in result.stderr
    assert "2 of 2 environment image(s) built or pulled" in result.stderr
    ids = lab.image_ids()
    assert ids["singleuser"] == world.pushed_ids["singleuser"]
    assert ids["plain"] is not None
    status = {row["name"]: row for row in json.loads(lab.juice("env", "status", "--json").stdout)}
    assert status["plain"]["pulled_from"] is None and status["plain"]["state"] == "up to date"
    assert status["singleuser"]["pulled_from"].startswith(f"{world.prefix(PARTIAL)}/")


def test_pull_mode_with_the_registry_down_fails_each_environment_clearly(
    world: World, lab_hosts: list[Host]
) -> None:
    with socket_bound() as port:  # a port nothing answers on
        down = f"127.0.0.1:{port}/juice"
        lab = lab_host(world, lab_hosts, "lab-down", down, "pull")
        result = lab.juice("env", "build", "--all")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 of 2 environment image(s) pulled" in result.stdout
    for name in NAMES:
        assert f"✗ {name}: could not pull {down}/juice-{name}:id-" in result.stdout
    assert "connection refused" in result.stdout
    assert f"retry: juice env build {NAMES[0]}" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert lab.podman_builds() == 0
    assert lab.image_ids() == {name: None for name in NAMES}


def test_a_signed_image_of_another_identity_is_not_taken(
    world: World, lab_hosts: list[Host]
) -> None:
    lab = lab_host(world, lab_hosts, "lab-swapped", world.prefix(SWAPPED), "pull")

    result = lab.juice("env", "build", "--all")

    assert result.returncode == 1, result.stdout + result.stderr
    for name in NAMES:
        assert f"✗ {name}: could not pull {world.prefix(SWAPPED)}/juice-{name}:id-" in result.stdout
    assert "the registry's image carries digest " in result.stdout
    assert lab.podman_builds() == 0
    assert lab.client.podman("images", "-q").stdout.strip() == "", "a refused image stayed"


@pytest.mark.parametrize(
    ("prefix", "words"),
    [
        (UNSIGNED, "A signature was required, but no signature exists"),
        (TAMPERED, "Source image rejected"),
    ],
)
def test_a_host_that_requires_signatures_refuses_unsigned_and_tampered_images(
    world: World, lab_hosts: list[Host], prefix: str, words: str
) -> None:
    lab = lab_host(world, lab_hosts, f"lab-{prefix}", world.prefix(prefix), "pull")

    result = lab.juice("env", "build", "--all")

    assert result.returncode == 1, result.stdout + result.stderr
    for name in NAMES:
        assert f"✗ {name}: could not pull {world.prefix(prefix)}/juice-{name}:id-" in result.stdout
    assert words in result.stdout
    assert lab.podman_builds() == 0
    assert lab.client.podman("images", "-q").stdout.strip() == ""


class socket_bound:
    """A port of 127.0.0.1 bound but never listening: connections to it are refused."""

    def __enter__(self) -> int:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        port: int = self._socket.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self._socket.close()


def test_pull_mode_without_the_build_hosts_locks_fails_naming_them(
    world: World, lab_hosts: list[Host]
) -> None:
    lab = lab_host(world, lab_hosts, "lab-no-locks", world.prefix(SIGNED), "pull", locks=False)

    result = lab.juice("env", "build", "--all")

    assert result.returncode == 1, result.stdout + result.stderr
    assert lab.podman_builds() == 0, lab.podman_calls()
    for name in NAMES:
        lock = lab.root / f"var/lib/juice/locks/{name}/uv.lock"
        assert f"lock {lock}: no lock for this configuration" in result.stdout, result.stdout
    assert "give this host the build host's locks" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert lab.image_ids() == {name: None for name in NAMES}
