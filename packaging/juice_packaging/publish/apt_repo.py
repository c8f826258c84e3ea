"""apt side: ``deb/pool/`` and signed ``deb/dists/<suite>/`` made with apt-ftparchive."""

from __future__ import annotations

import gzip
import lzma
from dataclasses import dataclass
from pathlib import Path

from juice_packaging.publish.signing import Signer, verify_detached, verify_inline
from juice_packaging.publish.tools import run
from juice_packaging.publish.tree import link_or_copy, new_generation


@dataclass(frozen=True)
class AptLayout:
    """What the Release file says about the suite."""

    suite: str
    component: str
    architectures: tuple[str, ...]
    origin: str
    label: str


def pool_architectures(deb_root: Path) -> set[str]:
    """Architectures of the .deb files in the pool (from their file names)."""
    return {p.stem.rsplit("_", 1)[-1] for p in (deb_root / "pool").rglob("*.deb")}


def index_architectures(deb_root: Path, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The binary-<arch> indexes to write: every pool arch plus the requested ones.

    ``all`` packages are listed in every arch's index, the layout every apt understands.
    """
    arches = (pool_architectures(deb_root) | set(wanted)) - {"all"}
    return tuple(sorted(arches or {"amd64"}))


def build_dists(
    deb_root: Path,
    suites: dict[str, tuple[AptLayout, frozenset[str]]],
    unchanged: set[str],
    signer: Signer,
    keyring: Path,
    previous: Path | None,
) -> Path:
    """Write a complete, signed, verified ``dists`` generation; return its directory.

    `suites` maps each suite to its layout and the pool files (``pool/...``) it lists: a
    suite per Debian release, so a host sees only its own release's builds. A suite in
    `unchanged` is carried over from ``previous`` byte for byte (its Release and
    signatures stay exactly as clients verified them); the others are written anew.
    The caller switches the ``dists`` symlink to the generation. ``previous``'s by-hash
    files are carried over too, because a client that read the old InRelease a moment
    before the switch fetches the old indexes by their hash.
    """
    gen = new_generation(deb_root, "dists")
    dists = gen / "dists"
    dists.mkdir()
    if previous is not None:
        for suite in sorted(unchanged):
            for old in sorted((previous / suite).rglob("*")):
                if old.is_file():
                    link_or_copy(old, dists / old.relative_to(previous))
        for old in previous.glob("*/*/*/by-hash/*/*"):
            if not (dists / old.relative_to(previous)).exists():
                link_or_copy(old, dists / old.relative_to(previous))
    for suite, (layout, files) in sorted(suites.items()):
        if suite not in unchanged or previous is None or not (previous / suite).is_dir():
            _write_suite(deb_root, dists / suite, layout, files, signer, keyring)
    return gen


def _only(packages: str, files: frozenset[str]) -> str:
    """The stanzas of a Packages index whose Filename is one of `files`."""
    stanzas = [s for s in packages.split("\n\n") if s.strip()]
    kept = [
        s for s in stanzas
        if next((line[10:] for line in s.splitlines() if line.startswith("Filename: ")), "")
        in files
    ]  # fmt: skip
    return "".join(f"{s.strip()}\n\n" for s in kept)


def _write_suite(
    deb_root: Path,
    suite_dir: Path,
    layout: AptLayout,
    files: frozenset[str],
    signer: Signer,
    keyring: Path,
) -> None:
    """Indexes, Release, InRelease and Release.gpg of one suite; verified before use."""
    pool = deb_root / "pool" / layout.component
    pool.mkdir(parents=True, exist_ok=True)
    for arch in layout.architectures:
        index_dir = suite_dir / layout.component / f"binary-{arch}"
        index_dir.mkdir(parents=True, exist_ok=True)
        # Paths relative to deb_root, so Filename: fields read pool/... as apt expects.
        listing = run(
            ["apt-ftparchive", "--arch", arch, "packages", f"pool/{layout.component}"],
            cwd=deb_root,
            what="apt-ftparchive packages",
        )
        text = _only(listing, files).encode()
        (index_dir / "Packages").write_bytes(text)
        (index_dir / "Packages.gz").write_bytes(gzip.compress(text, mtime=0))
        (index_dir / "Packages.xz").write_bytes(lzma.compress(text))
    release = run(
        [
            "apt-ftparchive",
            # by-hash: indexes stay fetchable by checksum while the next publish switches.
            "-o", "APT::FTPArchive::DoByHash=true",
            "-o", "APT::FTPArchive::Release::Acquire-By-Hash=yes",
            # MD5 and SHA1 are no longer trusted by apt; SHA256/SHA512 are.
            "-o", "APT::FTPArchive::Release::MD5=false",
            "-o", "APT::FTPArchive::Release::SHA1=false",
            "-o", f"APT::FTPArchive::Release::Origin={layout.origin}",
            "-o", f"APT::FTPArchive::Release::Label={layout.label}",
            "-o", f"APT::FTPArchive::Release::Suite={layout.suite}",
            "-o", f"APT::FTPArchive::Release::Codename={layout.suite}",
            "-o", f"APT::FTPArchive::Release::Components={layout.component}",
            "-o", f"APT::FTPArchive::Release::Architectures={' '.join(layout.architectures)}",
            "-o", f"APT::FTPArchive::Release::Description={layout.label} packages",
            "release", suite_dir,
        ],
        what="apt-ftparchive release",
    )  # fmt: skip
    (suite_dir / "Release").write_text(release)
    signer.clearsign(suite_dir / "Release", suite_dir / "InRelease")
    signer.detach_sign(suite_dir / "Release", suite_dir / "Release.gpg")
    # Never switch to metadata that would not verify with the key clients install.
    verify_inline(keyring, suite_dir / "InRelease")
    verify_detached(keyring, suite_dir / "Release.gpg", suite_dir / "Release")
