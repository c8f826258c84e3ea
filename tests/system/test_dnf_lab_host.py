"""End to end with dnf on a booted host: install from the signed rpm repository, then
`dnf upgrade`, whose image rebuild runs once, after the whole transaction (%posttrans).

The booted host is Debian 12 with Debian's own dnf and rpm. Their RPM database starts
empty and knows nothing of the Debian packages installed, so the package's Requires
(python(abi), podman, glibc, ...) would be unresolvable: a test-only RPM that installs
nothing and only declares those Provides stands in for them. Everything else is real:
dnf, rpm and the scriptlets, systemd, the build units, podman.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from support.lab import (
    DIST_DIR,
    SCRIPTLET_LOG,
    assert_built_once_since,
    build_unit,
    core_in_image,
    daemon_reloads_since,
    image_id,
    journal_cursor,
    package_manager,
    provision_site,
    shipped_environments,
    unit_entries,
)
from support.lab import PACKAGE as NAME
from support.nspawn import BootedHost
from support.packages import BuiltPackages, build_packages
from support.provides import build_provides_rpm
from support.repos import PublishedRepository, served_repository

pytestmark = pytest.mark.system

V1, V2 = "1.0.0", "2.0.0"


@dataclass
class DnfLab:
    host: BootedHost
    repo: PublishedRepository
    releases: dict[str, BuiltPackages]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnfLab]:
    """A fresh booted host with Debian's dnf, trusting the repository's .repo file."""
    releases = {V1: build_packages(V1), V2: build_packages(V2)}
    work = tmp_path_factory.mktemp("dnf-lab")
    provides = build_provides_rpm(work)
    with served_repository(work) as repo, BootedHost("juice-dnf") as host:
        repo.publish(releases[V1])
        provision_site(host)
        host.run(["apt-get", "update"], timeout=900)
        host.run(["apt-get", "install", "-y", "--no-install-recommends", "dnf", "rpm"], timeout=900)
        host.copy_in(provides, "/root/debian-provides.rpm")
        dnf(host, "install", "/root/debian-provides.rpm")
        host.copy_in(
            repo.client_file("orangeqs-juice-py311.repo"), "/etc/yum.repos.d/orangeqs-juice.repo"
        )
        yield DnfLab(host, repo, releases)


def dnf(host: BootedHost, *args: str) -> str:
    """dnf -y ARGS in the host; its stdout and stderr (the scriptlets write to both)."""
    argv = [
        "dnf", "-y", "--releasever=1",
        # Fail on an unusable repository instead of carrying on without it.
        "--setopt=skip_if_unavailable=False", *args,
    ]  # fmt: skip
    return package_manager(host, argv)


def rpm_version(host: BootedHost) -> str:
    return host.run(["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", NAME]).stdout


def scriptlet_calls(host: BootedHost) -> list[str]:
    result = host.run(["cat", SCRIPTLET_LOG], check=False)
    return result.stdout.splitlines()


def test_dnf_install_builds_every_environment_after_the_transaction(lab: DnfLab) -> None:
    host = lab.host
    cursor = journal_cursor(host)
    out = dnf(host, "install", NAME)

    assert rpm_version(host) == f"{V1}-1.py311"  # the Python 3.11 build (RHEL 9 with python3.11)
    assert "juice: building with systemd build units (systemd mode: systemd is running)" in out
    # %post does nothing; %posttrans builds.
    calls = scriptlet_calls(host)
    assert [call.split()[0] for call in calls] == ["post", "posttrans"], calls
    assert daemon_reloads_since(host, cursor), "no systemctl daemon-reload during the install"
    for name in shipped_environments():
        assert_built_once_since(host, name, cursor)
    # From an administrator's shell (another PATH than the scriptlets'), all up to date.
    status = host.run(["juice", "env", "status", "--check"], check=False)
    assert status.returncode == 0, status.stdout + status.stderr


def test_dnf_upgrade_rebuilds_once_after_the_old_package_is_gone(lab: DnfLab) -> None:
    host = lab.host
    names = shipped_environments()
    old_ids = {name: image_id(host, name, V1) for name in names}
    lab.repo.publish(lab.releases[V2])
    before = len(scriptlet_calls(host))
    cursor = journal_cursor(host)
    out = dnf(host, "--refresh", "upgrade", NAME)

    assert rpm_version(host) == f"{V2}-1.py311", out
    calls = scriptlet_calls(host)[before:]
    # The new package's %post, the old one's %preun and %postun, then one %posttrans.
    assert [call.split()[0] for call in calls] == ["post", "preun", "postun", "posttrans"], calls
    assert calls[:3] == ["post 2", "preun 1", "postun 1"], calls
    # Written by %posttrans just before it ran juice: nothing wrote the log after that.
    posttrans_at = float(host.run(["stat", "-c", "%.6Y", SCRIPTLET_LOG]).stdout)
    wheel = lab.releases[V2].wheel
    for name in names:
        # Exactly one build per environment (assert_built_once_since), started after
        # %posttrans began, so after the old package's %preun and %postun.
        assert_built_once_since(host, name, cursor)
        first = unit_entries(host, build_unit(name), after=cursor)[0]
        started = int(first["__REALTIME_TIMESTAMP"]) / 1e6
        assert started >= posttrans_at, (
            f"{name} build started at {_utc(started)}, before %posttrans at {_utc(posttrans_at)}"
        )
        assert image_id(host, name, V2) not in (None, old_ids[name]), f"{name}: no new image"
        # The previous version's image stays: installing v1 again needs no build.
        assert image_id(host, name, V1) == old_ids[name], f"{name}: the v1 image is gone"
        version, origin = core_in_image(host, name, V2)
        assert version.splitlines()[0] == f"juice (orangeqs-juice-core) {V2}", version
        assert json.loads(origin)["url"] == f"file://{DIST_DIR}/{wheel.name}", origin


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
