"""The releases a package is built for: one Debian release, its system Python, its names.

A target is one Debian release. Its managed venv is made with that release's own
``/usr/bin/python3.X`` in a clean root of the release, so the .deb fits exactly that
release; the .rpm built from the same venv fits every RPM host whose system Python has
the same ABI (``python(abi) = 3.X``) and a glibc at least as new as the venv needs.

Why ``+debNN`` and not ``~debNN`` in the version: a pre-release is already spelled with
``~`` (``1.0~rc1``), and ``1.0~deb12`` would sort *before* ``1.0~rc1~deb12`` (``d`` <
``r``), so an rc would never upgrade to its release. ``+debNN`` keeps each target's own
order (``1.0~rc1+deb12`` < ``1.0+deb12``) and sorts an older release's build below a
newer release's build of the same version, so a host moving from bookworm to trixie
upgrades onto the trixie build. A host never sees another release's build: each
release is its own apt suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path


class UnknownTarget(ValueError):
    """A target name that is not in TARGETS, or a build machine no target matches."""


@dataclass(frozen=True)
class Target:
    """One Debian release the package is built for."""

    name: str  # on the command line: debian12
    suite: str  # the Debian codename: bookworm; also its apt suite in the published tree
    version_id: str  # /etc/os-release VERSION_ID: 12
    python: str  # the release's system Python minor: 3.11 (checked against the root)
    rpm_hosts: str  # the RPM hosts whose system Python has this ABI (for the docs)

    @property
    def deb_suffix(self) -> str:
        """Appended to the Debian version: ``+deb12``."""
        return f"+deb{self.version_id}"

    @property
    def rpm_release_suffix(self) -> str:
        """Appended to the RPM release: ``.py311``; two ABIs can share one dnf repository."""
        return ".py" + self.python.replace(".", "")


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            name="debian12",
            suite="bookworm",
            version_id="12",
            python="3.11",
            rpm_hosts="RHEL, AlmaLinux and Rocky Linux 9 with the python3.11 package",
        ),
        Target(
            name="debian13",
            suite="trixie",
            version_id="13",
            python="3.13",
            rpm_hosts="Fedora 41 and 42 (system Python 3.13)",
        ),
    )
}


def by_name(name: str) -> Target:
    """The target called `name`; UnknownTarget with a close match if there is none."""
    if name in TARGETS:
        return TARGETS[name]
    hint = get_close_matches(name, TARGETS, n=1)
    suggestion = f" (did you mean {hint[0]}?)" if hint else ""
    raise UnknownTarget(f"unknown target {name!r}{suggestion}; known: {', '.join(TARGETS)}")


def of_os_release(text: str) -> Target:
    """The target of the machine whose /etc/os-release reads `text`."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"')
    for target in TARGETS.values():
        if fields.get("ID") == "debian" and fields.get("VERSION_ID") == target.version_id:
            return target
    raise UnknownTarget(
        f"this machine ({fields.get('PRETTY_NAME', 'unknown system')}) is no target's "
        f"release; name one with --target ({', '.join(TARGETS)})"
    )


def host_target(os_release: Path = Path("/etc/os-release")) -> Target:
    """The build machine's own release: the default target."""
    return of_os_release(os_release.read_text(encoding="utf-8"))
