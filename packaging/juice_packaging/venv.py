"""The managed venv: created with a release's system Python, filled from the pinned lock.

It is made inside a build root of the target release, at the path it is installed at
(/opt/orangeqs/juice/venv), then taken out into the staging tree. Every trace of where
and how it was built is rewritten or removed (pyvenv.cfg, the core wheel's
direct_url.json, RECORD) and then searched for: one left is an error. Made at its
installed path, the venv needs no relocating (no virtualenv-tools3).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import re
import shutil
from pathlib import Path

from juice_packaging import buildroot
from juice_packaging.steps import StepFailed

INSTALLED_VENV = "/opt/orangeqs/juice/venv"
_MANYLINUX_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def system_python(root: Path) -> tuple[str, str]:
    """``("3.11", "3.11.2")``: the minor and full version of the root's /usr/bin/python3.

    The minor is what the package depends on (python3.11, python(abi) = 3.11).
    """
    out = buildroot.run_in(
        root,
        ["/usr/bin/python3", "-c", "import platform; print(platform.python_version())"],
        capture=True,
    ).strip()
    return ".".join(out.split(".")[:2]), out


def create(root: Path, python_minor: str) -> Path:
    """Create the venv at INSTALLED_VENV in `root` with ``/usr/bin/python3.X``.

    Naming the minor (not the python3 first on PATH) makes the venv's ``bin/python``
    point at ``/usr/bin/python3.X``, the file the package's dependency guarantees,
    rather than at ``/usr/bin/python3``, which another Python may own on the host.
    """
    interpreter = Path(f"/usr/bin/python{python_minor}")
    if not (root / interpreter.relative_to("/")).exists():
        raise StepFailed(f"{interpreter} is missing in the build root {root}")
    buildroot.run_in(root, [interpreter, "-m", "venv", "--without-pip", INSTALLED_VENV])
    return interpreter


def install(root: Path, uv: str, lock: str, wheel: str, uv_cache: str, ca_bundle: str) -> None:
    """Install the hashed runtime lock, then the core wheel without resolving again.

    Runs in `root` (paths are the root's): uv must ask the release's own Python which
    wheels fit it. `ca_bundle` is the build machine's CA bundle (a proxy's CA included).
    """
    python = f"{INSTALLED_VENV}/bin/python"
    env = [
        "env", f"UV_CACHE_DIR={uv_cache}", "UV_PYTHON_DOWNLOADS=never",
        f"SSL_CERT_FILE={ca_bundle}", "UV_NATIVE_TLS=1",
    ]  # fmt: skip
    common = [
        *env, uv, "pip", "install", "--python", python, "--no-config",
        # Copies, not links into uv's cache; no .pyc (postinst byte-compiles on the host).
        "--link-mode", "copy", "--no-compile", "--no-deps",
    ]  # fmt: skip
    buildroot.run_in(root, [*common, "--require-hashes", "--only-binary", ":all:", "-r", lock])
    buildroot.run_in(root, [*common, wheel])
    try:
        buildroot.run_in(root, [*env, uv, "pip", "check", "--python", python])
    except StepFailed as exc:
        raise StepFailed(
            f"{Path(lock).name} does not satisfy orangeqs-juice-core's dependencies; "
            f"regenerate it (python -m juice_packaging.locks, see docs/packaging.md).\n{exc}"
        ) from exc


def strip_build_records(venv: Path, interpreter: Path, version: str) -> None:
    """Remove or rewrite what records how and where the venv was built.

    The venv was made at INSTALLED_VENV (in a build root), so shebangs and activate
    scripts are right already; what is left is build-time bookkeeping.
    """
    # Where the wheel file was installed from (a build path) and when: no use.
    for name in ("direct_url.json", "uv_cache.json"):
        for path in venv.glob(f"lib/python*/site-packages/*.dist-info/{name}"):
            path.unlink()
    # One fixed pyvenv.cfg: venv writes the exact command that created it.
    (venv / "pyvenv.cfg").write_text(
        f"home = {interpreter.parent}\n"
        "include-system-site-packages = false\n"
        f"version = {version}\n"
        f"executable = {interpreter}\n"
        f"command = {interpreter} -m venv {INSTALLED_VENV}\n",
        encoding="utf-8",
    )
    refresh_records(venv)
    # uv's lock file for concurrent installs, and Python 3.13's .gitignore ("*", to keep
    # a venv out of a checkout): of no use once the venv is packaged.
    (venv / ".lock").unlink(missing_ok=True)
    (venv / ".gitignore").unlink(missing_ok=True)
    for cache in list(venv.rglob("__pycache__")):
        shutil.rmtree(cache)
    for pyc in venv.rglob("*.py[co]"):
        pyc.unlink()


def refresh_records(venv: Path) -> None:
    """Make every RECORD match the relocated files (hashes of rewritten scripts).

    Entries of files removed above are dropped, and every hash is the file's own.
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
