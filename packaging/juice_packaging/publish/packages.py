"""What a package file is: its identity (name, version, arch) and content fingerprint.

Identity decides where a file lives in the repository; the content fingerprint decides
whether a file already there is "the same package" (re-publishing: no-op) or a different
build under the same name and version (refused).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from juice_packaging.publish.errors import PublishError
from juice_packaging.publish.tools import run
from juice_packaging.targets import TARGETS


@dataclass(frozen=True)
class Package:
    """One input file and where it belongs in the tree."""

    path: Path
    family: str  # "deb" or "rpm"
    name: str
    version: str  # as the package manager shows it (with epoch for deb)
    arch: str
    pool_path: str  # relative to the family's root (deb/ or rpm/)
    fingerprint: str  # content identity, see content_fingerprint()
    # Where clients of one target find it: the apt suite (bookworm) of a .deb; the dnf
    # repository directory (py311) of an .rpm, "" for rpm/ itself.
    channel: str = ""

    @property
    def label(self) -> str:
        """Human name for progress lines: name version arch."""
        return f"{self.name} {self.version} {self.arch}"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def deb_suite(version: str, default: str) -> str:
    """The apt suite of a .deb: its target's release (+deb12: bookworm), else `default`."""
    for target in TARGETS.values():
        if version.endswith(target.deb_suffix):
            return target.suite
    return default


def rpm_channel(release: str) -> str:
    """The dnf repository directory of an .rpm: its Python ABI (1.py311: py311), else ""."""
    for target in TARGETS.values():
        if release.endswith(target.rpm_release_suffix):
            return target.rpm_release_suffix.lstrip(".")
    return ""


def read_package(path: Path, component: str, default_suite: str = "stable") -> Package:
    """Identify a .deb or .rpm file, or explain why it cannot be published."""
    if not path.is_file():
        raise PublishError(f"{path}: no such file", "pass the .deb/.rpm files that the build wrote")
    if path.name.endswith(".src.rpm"):
        raise PublishError(f"{path}: source RPMs are not published", "pass binary .rpm files")
    if path.suffix == ".deb":
        return _read_deb(path, component, default_suite)
    if path.suffix == ".rpm":
        return _read_rpm(path)
    raise PublishError(f"{path}: not a .deb or .rpm file")


def _read_deb(path: Path, component: str, default_suite: str) -> Package:
    out = run(
        [
            "dpkg-deb",
            "--show",
            "--showformat=${Package}\\n${Version}\\n${Architecture}\\n${source:Package}\\n",
            path,
        ],
        what=f"dpkg-deb (reading {path})",
    )
    name, version, arch, source = out.split("\n")[:4]
    if not (name and version and arch):
        raise PublishError(f"{path}: not a valid .deb (no Package/Version/Architecture)")
    source = source or name
    # Debian's pool layout: pool/<component>/<prefix>/<source>/, prefix "libx" for libs.
    prefix = source[:4] if source.startswith("lib") else source[0]
    upstream = version.split(":", 1)[-1]  # the epoch is never part of a file name
    pool = f"pool/{component}/{prefix}/{source}/{name}_{upstream}_{arch}.deb"
    # .deb files are published byte for byte, so the bytes are the identity.
    suite = deb_suite(version, default_suite)
    return Package(path, "deb", name, version, arch, pool, sha256_file(path), suite)


_RPM_IDENTITY = "%{NAME}\\n%{EPOCH}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n"
_RPM_DIGESTS = "%{SHA256HEADER} %{SIGMD5} %{PAYLOADDIGEST}\\n"


def _rpm_query(path: Path, fmt: str) -> str:
    """``rpm -qp --qf fmt`` of a package file (its signature is neither needed nor checked)."""
    return run(
        ["rpm", "-qp", "--nosignature", "--nodigest", "--qf", fmt, path],
        what=f"rpm (reading {path})",
    )


def _read_rpm(path: Path) -> Package:
    out = _rpm_query(path, _RPM_IDENTITY + _RPM_DIGESTS)
    name, epoch, version, release, arch, digests = out.split("\n", 5)
    evr = f"{version}-{release}" if epoch == "(none)" else f"{epoch}:{version}-{release}"
    channel = rpm_channel(release)
    pool = f"{channel + '/' if channel else ''}packages/{name}-{version}-{release}.{arch}.rpm"
    fingerprint = _rpm_fingerprint(path, digests)
    return Package(path, "rpm", name, evr, arch, pool, fingerprint, channel)


def rpm_content_fingerprint(path: Path) -> str:
    """Identity of an RPM's content that survives signing.

    Publishing signs every RPM, which rewrites the file's signature header, so its bytes
    change. The main header's SHA256 digest, the header+payload MD5 and the payload digest
    are computed at build time and kept by rpmsign: equal values mean the same build.
    """
    return _rpm_fingerprint(path, _rpm_query(path, _RPM_DIGESTS))


def _rpm_fingerprint(path: Path, digests: str) -> str:
    """The fingerprint from the output of an ``_RPM_DIGESTS`` query of ``path``."""
    digests = digests.strip()
    if digests.replace("(none)", "").strip() == "":
        # An RPM with none of the digests (very old tooling): only its bytes identify it.
        return "sha256:" + sha256_file(path)
    return digests


def content_fingerprint(family: str, path: Path) -> str:
    """What must be equal for two files of ``family`` to be the same package build."""
    if family == "deb":
        # .deb files are published byte for byte, so the bytes are the identity.
        return sha256_file(path)
    return rpm_content_fingerprint(path)
