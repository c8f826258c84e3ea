"""End to end with apt on a booted Debian 12 host and a booted Debian 13 host, each with
its own release's build from its own suite: install, upgrade, an administrator's new
service, and an environment that cannot build.

Every image here is built by the package's own maintainer script (or by `juice env
build`) through the real juice-<name>-build.service units: real apt and dpkg, a signed
repository served on 127.0.0.1, systemd, journald and podman.

One booted host for the module (its first image build is the slow part; later builds
reuse its podman layer cache). The tests run in file order, each from the state the one
before left: install v1, upgrade to v2, add a service, break one.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.lab import (
    DIST_DIR,
    DROP_IN_DIR,
    SCRIPTLET_LOG,
    assert_built_once_since,
    build_unit,
    core_in_image,
    daemon_reloads_since,
    image_id,
    invocations,
    journal_cursor,
    package_manager,
    provision_site,
    service_environment,
    shipped_environments,
    unit_entries,
    unit_journal,
    unit_state,
    write_file,
)
from support.lab import PACKAGE as NAME
from support.nspawn import BootedHost
from support.packages import BuiltPackages, build_packages
from support.repos import PublishedRepository, served_repository

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging"))

from juice_packaging.targets import TARGETS, Target

pytestmark = pytest.mark.system

V1, V2 = "1.0.0", "2.0.0"
ADMIN_SERVICE = "analysis"
BROKEN_SERVICE = "broken"
UNRESOLVABLE = "no-such-package-for-juice-tests==0.0.1"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class AptLab:
    host: BootedHost
    repo: PublishedRepository
    releases: dict[str, BuiltPackages]
    target: Target
    # Environments whose images the tests so far expect to be built and up to date.
    environments: list[str] = field(default_factory=shipped_environments)
    # The v1 images of the shipped environments, as the install built them.
    v1_ids: dict[str, str | None] = field(default_factory=dict)


@pytest.fixture(scope="module", params=list(TARGETS))
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AptLab]:
    """A booted host of one release trusting a repository with v1, the way
    docs/publishing.md says (the .sources file of the host's own release).
    """
    target = TARGETS[str(request.param)]
    releases = {V: build_packages(V, target=target.name) for V in (V1, V2)}
    work = tmp_path_factory.mktemp("apt-lab")
    host_name = f"juice-apt-{target.version_id}"
    with (
        served_repository(work) as repo,
        BootedHost(host_name, suite=target.suite) as host,
    ):
        repo.publish(releases[V1])
        provision_site(host)
        host.run(["install", "-d", "-m", "0755", "/etc/apt/keyrings"])
        host.copy_in(repo.client_file("orangeqs-juice.gpg"), "/etc/apt/keyrings/orangeqs-juice.gpg")
        host.copy_in(
            repo.client_file(f"orangeqs-juice-{target.suite}.sources"),
            "/etc/apt/sources.list.d/orangeqs-juice.sources",
        )
        yield AptLab(host, repo, releases, target)


def apt(host: BootedHost, *args: str) -> str:
    """apt-get -y ARGS in the host; stdout and stderr together (maintainer scripts use both)."""
    # dpkg runs maintainer scripts on a pty: strip colours, should any appear.
    return ANSI_ESCAPE.sub("", package_manager(host, ["apt-get", "-y", *args]))


def dpkg_status(host: BootedHost) -> tuple[str, str]:
    out = host.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", NAME]).stdout
    status, version = out.split("\t")
    return status, version


def test_apt_install_builds_every_environment_through_its_unit(lab: AptLab) -> None:
    host = lab.host
    cursor = journal_cursor(host)
    apt(host, "update")
    out = apt(host, "install", NAME)

    assert dpkg_status(host) == ("install ok installed", V1 + lab.target.deb_suffix)
    assert "juice: building with systemd build units (systemd mode: systemd is running)" in out, out
    # postinst wrote the units, then made systemd read them.
    reloads = daemon_reloads_since(host, cursor)
    assert reloads, "no systemctl daemon-reload during the install"
    units = host.run("ls /etc/systemd/system | grep '^juice-.*-build.service$'", check=False)
    assert sorted(units.stdout.split()) == sorted(build_unit(n) for n in lab.environments)
    for name in lab.environments:
        unit = build_unit(name)
        assert_built_once_since(host, name, cursor)
        state = unit_state(host, unit)
        assert state.load_state == "loaded"
        first = unit_entries(host, unit, after=cursor)[0]
        assert min(reloads) < int(first["__MONOTONIC_TIMESTAMP"]), "the unit ran before the reload"
        assert state.fragment == f"/etc/systemd/system/{unit}"
        reload = host.run(["systemctl", "show", "-p", "NeedDaemonReload", "--value", unit])
        assert reload.stdout.strip() == "no"
    status = host.run(["juice", "env", "status", "--check"], check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    lab.v1_ids.update({name: image_id(host, name, V1) for name in lab.environments})


def test_apt_upgrade_rebuilds_every_image_from_the_v2_wheel(lab: AptLab) -> None:
    host = lab.host
    old_ids = lab.v1_ids
    lab.repo.publish(lab.releases[V2])
    cursor = journal_cursor(host)
    apt(host, "update")
    out = apt(host, "upgrade")

    assert dpkg_status(host) == ("install ok installed", V2 + lab.target.deb_suffix), out
    assert (
        f"postinst configure {V1}{lab.target.deb_suffix}"
        in host.read_file(SCRIPTLET_LOG).splitlines()
    )
    wheel = lab.releases[V2].wheel
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    installed = host.run(["sha256sum", f"{DIST_DIR}/{wheel.name}"]).stdout.split()[0]
    assert installed == sha, "the package must bundle the wheel built with it"
    for name in lab.environments:
        assert_built_once_since(host, name, cursor)
        assert image_id(host, name, V2) not in (None, old_ids[name]), f"{name}: no new image"
        # The previous version's image stays: installing v1 again needs no build.
        assert image_id(host, name, V1) == old_ids[name], f"{name}: the v1 image is gone"
        # The build installed the core from exactly this wheel ...
        containerfile = host.read_file(f"/var/juice/envs/{name}/Containerfile")
        assert f"orangeqs-juice-core {V2} wheel sha256:{sha}" in containerfile
        # ... and the image says so.
        version, origin = core_in_image(host, name, V2)
        assert version.splitlines()[0] == f"juice (orangeqs-juice-core) {V2}", version
        assert f"core source for environments: bundled wheel {DIST_DIR}/{wheel.name}" in version
        assert json.loads(origin)["url"] == f"file://{DIST_DIR}/{wheel.name}", origin


def test_admin_adds_a_service_and_only_its_environment_builds(lab: AptLab) -> None:
    host = lab.host
    before = {name: invocations(unit_entries(host, build_unit(name))) for name in lab.environments}
    # Every environment was built by the earlier tests: an empty record would make the
    # "not started again" check below pass without looking at anything.
    assert all(before.values()), before
    write_file(
        host, f"{DROP_IN_DIR}/50-{ADMIN_SERVICE}.toml", service_environment(ADMIN_SERVICE, ["six"])
    )
    cursor = journal_cursor(host)
    result = host.run(["juice", "env", "build"], timeout=900, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out + unit_journal(host, ADMIN_SERVICE)
    for name in lab.environments:
        assert f"juice: {name}: up to date" in out, out

    for name in lab.environments:  # not started again: the same runs as before
        assert invocations(unit_entries(host, build_unit(name))) == before[name], name
    assert_built_once_since(host, ADMIN_SERVICE, cursor)
    six = host.run(
        [
            "podman",
            "run",
            "--rm",
            f"localhost/juice-{ADMIN_SERVICE}:{V2}",
            "python",
            "-c",
            "import six",
        ],
        check=False,
    )
    assert six.returncode == 0, six.stderr
    lab.environments.append(ADMIN_SERVICE)

    status = host.run(["juice", "env", "status", "--json"])
    rows = {row["name"]: row["state"] for row in json.loads(status.stdout)}
    assert rows == dict.fromkeys(lab.environments, "up to date")
    assert host.run(["juice", "env", "status", "--check"], check=False).returncode == 0


def test_a_failing_environment_leaves_apt_and_the_others_fine(lab: AptLab) -> None:
    host = lab.host
    write_file(
        host,
        f"{DROP_IN_DIR}/60-{BROKEN_SERVICE}.toml",
        service_environment(BROKEN_SERVICE, [UNRESOLVABLE]),
    )
    cursor = journal_cursor(host)
    # postinst configure runs again, and with it `juice env build --all`.
    out = apt(host, "install", "--reinstall", NAME)

    assert dpkg_status(host) == ("install ok installed", V2 + lab.target.deb_suffix)
    unit = build_unit(BROKEN_SERVICE)
    lock = f"/var/lib/juice/locks/{BROKEN_SERVICE}/uv.lock"
    # uv finds no such package when juice locks the environment, so its build never
    # starts; juice's output names the lock and carries uv's reason.
    assert f"juice: {BROKEN_SERVICE}: lock failed ({lock})" in out, out
    reason = out.split(f"✗ {BROKEN_SERVICE}: lock {lock}:")[1]
    assert UNRESOLVABLE.split("==")[0] in reason, out
    assert f"retry: juice env build {BROKEN_SERVICE}" in out, out
    assert "the package is installed; retry with: sudo juice env build --all" in out, out
    assert f"juice: no image for orangeqs-juice-core {V2}: {BROKEN_SERVICE};" in out, out
    assert "install the previous orangeqs-juice package again" in out, out
    for name in lab.environments:  # the others have their image: no build
        assert f"juice: {name}: up to date" in out, out
        assert not invocations(unit_entries(host, build_unit(name), after=cursor)), name
    assert not invocations(unit_entries(host, unit, after=cursor)), "a build without a lock"
    assert image_id(host, BROKEN_SERVICE, V2) is None

    check = host.run(["juice", "env", "status", "--json"])
    rows = {row["name"]: row["state"] for row in json.loads(check.stdout)}
    assert rows == {**dict.fromkeys(lab.environments, "up to date"), BROKEN_SERVICE: "not built"}


def test_apt_install_of_the_previous_version_builds_nothing(lab: AptLab) -> None:
    """Back to v1 (the way out of a failed upgrade): every v1 image was kept, so the
    maintainer script's `juice env build --all` runs no build unit and no podman build."""
    host = lab.host
    host.run(
        ["rm", f"{DROP_IN_DIR}/50-{ADMIN_SERVICE}.toml", f"{DROP_IN_DIR}/60-{BROKEN_SERVICE}.toml"]
    )
    names = shipped_environments()
    cursor = journal_cursor(host)
    v1 = V1 + lab.target.deb_suffix  # the Debian version of this target's v1 package
    out = apt(host, "install", "--allow-downgrades", f"{NAME}={v1}")

    assert dpkg_status(host) == ("install ok installed", v1), out
    for name in names:
        assert f"juice: {name}: up to date (localhost/juice-{name}:{V1})" in out, out
        assert not invocations(unit_entries(host, build_unit(name), after=cursor)), name
        assert image_id(host, name, V1) == lab.v1_ids[name], name
    host.run(["journalctl", "--sync"])
    journal = host.run(["journalctl", "--no-pager", f"--after-cursor={cursor}"]).stdout
    assert "/podman build " not in journal, journal
    status = host.run(["juice", "env", "status", "--check"], check=False)
    assert status.returncode == 0, status.stdout + status.stderr
