"""The .deb in a fresh root of its release (Debian 12 and 13): apt install (real
dependencies), upgrade, purge. One root per release, shared by the module's tests.

There is no running systemd in the root and podman cannot build there, so the first
install really attempts the image build (direct mode) and must fail gracefully; the
later steps set JUICE_SKIP_IMAGE_BUILD=1 to stay fast.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from juice_packaging.targets import TARGETS, Target
from packaging_helpers import MARKER, SCRIPTLET_LOG, apt_get, juice_leftovers, scriptlet_log
from support.packages import BuiltPackages
from support.roots import chroot_mounts, debian_root, remove_root, run_in_root

LOG = {"JUICE_SCRIPTLET_LOG": SCRIPTLET_LOG}
SKIP = {**LOG, "JUICE_SKIP_IMAGE_BUILD": "1"}
CONFIG = "etc/juice/config/orchestration.toml"
DEFAULT = "usr/share/orangeqs-juice/orchestration.toml"


@pytest.fixture(scope="module", params=list(TARGETS))
def target_name(request: pytest.FixtureRequest) -> str:
    """Every test here runs for every target, in a root of that target's release."""
    return str(request.param)


@pytest.fixture(scope="module")
def root(
    tmp_path_factory: pytest.TempPathFactory,
    v1: BuiltPackages,
    v2: BuiltPackages,
    target: Target,
) -> Iterator[Path]:
    path = debian_root(tmp_path_factory.mktemp("deb") / "root", suite=target.suite)
    for built in (v1, v2):
        shutil.copy2(built.deb, path / "tmp" / built.deb.name)
    try:
        with chroot_mounts(path):
            update = apt_get(path, ["update", "-qq"])
            assert update.returncode == 0, update.stdout + update.stderr
            yield path
    finally:
        remove_root(path)


def test_install_runs_the_hook_and_survives_a_failed_build(
    root: Path, v1: BuiltPackages, target: Target
) -> None:
    result = apt_get(root, ["install", "-y", "--no-install-recommends", f"/tmp/{v1.deb.name}"], LOG)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The build was attempted (direct mode: no systemd here) and failed gracefully.
    assert "juice env build --all" in output
    assert "the package is installed; retry with: sudo juice env build --all" in output
    # It failed at its first step (locking it needs the base image, which this root
    # cannot pull), named with the way to retry it.
    assert "✗ singleuser: lock /var/lib/juice/locks/singleuser/uv.lock:" in output
    assert "retry: juice env build singleuser" in output
    status = run_in_root(root, ["dpkg-query", "-W", "-f=${Status} ${Version}", "orangeqs-juice"])
    assert status.stdout == f"install ok installed 0.9.0~rc1{target.deb_suffix}"
    python = run_in_root(root, ["readlink", "-f", "/opt/orangeqs/juice/venv/bin/python"])
    assert python.stdout.strip() == f"/usr/bin/python{target.python}"
    assert scriptlet_log(root) == ["postinst configure "]
    # The hook rendered the shipped configuration's environments and their units (with
    # the marker purge looks for).
    assert list((root / "var/juice/envs").glob("*/Containerfile"))
    units = list((root / "etc/systemd/system").glob("juice-*-build.service"))
    assert units
    assert all(unit.read_text().splitlines()[0] == MARKER for unit in units)
    # postinst byte-compiled the venv (the package ships no .pyc).
    assert list((root / "opt/orangeqs/juice/venv/lib").rglob("__pycache__/*.pyc"))


def test_juice_runs_from_the_installed_venv(root: Path, v1: BuiltPackages) -> None:
    out = run_in_root(root, ["/usr/bin/juice", "--version"]).stdout
    assert "juice (orangeqs-juice-core) 0.9.0rc1" in out
    assert "installed in: /opt/orangeqs/juice/venv/" in out
    assert f"bundled wheel /opt/orangeqs/juice/dist/{v1.wheel.name}" in out


def test_upgrade_keeps_an_edited_config_and_runs_the_hook(
    root: Path, v2: BuiltPackages, target: Target
) -> None:
    config = root / CONFIG
    assert config.read_text() == (root / DEFAULT).read_text()  # installed on first install
    edited = config.read_text() + "\n# edited by the administrator\n"
    config.write_text(edited)
    shutil.rmtree(root / "var/juice/envs")  # the hook must render them again
    result = apt_get(root, ["install", "-y", f"/tmp/{v2.deb.name}"], SKIP)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "JUICE_SKIP_IMAGE_BUILD=1" in output
    assert "warning" not in output
    assert "sudo juice env build --all" in output
    # The new default differs (its header names v2), the edit is kept, nobody was asked.
    assert config.read_text() == edited
    assert (
        (root / DEFAULT)
        .read_text()
        .startswith("# The default configuration of orangeqs-juice 0.9.0.\n")
    )
    assert "Configuration file" not in output
    suffix = target.deb_suffix
    assert scriptlet_log(root) == [
        f"prerm upgrade 0.9.0{suffix}",
        f"postrm upgrade 0.9.0{suffix}",
        f"postinst configure 0.9.0~rc1{suffix}",
    ]
    assert list((root / "var/juice/envs").glob("*/Containerfile"))
    out = run_in_root(root, ["/usr/bin/juice", "--version"]).stdout
    assert f"bundled wheel /opt/orangeqs/juice/dist/{v2.wheel.name}" in out
    assert sorted(p.name for p in (root / "opt/orangeqs/juice/dist").iterdir()) == [v2.wheel.name]


def test_purge_removes_everything_of_the_package(root: Path) -> None:
    # An administrator's own unit (no juice marker) must survive the purge.
    own = root / "etc/systemd/system/juice-own.service"
    own.write_text("[Unit]\nDescription=written by the administrator\n")
    result = apt_get(root, ["purge", "-y", "orangeqs-juice"], LOG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert scriptlet_log(root) == ["prerm remove", "postrm remove", "postrm purge"]
    assert own.is_file()
    assert juice_leftovers(root) == ["/etc/systemd/system/juice-own.service"]
    for path in ("opt/orangeqs", "etc/juice", "var/juice", "usr/bin/juice",
                 "usr/share/doc/orangeqs-juice", "var/log/juice"):  # fmt: skip
        assert not (root / path).exists() and not (root / path).is_symlink(), path
    # A system directory no package lists survives (dpkg counted it as ours).
    assert (root / "opt").is_dir()
