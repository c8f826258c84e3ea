"""Real clients against a published tree served on 127.0.0.1: apt in a debootstrapped
Debian root, dnf --installroot into another. Install v1, upgrade to v2 (the rebuild
hook runs), pin v1 again; and refuse tampered or foreign-signed repositories.

Module-scoped: one server, one published tree, one apt root and one dnf root shared by
all tests, in file order (install, tamper, upgrade, pin), to stay within minutes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from publish_helpers import Key, publish_ok
from support.http import serve_directory
from support.packages import build_packages
from support.provides import build_provides_rpm
from support.roots import (
    apt_install,
    cached_root_tarball,
    chroot_mounts,
    debian_root,
    extract_root,
    remove_root,
    run_in_root,
)

NAME = "orangeqs-juice"
V1, V2 = "1.0.0", "2.0.0"
SCRIPTLET_LOG = "/var/log/juice-scriptlets.log"  # inside the roots
# The dnf repository of the Python 3.11 packages (the debian12 target) in a published tree.
RPM_REPO = "rpm/py311"
HOOK_RAN = "orangeqs-juice: rebuilding every environment image: juice env build --all"
HOOK_SKIPPED = "JUICE_SKIP_IMAGE_BUILD=1: environment images not rebuilt"
# Fast installs: the maintainer scripts log that they skip the image build.
SKIP_BUILD = {"JUICE_SKIP_IMAGE_BUILD": "1", "JUICE_SCRIPTLET_LOG": SCRIPTLET_LOG}
RUN_HOOK = {"JUICE_SCRIPTLET_LOG": SCRIPTLET_LOG}


@dataclass(frozen=True)
class Release:
    deb: Path
    rpm: Path

    @property
    def deb_version(self) -> str:
        return _out(["dpkg-deb", "-f", str(self.deb), "Version"])

    @property
    def rpm_version(self) -> str:
        return _out(["rpm", "-qp", "--nosignature", "--qf", "%{VERSION}-%{RELEASE}", str(self.rpm)])


def _out(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def _build(version: str) -> Release:
    """The real orangeqs-juice packages at ``version`` (built once per version, cached)."""
    built = build_packages(version)
    return Release(built.deb, built.rpm)


@pytest.fixture(scope="module")
def releases() -> dict[str, Release]:
    return {V1: _build(V1), V2: _build(V2)}


@dataclass(frozen=True)
class Served:
    root: Path  # directory the server serves
    url: str

    def tree(self, name: str) -> Path:
        return self.root / name

    def base(self, name: str) -> str:
        return f"{self.url}/{name}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    with serve_directory(root) as url:
        yield Served(root, url)


@pytest.fixture(scope="module")
def repo_v1(served: Served, releases: dict[str, Release], signing_key: Key, other_key: Key) -> Path:
    """The good tree with v1, plus the tampered copies the clients must refuse."""
    good = served.tree("good")
    publish_ok(good, signing_key, releases[V1].deb, releases[V1].rpm, base_url=served.base("good"))

    # Metadata changed after signing: the signed Release text and repomd.xml.
    meta = served.tree("tampered-metadata")
    shutil.copytree(good, meta, symlinks=True)
    in_release = meta / "deb/dists/bookworm/InRelease"
    in_release.write_text(in_release.read_text().replace("Label: OrangeQS Juice", "Label: Evil"))
    repomd = meta / RPM_REPO / "repodata/repomd.xml"
    repomd.write_text(repomd.read_text().replace("<revision>", "<!-- evil --><revision>"))

    # Packages changed after signing (one byte appended), metadata untouched.
    pkg = served.tree("tampered-package")
    shutil.copytree(good, pkg, symlinks=True)
    for path in [*pkg.glob("deb/pool/**/*.deb"), *pkg.glob(f"{RPM_REPO}/packages/*.rpm")]:
        path.write_bytes(path.read_bytes() + b"\0")

    # A well-formed repository signed by a key the clients never installed.
    publish_ok(served.tree("other-key"), other_key, releases[V1].deb, releases[V1].rpm)

    # Metadata signed by the right key and checksums that match, but the package itself
    # unsigned, or signed by the other key: only dnf's package signature check
    # (gpgcheck) can refuse these.
    unsigned = releases[V1].rpm
    foreign = next(served.tree("other-key").glob(f"{RPM_REPO}/packages/*.rpm"))
    for tree, rpm in (("unsigned-package", unsigned), ("foreign-signed-package", foreign)):
        _with_package(served.tree(tree), good, rpm, signing_key)

    # The good metadata, but the package file gone (the server answers 404).
    missing = served.tree("missing-package")
    shutil.copytree(good, missing, symlinks=True)
    for path in missing.glob(f"{RPM_REPO}/packages/*.rpm"):
        path.unlink()
    return good


def _with_package(tree: Path, good: Path, rpm: Path, key: Key) -> None:
    """A copy of the good tree whose .rpm is `rpm`, with repodata rebuilt and signed by
    `key` as the publisher does (so metadata and checksums are all in order)."""
    shutil.copytree(good, tree, symlinks=True)
    for old in tree.glob(f"{RPM_REPO}/packages/*.rpm"):
        old.unlink()
    shutil.copy2(rpm, tree / RPM_REPO / "packages" / rpm.name)
    (tree / RPM_REPO / "repodata").unlink()  # a link to the published generation's directory
    subprocess.run(["createrepo_c", "--quiet", str(tree / RPM_REPO)], check=True)
    repomd = tree / RPM_REPO / "repodata/repomd.xml"
    subprocess.run(
        ["gpg", "--batch", "--yes", "--local-user", key.fingerprint, "--armor",
         "--detach-sign", "--output", f"{repomd}.asc", str(repomd)],
        env=key.env, check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def repo_v2(repo_v1: Path, releases: dict[str, Release], signing_key: Key) -> Path:
    publish_ok(repo_v1, signing_key, releases[V2].deb, releases[V2].rpm)
    return repo_v1


# --- apt ------------------------------------------------------------------------------


def _apt_deps(root: Path) -> None:
    with chroot_mounts(root):
        apt_install(root, ["python3.11", "podman", "runc"])


@pytest.fixture(scope="module")
def apt_root(tmp_path_factory: pytest.TempPathFactory, repo_v1: Path) -> Iterator[Path]:
    """A Debian 12 root trusting the repository the way docs/publishing.md says."""
    tarball = cached_root_tarball("publishing-apt-deps-v1", _apt_deps)
    root = extract_root(tarball, tmp_path_factory.mktemp("apt") / "root")
    try:
        # The package's Debian dependencies are preinstalled (cached above); removing the
        # archive's sources makes every apt-get below talk to our repository alone.
        (root / "etc/apt/sources.list").unlink(missing_ok=True)
        for extra in (root / "etc/apt/sources.list.d").glob("*"):
            extra.unlink()
        keyrings = root / "etc/apt/keyrings"
        keyrings.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repo_v1 / "orangeqs-juice.gpg", keyrings / "orangeqs-juice.gpg")
        shutil.copyfile(
            repo_v1 / "orangeqs-juice-bookworm.sources",  # the release's own suite
            root / "etc/apt/sources.list.d/orangeqs-juice.sources",
        )
        with chroot_mounts(root):
            yield root
    finally:
        remove_root(root)


def apt(root: Path, *args: str, env: dict[str, str] | None = None, cache: str = "good",
        check: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """apt-get in the root with a download cache of this test's own.

    Not the suite's shared archive cache: a genuine .deb cached there would hide a
    tampered one in the repository.
    """
    archives = f"/var/cache/juice-publish-test/{cache}"
    (root / archives.lstrip("/") / "partial").mkdir(parents=True, exist_ok=True)
    argv = ["apt-get", "-y", "-o", f"Dir::Cache::Archives={archives}", *args]
    return run_in_root(root, argv, env=env, check=check)


def dpkg_version(root: Path) -> str:
    return run_in_root(root, ["dpkg-query", "-W", "-f=${Version}", NAME]).stdout


def scriptlet_log(root: Path) -> list[str]:
    log = root / SCRIPTLET_LOG.lstrip("/")
    return log.read_text().splitlines() if log.exists() else []


def test_apt_installs_v1_from_the_signed_repository(
    apt_root: Path, releases: dict[str, Release]
) -> None:
    apt(apt_root, "update")
    proc = apt(apt_root, "install", NAME, env=SKIP_BUILD)
    assert dpkg_version(apt_root) == releases[V1].deb_version
    assert HOOK_SKIPPED in proc.stdout
    assert "postinst configure " in scriptlet_log(apt_root)[-1]


@pytest.mark.parametrize(
    ("tree", "refusal"),
    [
        ("tampered-metadata", "The following signatures were invalid"),
        ("other-key", "NO_PUBKEY"),
    ],
)
def test_apt_refuses_a_repository_not_signed_by_its_key(
    apt_root: Path, served: Served, repo_v1: Path, tree: str, refusal: str
) -> None:
    proc = _apt_update_from(apt_root, served, tree)
    assert proc.returncode != 0
    assert refusal in proc.stdout + proc.stderr
    assert "is not signed" in proc.stdout + proc.stderr


def test_apt_refuses_a_package_changed_after_signing(
    apt_root: Path, served: Served, repo_v1: Path
) -> None:
    tree = "tampered-package"
    assert _apt_update_from(apt_root, served, tree).returncode == 0  # metadata is fine
    proc = apt(
        apt_root, *_only_source(apt_root, served, tree), "install", "--reinstall", NAME,
        env=SKIP_BUILD, cache=tree, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Hash Sum mismatch" in proc.stdout + proc.stderr or "unexpected size" in (
        proc.stdout + proc.stderr
    )


def _only_source(root: Path, served: Served, tree: str) -> list[str]:
    """apt options that use only ``tree`` (same key, same .sources, another URL)."""
    parts = root / f"etc/apt/test-{tree}.d"
    parts.mkdir(exist_ok=True)
    sources = (root / "etc/apt/sources.list.d/orangeqs-juice.sources").read_text()
    (parts / "orangeqs-juice.sources").write_text(
        sources.replace(served.base("good"), served.base(tree))
    )
    lists = root / f"var/lib/apt/lists-{tree}"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    return [
        "-o", "Dir::Etc::SourceList=/dev/null",
        "-o", f"Dir::Etc::SourceParts=/etc/apt/test-{tree}.d",
        "-o", f"Dir::State::Lists=/var/lib/apt/lists-{tree}",
    ]  # fmt: skip


def _apt_update_from(root: Path, served: Served, tree: str) -> subprocess.CompletedProcess[str]:
    return apt(root, *_only_source(root, served, tree), "update", cache=tree, check=False)


# --- dnf ------------------------------------------------------------------------------

TREES = (
    "good", "tampered-metadata", "tampered-package", "other-key",
    "unsigned-package", "foreign-signed-package", "missing-package",
)  # fmt: skip


@dataclass(frozen=True)
class DnfRoot:
    root: Path
    work: Path  # repos dirs and caches, outside the root


@pytest.fixture(scope="module")
def dnf_root(
    tmp_path_factory: pytest.TempPathFactory, served: Served, repo_v1: Path
) -> Iterator[DnfRoot]:
    """A Debian root that dnf installs into, with the generated .repo file per tree."""
    work = tmp_path_factory.mktemp("dnf")
    generated = (repo_v1 / "orangeqs-juice-py311.repo").read_text()  # Python 3.11's
    for tree in TREES:
        # Only baseurl moves: gpgkey stays the key the lab trusts (the good tree's).
        repo_file = generated.replace(
            f"baseurl={served.base('good')}/", f"baseurl={served.base(tree)}/"
        )
        (work / f"repos-{tree}").mkdir()
        (work / f"repos-{tree}" / "orangeqs-juice.repo").write_text(repo_file)
    # python3 in the root: the package's scriptlets run its venv on the root's Python.
    root = debian_root(work / "root", include=["python3"])
    try:
        # The root's RPM database starts empty: declare what Debian already installed.
        provides = build_provides_rpm(work)
        with chroot_mounts(root):
            target = DnfRoot(root, work)
            dnf(target, "good", "install", str(provides))
            yield target
    finally:
        remove_root(root)


def dnf(
    target: DnfRoot, tree: str, *args: str, env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """dnf on the root with only the repository ``tree``, from its .repo file."""
    argv = [
        "dnf", "-y", f"--installroot={target.root}",
        f"--setopt=reposdir={target.work / f'repos-{tree}'}",
        f"--setopt=cachedir={target.work / f'cache-{tree}'}", "--releasever=1",
        # Fail on a refused repository instead of carrying on without it.
        "--setopt=skip_if_unavailable=False", *args,
    ]  # fmt: skip
    proc = subprocess.run(
        argv, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **(env or {})},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def rpm_version(target: DnfRoot) -> str:
    return _out(["rpm", "--root", str(target.root), "-q", "--qf", "%{VERSION}-%{RELEASE}", NAME])


def test_dnf_installs_v1_from_the_signed_repository(
    dnf_root: DnfRoot, releases: dict[str, Release]
) -> None:
    proc = dnf(dnf_root, "good", "install", NAME, env=SKIP_BUILD)
    assert rpm_version(dnf_root) == releases[V1].rpm_version
    assert HOOK_SKIPPED in proc.stdout
    assert scriptlet_log(dnf_root.root)[-1].startswith("posttrans")


@pytest.mark.parametrize(
    ("tree", "refusal"),
    [
        ("tampered-metadata", "repomd.xml GPG signature verification error"),
        ("other-key", "repomd.xml GPG signature verification error"),
        ("tampered-package", "Cannot download"),
        # dnf's package signature check; neither message can come from a missing file.
        ("unsigned-package", "is not signed"),
        ("foreign-signed-package", "are already installed but they are not correct for"),
    ],
)
def test_dnf_refuses_what_its_key_did_not_sign(
    dnf_root: DnfRoot, releases: dict[str, Release], tree: str, refusal: str
) -> None:
    before = rpm_version(dnf_root)
    proc = dnf(dnf_root, tree, "--refresh", "reinstall", NAME, env=SKIP_BUILD, check=False)
    assert proc.returncode != 0
    assert refusal in proc.stdout + proc.stderr
    assert rpm_version(dnf_root) == before


def test_dnf_signature_refusals_are_not_a_missing_file(dnf_root: DnfRoot) -> None:
    """What the signature cases above expect cannot come from a 404."""
    proc = dnf(dnf_root, "missing-package", "--refresh", "reinstall", NAME, env=SKIP_BUILD,
               check=False)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Cannot download" in output
    for signature_refusal in ("is not signed", "not correct for", "GPG check FAILED"):
        assert signature_refusal not in output


# --- v2: published after every v1 test above ---------------------------------------------


def test_apt_upgrade_moves_to_v2_and_runs_the_rebuild_hook(
    apt_root: Path, repo_v2: Path, releases: dict[str, Release]
) -> None:
    assert dpkg_version(apt_root) == releases[V1].deb_version
    apt(apt_root, "update")
    proc = apt(apt_root, "upgrade", env=RUN_HOOK)
    assert dpkg_version(apt_root) == releases[V2].deb_version
    assert HOOK_RAN in proc.stdout
    # dpkg calls the new postinst with the version being upgraded from.
    assert f"postinst configure {releases[V1].deb_version}" in scriptlet_log(apt_root)


def test_apt_can_still_pin_v1(apt_root: Path, repo_v2: Path, releases: dict[str, Release]) -> None:
    v1 = releases[V1].deb_version
    apt(apt_root, "install", "--allow-downgrades", f"{NAME}={v1}", env=SKIP_BUILD)
    assert dpkg_version(apt_root) == v1


def test_dnf_upgrade_moves_to_v2_and_runs_the_rebuild_hook(
    dnf_root: DnfRoot, repo_v2: Path, releases: dict[str, Release]
) -> None:
    assert rpm_version(dnf_root) == releases[V1].rpm_version
    proc = dnf(dnf_root, "good", "--refresh", "upgrade", NAME, env=RUN_HOOK)
    assert rpm_version(dnf_root) == releases[V2].rpm_version
    assert HOOK_RAN in proc.stdout
    # %posttrans runs once, after the whole upgrade transaction.
    assert scriptlet_log(dnf_root.root)[-1].startswith("posttrans")


def test_dnf_can_still_pin_v1(
    dnf_root: DnfRoot, repo_v2: Path, releases: dict[str, Release]
) -> None:
    dnf(dnf_root, "good", "downgrade", f"{NAME}-{releases[V1].rpm_version}", env=SKIP_BUILD)
    assert rpm_version(dnf_root) == releases[V1].rpm_version
