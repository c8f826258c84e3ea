"""Thin subprocess adapters for the external tools (gpg, apt-ftparchive, rpm, ...)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from juice_packaging.publish.errors import PublishError

# Where each tool comes from, so a missing one produces an actionable message.
_TOOL_PACKAGES = {
    "gpg": "gnupg",
    "gpgv": "gpgv",
    "apt-ftparchive": "apt-utils",
    "dpkg-deb": "dpkg",
    "rpm": "rpm",
    "rpmsign": "rpm",
    "rpmkeys": "rpm",
    "createrepo_c": "createrepo-c",
}


def which(tool: str) -> str:
    """Absolute path of ``tool``, or a PublishError naming the package to install."""
    found = shutil.which(tool)
    if found is None:
        package = _TOOL_PACKAGES.get(tool, tool)
        raise PublishError(
            f"{tool} is not installed",
            f"install the Debian package '{package}' (scripts/setup-host does)",
        )
    return found


def run(
    argv: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    what: str | None = None,
) -> str:
    """Run a tool, return its stdout; on failure raise PublishError with its stderr."""
    args = [str(a) for a in argv]
    args[0] = which(args[0])
    full_env = dict(os.environ)
    full_env["LC_ALL"] = "C"  # tools' output is parsed, never shown translated
    if env:
        full_env.update(env)
    proc = subprocess.run(
        args,
        env=full_env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise PublishError(
            f"{what or Path(args[0]).name} failed (exit {proc.returncode}): "
            f"{' '.join(args)}\n{detail}"
        )
    return proc.stdout
