"""One published tree for every target: an apt suite per Debian release, a dnf repository
per Python ABI. apt in a Debian 13 root gets the trixie build and in a Debian 12 root the
bookworm build, each through its own release's .sources; publishing one target again
leaves the other's signed metadata byte for byte as it was.

Each root downloads the package with apt (signatures and indexes checked as for an
install) rather than installing it: the install itself, with its dependencies from the
archive, is what tests/packaging/test_deb_lifecycle.py does in each release's root.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from publish_helpers import Key, publish_ok
from support import REPO_ROOT
from support.http import serve_directory
from support.packages import BuiltPackages, build_packages
from support.roots import chroot_mounts, debian_root, remove_root, run_in_root

sys.path.insert(0, str(REPO_ROOT / "packaging"))

from juice_packaging.targets import TARGETS, Target

V1, V2 = "0.9.0rc1", "0.9.0"  # the packaging tests' versions: their builds are reused
NAME = "orangeqs-juice"


@pytest.fixture(scope="module")
def builds() -> dict[tuple[str, str], BuiltPackages]:
    """(target, version) -> the packages; built once and cached across runs."""
    return {
        (target, version): build_packages(version, target=target)
        for target in TARGETS
        for version in (V1, V2)
    }


@pytest.fixture(scope="module")
def tree(
    tmp_path_factory: pytest.TempPathFactory,
    builds: dict[tuple[str, str], BuiltPackages],
    signing_key: Key,
) -> Iterator[tuple[Path, str]]:
    """v1 of every target published into one tree, served on 127.0.0.1."""
    served = tmp_path_factory.mktemp("targets")
    with serve_directory(served) as url:
        repo, base = served / "juice", f"{url}/juice"
        files = [f for (_, v), b in builds.items() if v == V1 for f in (b.deb, b.rpm)]
        publish_ok(repo, signing_key, *files, base_url=base)
        yield repo, base


def test_a_suite_per_release_and_a_dnf_repository_per_abi(tree: tuple[Path, str]) -> None:
    repo, base = tree
    for target in TARGETS.values():
        suite = repo / "deb/dists" / target.suite
        packages = (suite / "main/binary-amd64/Packages").read_text()
        assert f"Version: 0.9.0~rc1{target.deb_suffix}\n" in packages
        assert packages.count("Package: orangeqs-juice\n") == 1, "only the release's own build"
        sources = (repo / f"{NAME}-{target.suite}.sources").read_text()
        assert f"Suites: {target.suite}\n" in sources
        abi = target.rpm_release_suffix.lstrip(".")
        assert (repo / f"rpm/{abi}/repodata/repomd.xml.asc").is_file()
        assert f"baseurl={base}/rpm/{abi}\n" in (repo / f"{NAME}-{abi}.repo").read_text()
    assert not (repo / f"{NAME}.sources").exists(), "no suite outside the releases' ones"


@pytest.fixture(scope="module", params=list(TARGETS))
def apt_root(
    request: pytest.FixtureRequest, tree: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Target]]:
    """A root of one release that trusts the tree the way docs/publishing.md says."""
    target = TARGETS[str(request.param)]
    repo, _ = tree
    root = debian_root(tmp_path_factory.mktemp(target.suite) / "root", suite=target.suite)
    try:
        (root / "etc/apt/sources.list").unlink(missing_ok=True)
        for extra in (root / "etc/apt/sources.list.d").glob("*"):
            extra.unlink()
        keyrings = root / "etc/apt/keyrings"
        keyrings.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repo / f"{NAME}.gpg", keyrings / f"{NAME}.gpg")
        # What a host does: download the .sources that names its own release.
        codename = (root / "etc/os-release").read_text().split("VERSION_CODENAME=")[1].split()[0]
        shutil.copyfile(
            repo / f"{NAME}-{codename}.sources", root / f"etc/apt/sources.list.d/{NAME}.sources"
        )
        with chroot_mounts(root):
            yield root, target
    finally:
        remove_root(root)


def test_apt_gets_its_own_releases_build(apt_root: tuple[Path, Target]) -> None:
    root, target = apt_root
    run_in_root(root, ["apt-get", "update", "-qq"])
    policy = run_in_root(root, ["apt-cache", "policy", NAME]).stdout
    assert f"Candidate: 0.9.0~rc1{target.deb_suffix}\n" in policy
    run_in_root(root, ["sh", "-c", f"cd /tmp && apt-get download {NAME}"])
    assert [p.name for p in (root / "tmp").glob("*.deb")] == [
        f"{NAME}_0.9.0~rc1{target.deb_suffix}_amd64.deb"
    ]


def test_publishing_one_target_leaves_the_others_metadata_as_it_was(
    tree: tuple[Path, str], builds: dict[tuple[str, str], BuiltPackages], signing_key: Key
) -> None:
    repo, base = tree
    signed = [
        *(f"deb/dists/{suite}/{name}" for suite in ("bookworm", "trixie")
          for name in ("InRelease", "Release", "Release.gpg", "main/binary-amd64/Packages")),
        *(f"rpm/{abi}/repodata/{name}" for abi in ("py311", "py313")
          for name in ("repomd.xml", "repomd.xml.asc")),
    ]  # fmt: skip
    before = {name: (repo / name).read_bytes() for name in signed}
    trixie = builds[("debian13", V2)]
    publish_ok(repo, signing_key, trixie.deb, trixie.rpm, base_url=base)
    changed = sorted(name for name in signed if (repo / name).read_bytes() != before[name])
    assert changed == [
        "deb/dists/trixie/InRelease",
        "deb/dists/trixie/Release",
        "deb/dists/trixie/Release.gpg",
        "deb/dists/trixie/main/binary-amd64/Packages",
        "rpm/py313/repodata/repomd.xml",
        "rpm/py313/repodata/repomd.xml.asc",
    ]
