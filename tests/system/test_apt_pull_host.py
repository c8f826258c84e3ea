"""apt install on a booted lab host that pulls its images from a registry.

Per release (Debian 12 and 13, each with its own build): a build host (booted,
systemd) installs orangeqs-juice, whose maintainer script builds every environment
through the build units, and pushes them (`juice env push --all`) to a real
docker-registry on 127.0.0.1 (TLS with a test CA, which each host trusts through its
own /etc/containers/certs.d). A second booted host,
configured with `[images] source = "pull"` before the install, then installs the same
package: its maintainer script pulls every image and the journal records no build.
With the registry unreachable, the package still configures and names what is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.lab import (
    DROP_IN_DIR,
    PACKAGE,
    build_unit,
    image_id,
    invocations,
    journal_cursor,
    package_manager,
    provision_site,
    shipped_environments,
    unit_entries,
    write_file,
)
from support.nspawn import BootedHost
from support.packages import BuiltPackages, build_packages
from support.registry import CERTS_D, Registry, running_registry
from support.repos import PublishedRepository, served_repository

from orangeqs.juice.environments.units import DIGEST_LABEL
from orangeqs.juice.paths import DEFAULT_LOCKS as LOCKS_DIR

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging"))

from juice_packaging.targets import TARGETS, Target

pytestmark = pytest.mark.system

V1 = "1.0.0"
REGISTRY_DROP_IN = f"{DROP_IN_DIR}/30-registry.toml"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Site:
    registry: Registry
    repo: PublishedRepository
    release: BuiltPackages
    target: Target


@pytest.fixture(scope="module", params=list(TARGETS))
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    target = TARGETS[str(request.param)]
    release = build_packages(V1, target=target.name)
    work = tmp_path_factory.mktemp("apt-pull")
    with running_registry(work / "registry") as registry, served_repository(work) as repo:
        repo.publish(release)
        yield Site(registry, repo, release, target)


def apt(host: BootedHost, *args: str) -> str:
    return ANSI_ESCAPE.sub("", package_manager(host, ["apt-get", "-y", *args]))


def prepare(host: BootedHost, site: Site, registry: str, source: str) -> None:
    """What a lab's provisioning does before installing: the site drop-in, the package
    repository, the registry's CA for podman, and where images come from."""
    provision_site(host)
    host.run(["install", "-d", "-m", "0755", "/etc/apt/keyrings"])
    host.copy_in(
        site.repo.client_file("orangeqs-juice.gpg"), "/etc/apt/keyrings/orangeqs-juice.gpg"
    )
    host.copy_in(
        site.repo.client_file(f"orangeqs-juice-{site.target.suite}.sources"),
        "/etc/apt/sources.list.d/orangeqs-juice.sources",
    )
    host.copy_in(site.registry.ca.ca_cert, str(CERTS_D / site.registry.address / "ca.crt"))
    configure(host, registry, source)


def configure(host: BootedHost, registry: str, source: str) -> None:
    write_file(host, REGISTRY_DROP_IN, f'[images]\nregistry = "{registry}"\nsource = "{source}"\n')


def test_apt_install_in_pull_mode_pulls_every_image_and_builds_none(
    site: Site, tmp_path: Path
) -> None:
    names = shipped_environments()
    prefix = f"{site.registry.address}/juice"
    suite, number = site.target.suite, site.target.version_id
    with BootedHost(f"juice-registry-build-{number}", suite=suite) as build_host:
        prepare(build_host, site, prefix, "build")
        apt(build_host, "update")
        apt(build_host, "install", PACKAGE)
        built = {name: image_id(build_host, name, V1) for name in names}
        assert all(built.values()), built
        push = build_host.run(["juice", "env", "push", "--all", "--json"], timeout=900, check=False)
        assert push.returncode == 0, push.stdout + push.stderr
        digests = {row["name"]: row["manifest_digest"] for row in json.loads(push.stdout)}
        # The lab host is given the build host's locks, as docs/locks.md says: an image's
        # identity includes its lock, and a host that only pulls never resolves.
        locks = tmp_path / "locks"
        shutil.copytree(build_host.root / LOCKS_DIR.lstrip("/"), locks)

    with BootedHost(f"juice-registry-lab-{number}", suite=suite) as lab_host:
        prepare(lab_host, site, prefix, "pull")
        lab_host.copy_in(locks, LOCKS_DIR)
        cursor = journal_cursor(lab_host)
        apt(lab_host, "update")
        out = apt(lab_host, "install", PACKAGE)

        for name in names:
            assert f"juice: pulling {name} from {prefix}/juice-{name}:id-" in out, out
            assert f"juice: pulled {name} in " in out, out
            assert image_id(lab_host, name, V1) == built[name], name
            assert not invocations(unit_entries(lab_host, build_unit(name), after=cursor)), name
        assert f"{len(names)} of {len(names)} environment image(s) pulled" in out, out
        lab_host.run(["journalctl", "--sync"])
        journal = lab_host.run(["journalctl", "--no-pager", f"--after-cursor={cursor}"]).stdout
        assert "/podman build " not in journal, journal
        status = json.loads(lab_host.run(["juice", "env", "status", "--json"]).stdout)
        assert {row["name"]: (row["state"], row["pulled_from"]) for row in status} == {
            name: ("up to date", f"{prefix}/juice-{name}@{digests[name]}") for name in names
        }

        # The registry unreachable: the images gone, the package still configures.
        for name in names:  # by ID: every name of the image goes
            lab_host.run(["podman", "rmi", "--force", str(built[name])])
        juice_images = ["podman", "images", "-q", "--filter", f"label={DIGEST_LABEL}"]
        left = lab_host.run(juice_images)
        assert left.stdout.split() == [], "environment images left"
        configure(lab_host, f"127.0.0.1:{unused_port()}/juice", "pull")
        out = apt(lab_host, "install", "--reinstall", PACKAGE)
        status_line = lab_host.run(["dpkg-query", "-W", "-f=${Status}", PACKAGE]).stdout
        assert status_line == "install ok installed", out
        for name in names:
            assert f"juice: FAILED {name}: not pulled" in out, out
        assert "connection refused" in out, out
        assert "the package is installed; retry with: sudo juice env build --all" in out, out


def unused_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (bound and released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
