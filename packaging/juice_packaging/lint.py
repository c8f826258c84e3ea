"""shellcheck on the maintainer scripts, lintian on the .deb, rpmlint on the .rpm.

No errors and no warnings may remain: a warning is fixed, or overridden with a one-line
reason in debian/lintian-overrides or rpm/rpmlint.toml.
"""

from __future__ import annotations

import re
from pathlib import Path

from juice_packaging.steps import StepFailed, run


def shellcheck(tools: Path, scripts: list[Path]) -> None:
    """Maintainer scripts run as POSIX sh (dpkg and rpm both use /bin/sh)."""
    run([tools / "bin" / "shellcheck", "--shell=sh", *scripts])


def lintian(deb: Path) -> None:
    """Fail on any error or warning lintian reports for the .deb."""
    out = run(
        ["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", deb], capture=True
    )
    for line in out.splitlines():
        if line and not line.startswith("running with root privileges"):
            print(f"    lintian: {line}")


def rpmlint(tools: Path, rpm: Path, config: Path) -> None:
    """Fail on any error or warning rpmlint reports (after rpm/rpmlint.toml's filters)."""
    try:
        out = run([tools / "bin" / "rpmlint", "--config", config, rpm], capture=True)
    except StepFailed as exc:
        raise StepFailed(f"rpmlint: {exc}") from exc
    summary = re.search(r"(\d+) errors?, (\d+) warnings?", out)
    if summary is None:
        raise StepFailed(f"rpmlint printed no summary:\n{out}")
    if int(summary.group(1)) or int(summary.group(2)):
        raise StepFailed(f"rpmlint:\n{out}")
