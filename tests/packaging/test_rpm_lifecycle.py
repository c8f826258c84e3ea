"""The .rpm with dnf --installroot into a Debian root: install, upgrade, erase.

Per target: the python(abi) = 3.11 package in a Debian 12 root, the 3.13 one in a Debian
13 root. The root's RPM database starts empty, so the Requires that Debian packages
satisfy there (python(abi), podman, glibc, ...) are unknown to dnf. A test-only RPM
that only declares those Provides stands in for them; the root really has the Python
(debootstrap --include=python3), which the scriptlets run. It is not part of the product.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from juice_packaging.targets import TARGETS, Target
from packaging_helpers import SCRIPTLET_LOG, juice_leftovers, scriptlet_log
from support.packages import BuiltPackages
from support.provides import DEBIAN_PROVIDES, build_provides_rpm
from support.roots import chroot_mounts, debian_root, remove_root

ENV = {"JUICE_SCRIPTLET_LOG": SCRIPTLET_LOG, "JUICE_SKIP_IMAGE_BUILD": "1"}


@pytest.fixture(scope="module", params=list(TARGETS))
def target_name(request: pytest.FixtureRequest) -> str:
    """Every test here runs for every target's .rpm, in a root with that Python."""
    return str(request.param)


def provides(target: Target) -> list[str]:
    """What the target's root has, as rpm names it: its Python ABI and the rest."""
    abi = f"python(abi) = {target.python}"
    return [abi if p.startswith("python(abi)") else p for p in DEBIAN_PROVIDES]


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
    v1: BuiltPackages,
    v2: BuiltPackages,
    target: Target,
) -> Iterator[tuple[Path, list[str]]]:
    base = tmp_path_factory.mktemp("rpm")
    repo = base / "repo"
    repo.mkdir()
    for built in (v1, v2):
        shutil.copy2(built.rpm, repo / built.rpm.name)
    shutil.copy2(build_provides_rpm(base, provides(target)), repo)
    subprocess.run(["createrepo_c", "--quiet", str(repo)], check=True)
    repos = base / "repos.d"
    repos.mkdir()
    (repos / "local.repo").write_text(
        f"[local]\nname=local\nbaseurl=file://{repo}\ngpgcheck=0\nenabled=1\n"
    )
    root = debian_root(base / "root", include=["python3"], suite=target.suite)
    dnf = [
        "dnf", "-y", f"--installroot={root}", f"--setopt=reposdir={repos}",
        f"--setopt=cachedir={base / 'dnf-cache'}", "--releasever=1",
        "--setopt=install_weak_deps=False", "--nogpgcheck",
    ]  # fmt: skip
    try:
        with chroot_mounts(root):
            yield root, dnf
    finally:
        remove_root(root)


def dnf(setup: tuple[Path, list[str]], *args: str) -> str:
    _root, argv = setup

    result = subprocess.run(
        [*argv, *args], capture_output=True, text=True, check=False,
        env={**os.environ, **ENV},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_install(setup: tuple[Path, list[str]], v1: BuiltPackages, target: Target) -> None:
    root, _ = setup
    output = dnf(setup, "install", f"orangeqs-juice-0.9.0~rc1-1{target.rpm_release_suffix}")
    assert "JUICE_SKIP_IMAGE_BUILD=1" in output
    # Work happens once, in %posttrans; %post only records its argument. (rpm 4.18
    # gives %posttrans the same argument as %post; older rpm gave 0.)
    assert scriptlet_log(root) == ["post 1", "posttrans 1"]
    assert list((root / "opt/orangeqs/juice/venv/lib").rglob("__pycache__/*.pyc"))
    assert list((root / "var/juice/envs").glob("*/Containerfile"))
    version = subprocess.run(
        ["chroot", str(root), "/usr/bin/juice", "--version"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"bundled wheel /opt/orangeqs/juice/dist/{v1.wheel.name}" in version


def test_upgrade_runs_posttrans_once_after_the_old_scriptlets(
    setup: tuple[Path, list[str]],
) -> None:
    root, _ = setup
    config = root / "etc/juice/config/orchestration.toml"
    edited = config.read_text() + "\n# edited by the administrator\n"
    config.write_text(edited)
    dnf(setup, "upgrade", "orangeqs-juice")
    # New %post (2 = two versions installed), then the old package's %preun and
    # %postun (1 = one left), then the new %posttrans (2, like %post): the rebuild runs
    # once, last.
    assert scriptlet_log(root) == ["post 2", "preun 1", "postun 1", "posttrans 2"]
    # The new default differs (its header names the version): rpm keeps the edited file
    # in use and puts the new default beside it as .rpmnew, which says what it holds.
    assert config.read_text() == edited
    rpmnew = config.with_name("orchestration.toml.rpmnew").read_text()
    assert rpmnew.startswith("# The default configuration of orangeqs-juice 0.9.0.\n")
    assert "Found as orchestration.toml.rpmnew: the new version's default" in rpmnew


def test_erase_leaves_only_the_administrators_config(setup: tuple[Path, list[str]]) -> None:
    root, _ = setup
    dnf(setup, "remove", "orangeqs-juice")
    assert scriptlet_log(root) == ["preun 0", "postun 0"]
    # rpm keeps the edited %config(noreplace) file as .rpmsave: the administrator's work.
    saved = "/etc/juice/config/orchestration.toml.rpmsave"
    assert (root / saved.lstrip("/")).read_text().endswith("\n# edited by the administrator\n")
    # The .rpmnew of the upgrade was the package's default: erase removed it.
    assert juice_leftovers(root, keep=[saved, "/etc/juice", "/etc/juice/config"]) == []
    for path in ("opt/orangeqs", "var/juice", "usr/bin/juice"):
        assert not (root / path).exists() and not (root / path).is_symlink(), path
