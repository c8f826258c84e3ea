"""The managed venv: created with the system Python, filled from the pinned lock, relocated.

It is built in a staging directory and must run from /opt/orangeqs/juice/venv only, so
every trace of the staging path is rewritten (virtualenv-tools3, pyvenv.cfg, the core
wheel's direct_url.json) and then searched for: one left is an error.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import re
import shutil
from pathlib import Path

from juice_packaging.steps import StepFailed, run

INSTALLED_VENV = "/opt/orangeqs/juice/venv"
_MANYLINUX_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def system_python_minor(system_python: Path) -> str:
    """``3.11`` for Debian 12's /usr/bin/python3: the minor the package depends on."""
    out = run(
        [system_python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture=True,
    )
    return out.strip()


def create(venv: Path, python_minor: str) -> Path:
    """Create the venv with ``/usr/bin/python3.X`` (not the python3 first on PATH).

    Naming the minor makes the venv's ``bin/python`` point at ``/usr/bin/python3.X``,
    the file the package's dependency guarantees, rather than at ``/usr/bin/python3``,
    which another Python may own on the target.
    """
    interpreter = Path(f"/usr/bin/python{python_minor}")
    if not interpreter.exists():
        raise StepFailed(f"{interpreter} is missing")
    run([interpreter, "-m", "venv", "--without-pip", venv])
    return interpreter


def install(uv: Path, venv: Path, lock: Path, wheel: Path, uv_cache: Path) -> None:
    """Install the hashed runtime lock, then the core wheel without resolving again."""
    env = {"UV_CACHE_DIR": str(uv_cache), "UV_PYTHON_DOWNLOADS": "never"}
    common = [
        "pip",
        "install",
        "--python",
        str(venv / "bin" / "python"),
        "--no-config",
        # Copies, not links into uv's cache; no .pyc (postinst byte-compiles on the host).
        "--link-mode",
        "copy",
        "--no-compile",
        "--no-deps",
    ]
    run([uv, *common, "--require-hashes", "--only-binary", ":all:", "-r", lock], env=env)
    run([uv, *common, wheel], env=env)
    try:
        run([uv, "pip", "check", "--python", str(venv / "bin" / "python")], env=env)
    except StepFailed as exc:
        raise StepFailed(
            f"{lock.name} does not satisfy orangeqs-juice-core's dependencies; regenerate "
            f"it (python -m juice_packaging.locks, see docs/packaging.md).\n{exc}"
        ) from exc


def relocate(virtualenv_tools: Path, venv: Path, interpreter: Path, version: str) -> None:
    """Rewrite the staging path to INSTALLED_VENV everywhere it is recorded."""
    # Where the wheel file was installed from (the staging path) and when: no use.
    for name in ("direct_url.json", "uv_cache.json"):
        for path in venv.glob(f"lib/python*/site-packages/*.dist-info/{name}"):
            path.unlink()
    run([virtualenv_tools, "--update-path", INSTALLED_VENV, venv])
    # venv writes the command that created it (with the staging path) into pyvenv.cfg.
    (venv / "pyvenv.cfg").write_text(
        f"home = {interpreter.parent}\n"
        "include-system-site-packages = false\n"
        f"version = {version}\n"
        f"executable = {interpreter}\n"
        f"command = {interpreter} -m venv {INSTALLED_VENV}\n",
        encoding="utf-8",
    )
    refresh_records(venv)
    # uv's lock file for concurrent installs: of no use once the venv is packaged.
    (venv / ".lock").unlink(missing_ok=True)
    for cache in list(venv.rglob("__pycache__")):
        shutil.rmtree(cache)
    for pyc in venv.rglob("*.py[co]"):
        pyc.unlink()


def refresh_records(venv: Path) -> None:
    """Make every RECORD match the relocated files (hashes of rewritten scripts).

    Before this, RECORD held the hashes of the scripts with the staging path in their
    shebang: wrong for the installed files, and different for every build directory.
    Entries of files removed above are dropped.
    """
    site = next(venv.glob("lib/python*/site-packages"))
    for record in site.glob("*.dist-info/RECORD"):
        rows = list(csv.reader(record.read_text(encoding="utf-8").splitlines()))
        fresh = []
        for row in rows:
            path = (site / row[0]).resolve() if row else None
            if path is None or not path.exists():
                continue
            if row[1]:
                data = path.read_bytes()
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                row = [row[0], f"sha256={digest.decode()}", str(len(data))]
            fresh.append(row)
        with record.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(fresh)


def find_leaks(tree: Path, needles: list[str]) -> list[str]:
    """Files under `tree` whose bytes (or symlink targets) contain any of `needles`."""
    encoded = [needle.encode() for needle in needles]
    leaks = []
    for path in sorted(tree.rglob("*")):
        if path.is_symlink():
            data = str(path.readlink()).encode()
        elif path.is_file():
            data = path.read_bytes()
        else:
            continue
        if any(needle in data for needle in encoded):
            leaks.append(str(path.relative_to(tree)))
    return leaks


def glibc_floor(venv: Path) -> tuple[int, int] | None:
    """The newest glibc any installed wheel needs (None: no binary wheel).

    A wheel's several platform tags are alternatives, so the oldest glibc among them is
    what that wheel needs; the venv needs the newest of those.
    """
    floor: tuple[int, int] | None = None
    for wheel_file in venv.glob("lib/python*/site-packages/*.dist-info/WHEEL"):
        needs = []
        for line in wheel_file.read_text(encoding="utf-8").splitlines():
            if not line.startswith("Tag:"):
                continue
            for platform in line.rsplit("-", 1)[-1].strip().split("."):
                match = re.match(r"manylinux_(\d+)_(\d+)_", platform)
                if match:
                    needs.append((int(match.group(1)), int(match.group(2))))
                elif platform.split("_")[0] in _MANYLINUX_LEGACY:
                    needs.append(_MANYLINUX_LEGACY[platform.split("_")[0]])
        if needs:
            floor = min(needs) if floor is None else max(floor, min(needs))
    return floor
