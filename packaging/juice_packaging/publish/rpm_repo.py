"""dnf side: signed RPMs in ``rpm/packages/`` and signed ``rpm/repodata/`` (createrepo_c)."""

from __future__ import annotations

import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from juice_packaging.publish.errors import PublishError
from juice_packaging.publish.signing import Signer, verify_detached
from juice_packaging.publish.tools import run
from juice_packaging.publish.tree import commit_atomic, link_or_copy, new_generation

_REPO_NS = "{http://linux.duke.edu/metadata/repo}"


def add_signed_rpm(src: Path, dest: Path, signer: Signer, public_key_asc: Path) -> None:
    """Put a signed copy of ``src`` at ``dest``; ``dest`` appears only once verified."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    # rpmsign rewrites the file through its own temp file, so keep the .rpm suffix.
    tmp = dest.with_name(f".tmp-{os.getpid()}-{dest.name}")
    try:
        shutil.copyfile(src, tmp)
        signer.sign_rpm(tmp)
        check_rpm_signature(tmp, public_key_asc)
        commit_atomic(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def check_rpm_signature(rpm_file: Path, public_key_asc: Path) -> None:
    """Require a valid signature by exactly this key (checked in a throwaway rpm db)."""
    with tempfile.TemporaryDirectory() as db:
        run(["rpmkeys", "--dbpath", db, "--import", public_key_asc], what="rpmkeys --import")
        out = run(["rpmkeys", "--dbpath", db, "--checksig", "-v", rpm_file], what="rpmkeys")
    if "NOKEY" in out or "signature" not in out.lower() or "BAD" in out:
        raise PublishError(f"the signed {rpm_file.name} does not verify:\n{out}")


def build_repodata(
    rpm_root: Path,
    signer: Signer,
    keyring: Path,
    previous: Path | None,
    excludes: tuple[str, ...] = (),
) -> Path:
    """Write a complete, signed, verified ``repodata`` generation; return its directory.

    ``previous`` is the ``repodata`` being replaced. Its metadata files (hash-named by
    createrepo_c) are carried over: a client that fetched the old repomd.xml just before
    the switch then asks for them. `excludes`: subdirectories that are repositories of
    their own (one per Python ABI), left out of this one.
    """
    gen = new_generation(rpm_root, "repodata")
    exclude_args = [arg for name in excludes for arg in ("--excludes", f"{name}/*")]
    run(
        [
            "createrepo_c", "--quiet",
            # Outside the served repodata/: the switch happens only after signing.
            "--outputdir", gen,
            "--checksum", "sha256",
            *exclude_args,
            rpm_root,
        ],
        what="createrepo_c",
    )  # fmt: skip
    repodata = gen / "repodata"
    if previous is not None and (previous / "repomd.xml").is_file():
        for name in _referenced_files(previous / "repomd.xml"):
            if not (repodata / name).exists() and (previous / name).is_file():
                link_or_copy(previous / name, repodata / name)
    signer.detach_sign(repodata / "repomd.xml", repodata / "repomd.xml.asc")
    verify_detached(keyring, repodata / "repomd.xml.asc", repodata / "repomd.xml")
    return gen


def _referenced_files(repomd: Path) -> list[str]:
    """File names (within repodata/) that a repomd.xml points at."""
    # Our own createrepo_c output from a previous publish, not untrusted input.
    root = ET.parse(repomd).getroot()  # noqa: S314
    names = []
    for loc in root.iter(f"{_REPO_NS}location"):
        href = loc.get("href", "")
        if href.startswith("repodata/") and "/" not in href[len("repodata/") :]:
            names.append(href[len("repodata/") :])
    return names
