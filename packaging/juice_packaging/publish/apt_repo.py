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
    deb_root: Path, layout: AptLayout, signer: Signer, keyring: Path, previous: Path | None
) -> Path:
    """Write a complete, signed, verified ``dists`` generation; return its directory.

    The caller switches the ``dists`` symlink to it. ``previous`` is the ``dists`` being
    replaced: its by-hash files are carried over, because a client that read the old
    InRelease a moment before the switch fetches the old indexes by their hash.
    """
    gen = new_generation(deb_root, "dists")
    dists = gen / "dists"
    suite_dir = dists / layout.suite
    if previous is not None:
        for old in previous.glob("*/*/*/by-hash/*/*"):
            link_or_copy(old, dists / old.relative_to(previous))
    pool = deb_root / "pool" / layout.component
    pool.mkdir(parents=True, exist_ok=True)
    for arch in layout.architectures:
        index_dir = suite_dir / layout.component / f"binary-{arch}"
        index_dir.mkdir(parents=True, exist_ok=True)
        # Paths relative to deb_root, so Filename: fields read pool/... as apt expects.
        text = run(
            ["apt-ftparchive", "--arch", arch, "packages", f"pool/{layout.component}"],
            cwd=deb_root,
            what="apt-ftparchive packages",
        ).encode()
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
    return gen
