"""publish-repo on its own: layout, signatures, incremental and refusal rules, safety.

No client here (see test_publish_clients.py): these check the tree with gpgv, rpmkeys
and the metadata files themselves, in seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from publish_helpers import PUBLISH, Key, publish, publish_ok, snapshot

SUITE = "dists/stable"


def gpgv(keyring: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gpgv", "--keyring", str(keyring), *map(str, files)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def primary_xml(repo: Path) -> bytes:
    """The primary.xml that the live repomd.xml names (repodata/ also keeps older ones)."""
    repomd = (repo / "rpm/repodata/repomd.xml").read_text()
    href = re.search(r'<data type="primary">.*?href="repodata/([^"]+)"', repomd, re.S)
    assert href, repomd
    return gzip.decompress((repo / "rpm/repodata" / href[1]).read_bytes())


def release_sha256(release: str) -> dict[str, str]:
    """path -> sha256 from the SHA256: section of a Release file."""
    section = release.split("SHA256:\n", 1)[1]
    entries: dict[str, str] = {}
    for line in section.splitlines():
        if not line.startswith(" "):
            break
        digest, _size, name = line.split()
        entries[name] = digest
    return entries


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return tmp_path / "repo"


def test_first_publish_makes_a_signed_apt_and_dnf_tree(
    repo: Path, signing_key: Key, tiny: dict[str, tuple[Path, Path]]
) -> None:
    deb, rpm = tiny["v1"]
    out = publish_ok(repo, signing_key, deb, rpm, base_url="http://127.0.0.1:9/juice/")
    pool = "pool/main/j/juice-publish-demo/juice-publish-demo_1.0.0-1_amd64.deb"
    assert f"adding     deb/{pool}" in out
    assert "adding     rpm/packages/juice-publish-demo-1.0.0-1.x86_64.rpm" in out

    # apt: InRelease and Release.gpg verify with exactly the published public key, and
    # Release covers the index files by hash.
    keyring = repo / "orangeqs-juice.gpg"
    suite = repo / "deb" / SUITE
    assert gpgv(keyring, suite / "InRelease").returncode == 0
    assert gpgv(keyring, suite / "Release.gpg", suite / "Release").returncode == 0
    release = (suite / "Release").read_text()
    assert "Acquire-By-Hash: yes" in release
    assert "Architectures: amd64" in release
    hashes = release_sha256(release)
    assert set(hashes) == {f"main/binary-amd64/Packages{ext}" for ext in ("", ".gz", ".xz")}
    for name, digest in hashes.items():
        assert hashlib.sha256((suite / name).read_bytes()).hexdigest() == digest
        assert (suite / "main/binary-amd64/by-hash/SHA256" / digest).is_file()
    packages = gzip.decompress((suite / "main/binary-amd64/Packages.gz").read_bytes()).decode()
    assert f"Filename: {pool}\n" in packages
    assert (repo / "deb" / pool).is_file()

    # dnf: repomd.xml has a detached signature by the key, and the RPM itself is signed.
    repodata = repo / "rpm" / "repodata"
    assert gpgv(keyring, repodata / "repomd.xml.asc", repodata / "repomd.xml").returncode == 0
    published_rpm = repo / "rpm/packages/juice-publish-demo-1.0.0-1.x86_64.rpm"
    db = repo.parent / "rpmdb"
    subprocess.run(["rpmkeys", "--dbpath", str(db), "--import", str(repo / "orangeqs-juice.asc")],
                   check=True)  # fmt: skip
    check = subprocess.run(
        ["rpmkeys", "--dbpath", str(db), "--checksig", "-v", str(published_rpm)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0 and "Signature, key ID" in check.stdout and "OK" in check.stdout
    assert b'href="packages/juice-publish-demo-1.0.0-1.x86_64.rpm"' in primary_xml(repo)

    # Client files point at the base URL (trailing slash dropped) and at the key.
    sources = (repo / "orangeqs-juice.sources").read_text()
    assert "URIs: http://127.0.0.1:9/juice/deb\n" in sources
    assert "Signed-By: /etc/apt/keyrings/orangeqs-juice.gpg\n" in sources
    assert "Suites: stable\n" in sources and "Components: main\n" in sources
    dnf_repo = (repo / "orangeqs-juice.repo").read_text()
    for line in ("baseurl=http://127.0.0.1:9/juice/rpm", "gpgcheck=1", "repo_gpgcheck=1",
                 "gpgkey=http://127.0.0.1:9/juice/orangeqs-juice.asc"):  # fmt: skip
        assert line + "\n" in dnf_repo
    assert "PRIVATE" not in (repo / "orangeqs-juice.asc").read_text()


def test_republishing_the_same_files_changes_nothing(
    repo: Path, signing_key: Key, tiny: dict[str, tuple[Path, Path]]
) -> None:
    publish_ok(repo, signing_key, *tiny["v1"], base_url="http://127.0.0.1:9")
    before = snapshot(repo)
    out = publish_ok(repo, signing_key, *tiny["v1"], base_url="http://127.0.0.1:9")
    assert out.count("(already published)") == 2
    assert "metadata renewed: none" in out
    assert snapshot(repo) == before


def test_a_different_file_under_a_published_version_is_refused(
    repo: Path, signing_key: Key, tiny: dict[str, tuple[Path, Path]]
) -> None:
    publish_ok(repo, signing_key, *tiny["v1"])
    before = snapshot(repo)
    for other in tiny["v1-other"]:
        # Together with a valid new package: the whole publish is refused.
        proc = publish(repo, signing_key, tiny["v2"][0], other)
        assert proc.returncode == 1
        assert "already published" in proc.stderr and "different content" in proc.stderr
        assert "nothing was changed" in proc.stderr
        assert "new version" in proc.stderr  # says what to do
        assert snapshot(repo) == before


def test_two_different_inputs_for_one_version_are_refused(
    repo: Path, signing_key: Key, tiny: dict[str, tuple[Path, Path]]
) -> None:
    proc = publish(repo, signing_key, tiny["v1"][0], tiny["v1-other"][0])
    assert proc.returncode == 1 and "are different files" in proc.stderr
    assert not (repo / "deb" / "pool").exists()


def test_new_version_keeps_old_ones_and_old_metadata_stays_fetchable(
    repo: Path, signing_key: Key, tiny: dict[str, tuple[Path, Path]]
) -> None:
    publish_ok(repo, signing_key, *tiny["v1"])
    suite = repo / "deb" / SUITE
    old_release = (suite / "Release").read_text()
    old_repomd = (repo / "rpm/repodata/repomd.xml").read_text()
    old_rpm_files = re.findall(r'href="repodata/([^"]+)"', old_repomd)

    publish_ok(repo, signing_key, *tiny["v2"])
    packages = (suite / "main/binary-amd64/Packages").read_text()
    assert "Version: 1.0.0-1" in packages and "Version: 2.0.0-1" in packages
    primary = primary_xml(repo)
    assert b'ver="1.0.0"' in primary and b'ver="2.0.0"' in primary

    # A client that read the old InRelease just before the switch fetches the indexes it
    # names by hash, through the new dists/: they must still be there, unchanged.
    for name, digest in release_sha256(old_release).items():
        by_hash = suite / Path(name).parent / "by-hash/SHA256" / digest
        assert hashlib.sha256(by_hash.read_bytes()).hexdigest() == digest
    # Likewise for dnf: the old repomd.xml's hash-named files are still in repodata/.
    for name in old_rpm_files:
        assert (repo / "rpm/repodata" / name).is_file(), name
    # Superseded generations are gone; only the live one remains.
    assert len(list((repo / "deb/generations").iterdir())) == 1
    assert len(list((repo / "rpm/generations").iterdir())) == 1


def test_a_tree_signed_with_another_key_is_refused(
    repo: Path, signing_key: Key, other_key: Key, tiny: dict[str, tuple[Path, Path]]
) -> None:
    publish_ok(repo, signing_key, *tiny["v1"])
    before = snapshot(repo)
    proc = publish(repo, other_key, *tiny["v2"])
    assert proc.returncode == 1
    assert f"not with the given key {other_key.fingerprint}" in proc.stderr
    assert "new directory" in proc.stderr
    assert snapshot(repo) == before


# apt metadata is renewed before dnf's: a crash in createrepo_c comes after the apt
# switch (complete and valid), so only rpm/repodata must still be the old generation.
@pytest.mark.parametrize(
    ("tool", "untouched"),
    [
        ("apt-ftparchive", ["deb/dists", "rpm/repodata"]),
        ("gpg", ["deb/dists", "rpm/repodata"]),
        ("createrepo_c", ["rpm/repodata"]),
    ],
)
def test_an_interrupted_publish_leaves_the_old_metadata_live(
    repo: Path,
    signing_key: Key,
    tiny: dict[str, tuple[Path, Path]],
    tool: str,
    untouched: list[str],
    tmp_path: Path,
) -> None:
    publish_ok(repo, signing_key, *tiny["v1"])
    signed_file = {"deb/dists": "stable/InRelease", "rpm/repodata": "repomd.xml"}
    live = {link: (repo / link).readlink() for link in untouched}
    signed = {link: (repo / link / signed_file[link]).read_bytes() for link in untouched}

    # A tool that dies half-way through building the new metadata: as if the machine
    # went down mid-publish. gpg dies only when signing, so the key lookup still works.
    shim = tmp_path / "shim"
    shim.mkdir()
    real = shutil.which(tool)
    condition = '[[ " $* " == *" --clearsign "* || " $* " == *" --detach-sign "* ]]'
    if tool != "gpg":
        condition = "true"
    (shim / tool).write_text(
        f'#!/bin/bash\nif {condition}; then echo "{tool}: simulated crash" >&2; exit 137; fi\n'
        f'exec {real} "$@"\n'
    )
    (shim / tool).chmod(0o755)
    proc = publish(repo, signing_key, *tiny["v2"], path_prefix=str(shim))
    assert proc.returncode == 1 and "simulated crash" in proc.stderr

    # Clients still see exactly the old, signed metadata, and it still verifies.
    for link, target in live.items():
        assert (repo / link).readlink() == target
        assert (repo / link / signed_file[link]).read_bytes() == signed[link]
    keyring = repo / "orangeqs-juice.gpg"
    assert gpgv(keyring, repo / "deb/dists/stable/InRelease").returncode == 0
    repodata = repo / "rpm/repodata"
    assert gpgv(keyring, repodata / "repomd.xml.asc", repodata / "repomd.xml").returncode == 0

    # The next publish completes the job and clears what the interrupted one left.
    out = publish_ok(repo, signing_key, *tiny["v2"])
    renewed = re.search(r"metadata renewed: (.*)", out)[1]  # type: ignore[index]
    assert renewed.split(", ") == [link.split("/")[0] for link in untouched]
    assert "Version: 2.0.0-1" in (repo / "deb/dists/stable/main/binary-amd64/Packages").read_text()
    assert len(list((repo / "deb/generations").iterdir())) == 1
    assert len(list((repo / "rpm/generations").iterdir())) == 1


def test_usage_errors_say_what_to_do(tmp_path: Path, signing_key: Key) -> None:
    help_text = subprocess.run([str(PUBLISH), "--help"], capture_output=True, text=True, check=True)
    for option in ("--repo", "--gnupghome", "--key", "--base-url", "docs/publishing.md"):
        assert option in help_text.stdout

    no_key = subprocess.run(
        [str(PUBLISH), "--repo", str(tmp_path / "r"), "x.deb"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert no_key.returncode == 1 and "--key ID" in no_key.stderr

    missing = publish(tmp_path / "r", signing_key, tmp_path / "nope.deb")
    assert missing.returncode == 1 and "nope.deb: no such file" in missing.stderr

    wrong_kind = tmp_path / "notes.txt"
    wrong_kind.write_text("x")
    proc = publish(tmp_path / "r", signing_key, wrong_kind)
    assert proc.returncode == 1 and "not a .deb or .rpm" in proc.stderr
