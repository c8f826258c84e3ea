"""systemctl, and knowing whether systemd runs here at all."""

from __future__ import annotations

import subprocess
from pathlib import Path

from orangeqs.juice.paths import RUNTIME_UNIT_DIR

# The check sd_booted() and Debian's maintainer-script helpers use (always the real /run).
SYSTEMD_RUNTIME_DIR = Path(RUNTIME_UNIT_DIR)


def systemd_running() -> bool:
    """True when this host was booted with systemd (PID 1 is systemd)."""
    return SYSTEMD_RUNTIME_DIR.is_dir()


class SystemctlError(RuntimeError):
    """systemctl failed."""


def daemon_reload() -> None:
    """Make systemd read the unit files juice wrote."""
    result = subprocess.run(
        ["systemctl", "daemon-reload"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemctlError(f"systemctl daemon-reload failed: {result.stderr.strip()}")


def start_and_wait(unit: str) -> tuple[bool, str]:
    """Start a oneshot unit and wait until it has finished; (succeeded, systemctl's words)."""
    result = subprocess.run(
        ["systemctl", "start", unit], capture_output=True, text=True, check=False
    )
    return result.returncode == 0, result.stderr.strip()
