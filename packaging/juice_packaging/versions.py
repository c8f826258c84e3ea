"""PEP 440 versions mapped to Debian and RPM versions that sort the same way.

The core package's ``_version.py`` is the single source of truth; the system package
versions are derived from it here and nowhere else.

Mapping (same string for dpkg and rpm, both of which sort ``~`` before anything, even
the end of the string):

============================  ==========================
PEP 440                       Debian / RPM
============================  ==========================
``1.2.0``                     ``1.2.0``
``1.2.0rc1`` (a, b, rc)       ``1.2.0~rc1``
``1.2.0.dev3``                ``1.2.0~~dev3``
``1.2.0rc1.dev3``             ``1.2.0~rc1~~dev3``
``1.2.0.post1``               ``1.2.0+post1``
``2!1.0``                     epoch ``2`` (``2:1.0`` in dpkg)
============================  ==========================

``~~dev`` (two tildes) puts a dev release before every pre-release of the same
version, as PEP 440 does; ``a`` < ``b`` < ``rc`` also holds letter by letter. Local
versions (``+abc``) are refused: they have no meaning for a published package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.version import InvalidVersion, Version

_VERSION_RE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


class VersionError(ValueError):
    """A version that cannot become a system package version."""


@dataclass(frozen=True)
class PackageVersion:
    """One release of the system package in every format's spelling."""

    pep440: str
    epoch: int
    upstream: str  # without epoch: the same for dpkg and rpm
    deb_suffix: str = ""  # the target release's: +deb12 (juice_packaging.targets)
    rpm_release_suffix: str = ""  # the target Python ABI's: .py311

    def for_target(self, deb_suffix: str, rpm_release_suffix: str) -> PackageVersion:
        """This version as built for one target (see juice_packaging.targets)."""
        return replace(self, deb_suffix=deb_suffix, rpm_release_suffix=rpm_release_suffix)

    @property
    def deb_upstream(self) -> str:
        """The Debian version without epoch: ``1.0~rc1+deb12``."""
        return self.upstream + self.deb_suffix

    @property
    def deb(self) -> str:
        """The Debian ``Version`` field (a native package: no Debian revision)."""
        return f"{self.epoch}:{self.deb_upstream}" if self.epoch else self.deb_upstream

    @property
    def rpm_release(self) -> str:
        """RPM ``Release``: 1 (and the target's ABI suffix), one release per core version."""
        return "1" + self.rpm_release_suffix

    @property
    def rpm_evr(self) -> str:
        """RPM ``[epoch:]version-release``."""
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.upstream}-{self.rpm_release}"

    def deb_filename(self, arch: str) -> str:
        """Debian's file name convention: the epoch is left out."""
        return f"orangeqs-juice_{self.deb_upstream}_{arch}.deb"

    def rpm_filename(self, arch: str) -> str:
        """RPM's ``name-version-release.arch.rpm``."""
        return f"orangeqs-juice-{self.upstream}-{self.rpm_release}.{arch}.rpm"


def map_version(pep440: str) -> PackageVersion:
    """Map a PEP 440 version string; raise VersionError if it cannot be mapped."""
    try:
        version = Version(pep440)
    except InvalidVersion as exc:
        raise VersionError(f"{pep440!r} is not a PEP 440 version") from exc
    if version.local is not None:
        raise VersionError(f"{pep440!r} has a local version label (+{version.local})")
    text = ".".join(str(part) for part in version.release)
    if version.pre is not None:
        text += f"~{version.pre[0]}{version.pre[1]}"
    if version.post is not None:
        text += f"+post{version.post}"
    if version.dev is not None:
        text += f"~~dev{version.dev}"
    return PackageVersion(pep440=str(version), epoch=version.epoch, upstream=text)


def read_core_version(version_file: Path) -> str:
    """The ``__version__`` string of the core package's ``_version.py``."""
    match = _VERSION_RE.search(version_file.read_text(encoding="utf-8"))
    if match is None:
        raise VersionError(f"no __version__ = '...' line in {version_file}")
    return match.group(1)


def write_core_version(version_file: Path, pep440: str) -> None:
    """Replace the ``__version__`` of a *copy* of the sources (the version override)."""
    text = version_file.read_text(encoding="utf-8")
    new, count = _VERSION_RE.subn(f'__version__ = "{pep440}"', text)
    if count != 1:
        raise VersionError(f"expected one __version__ line in {version_file}, found {count}")
    version_file.write_text(new, encoding="utf-8")
