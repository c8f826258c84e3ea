"""What ``juice --version`` reports: version, location, and the core source."""

from __future__ import annotations

import sys
from pathlib import Path

from orangeqs.juice._version import __version__
from orangeqs.juice.environments.core_source import bundled_or_registry, wheel_filename
from orangeqs.juice.host.tools import WheelError, find_bundled_wheel
from orangeqs.juice.paths import HostPaths


def version_report(paths: HostPaths) -> list[str]:
    """The lines of ``juice --version``; never fails (it runs inside images too)."""
    lines = [
        f"juice (orangeqs-juice-core) {__version__}",
        f"installed in: {Path(__file__).resolve().parent}",
        f"python: {sys.executable} ({sys.version.split()[0]})",
    ]
    try:
        wheel = find_bundled_wheel(paths.dist_dir, __version__)
    except WheelError as error:
        lines.append(f"core source for environments: none usable: {error}")
        return lines
    source = bundled_or_registry(__version__, wheel)
    lines.append(f"core source for environments: {source.describe()}")
    if not wheel:
        lines.append(f"  (no {wheel_filename(__version__)} in {paths.dist_dir})")
    return lines
