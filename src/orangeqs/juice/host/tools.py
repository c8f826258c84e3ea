"""Finding the host programs juice needs: podman, uv, and the bundled core wheel."""

from __future__ import annotations

import hashlib
import io
import shutil
import sys
import zipfile
from email.parser import BytesHeaderParser
from pathlib import Path

from orangeqs.juice.environments.core_source import BundledWheel, wheel_filename
from orangeqs.juice.environments.units import Tools

# Where systemd units and the docs expect podman when it is not installed yet.
DEFAULT_PODMAN = Path("/usr/bin/podman")


class ToolMissingError(RuntimeError):
    """A program juice needs is not installed."""


def _which(program: str) -> Path | None:
    """`program` on PATH, through any symlinks: /bin/podman and /usr/bin/podman are
    one file on merged-/usr systems, and the generated units should not depend on which
    PATH (a shell's or rpm's) found it."""
    found = shutil.which(program)
    return Path(found).resolve() if found else None


def find_podman() -> Path | None:
    """The podman on PATH, if any."""
    return _which("podman")


def find_uv() -> Path | None:
    """uv from this installation (the system package ships it in its venv), else PATH."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return beside
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return Path(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    return Path(found) if found else None


def render_tools() -> Tools:
    """Paths for rendering; a missing program is reported when a build needs it."""
    return Tools(
        podman=find_podman() or DEFAULT_PODMAN,
        uv=find_uv() or Path(sys.executable).parent / "uv",
    )


def require_podman() -> Path:
    """podman, for commands that only look at or retag images."""
    podman = find_podman()
    if podman is None:
        raise ToolMissingError(
            "podman is not installed (or not on PATH); install it, e.g. "
            "'apt-get install podman' or 'dnf install podman'"
        )
    return podman


def require_build_tools() -> Tools:
    """Paths for building: both programs must exist."""
    podman, uv = require_podman(), find_uv()
    if uv is None:
        raise ToolMissingError(
            "uv is not installed: builds mount the host's uv; install it with "
            "'pip install orangeqs-juice-core[host]' (the orangeqs-juice package ships it)"
        )
    return Tools(podman=podman, uv=uv)


class WheelError(RuntimeError):
    """The bundled wheel exists but cannot be used."""


def find_bundled_wheel(dist_dir: Path, version: str) -> BundledWheel | None:
    """The bundled core wheel of `version`, with its content hash, if it is there."""
    path = dist_dir / wheel_filename(version)
    if not path.exists():
        return None
    try:
        content = path.read_bytes()
    except OSError as error:
        raise WheelError(
            f"the bundled wheel {path} cannot be read ({error.strerror}); "
            "reinstall the orangeqs-juice package"
        ) from error
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise WheelError(
            f"the bundled wheel {path} is not a wheel (not a zip archive); "
            "reinstall the orangeqs-juice package"
        )
    requirements = _requirements(zipfile.ZipFile(io.BytesIO(content)))
    if requirements is None:
        raise WheelError(
            f"the bundled wheel {path} has no single .dist-info/METADATA; "
            "reinstall the orangeqs-juice package"
        )
    return BundledWheel(
        path=path, sha256=hashlib.sha256(content).hexdigest(), requirements=requirements
    )


def _requirements(wheel: zipfile.ZipFile) -> tuple[str, ...] | None:
    """Requires-Dist of a wheel, without the optional ones (extras); None without its
    metadata (the third-party layer installs these: none found must not pass unnoticed)."""
    metadata = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    if len(metadata) != 1:
        return None
    headers = BytesHeaderParser().parsebytes(wheel.read(metadata[0]))
    found = [str(value).strip() for value in headers.get_all("Requires-Dist") or []]
    return tuple(requirement for requirement in found if "extra ==" not in requirement)
