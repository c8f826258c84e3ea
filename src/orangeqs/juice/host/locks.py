"""The environments' locks on the host: reading and saving them, and running uv on them.

A lock folder (HostPaths.lock_dir) is a uv project: the ``pyproject.toml`` the lock was
made for and its ``uv.lock``, so ``uv export`` and ``uv tree`` work there as anywhere;
beside them juice keeps the lock's export for the third-party layer.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from orangeqs.juice._version import CORE_DISTRIBUTION
from orangeqs.juice.environments.locks import (
    LOCK_CONTAINERFILE,
    UV_OUTPUT,
    UV_STATUS,
    LockRun,
    StoredLock,
    export_header,
    kept_export,
    uv_failure,
)
from orangeqs.juice.host.files import FileWrite, host_error, write_all
from orangeqs.juice.paths import (
    LOCK_NAME,
    LOCK_WORK_SUFFIX,
    LOCKED_EXPORT_NAME,
    LOCKED_PYPROJECT_NAME,
    PREVIOUS_LOCK_PREFIX,
)

# A uv export takes milliseconds; this only stops a hung uv from hanging juice.
_EXPORT_TIMEOUT = 120


def read_stored_lock(lock_dir: Path, uv: Path) -> StoredLock:
    """The lock in `lock_dir`, its pyproject.toml and its export for the third-party layer.

    A lock uv cannot read is returned with its `problem` (no exception): that
    environment fails to build, the others go on.
    """
    lock_file = lock_dir / LOCK_NAME
    try:
        lock = lock_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return StoredLock()
    except (OSError, UnicodeDecodeError) as error:
        return StoredLock(lock="", problem=f"cannot read it: {error}")
    try:
        pyproject: str | None = (lock_dir / LOCKED_PYPROJECT_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pyproject = None  # e.g. only uv.lock was copied from another host: lock again
    if pyproject is None:
        return StoredLock(lock, None, None, "")
    previous = {
        "previous_lock": _read(lock_dir / f"{PREVIOUS_LOCK_PREFIX}{LOCK_NAME}"),
        "previous_pyproject": _read(lock_dir / f"{PREVIOUS_LOCK_PREFIX}{LOCKED_PYPROJECT_NAME}"),
    }
    exported = kept_export(lock, _read(lock_dir / LOCKED_EXPORT_NAME))
    if exported is not None:
        return StoredLock(lock, pyproject, exported, "", **previous)
    # A lock edited or copied without its export: ask uv (a nonsense lock fails here).
    exported, problem = export_third_party(lock_dir, uv)
    return StoredLock(lock, pyproject, exported, problem, **previous)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def export_third_party(project: Path, uv: Path) -> tuple[str | None, str]:
    """``uv export`` of the lock in `project` without orangeqs-juice-core, with hashes.

    Returns (requirements text, "") or (None, uv's reason). --frozen: the lock as it
    is, no resolution and no network.
    """
    argv = [
        str(uv), "export", "--frozen", "--format", "requirements-txt", "--no-header",
        "--no-annotate", "--no-emit-project", "--no-emit-package", CORE_DISTRIBUTION,
        "--directory", str(project),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=_EXPORT_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"could not run uv export: {error}"
    if done.returncode != 0:
        return None, uv_failure(done.stderr) or f"uv export exited with {done.returncode}"
    return done.stdout, ""


def save_lock(
    lock_dir: Path, lock: str, pyproject: str, export: str | None, keep_previous: bool = False
) -> None:
    """Write the lock, the pyproject.toml it was made for and its export, all or none
    (without an export, a stale one is removed: the next plan asks uv). With
    `keep_previous`, the files there now are kept as the previous lock."""
    writes = [
        FileWrite(lock_dir / LOCK_NAME, lock.encode("utf-8")),
        FileWrite(lock_dir / LOCKED_PYPROJECT_NAME, pyproject.encode("utf-8")),
    ]
    if export is not None:
        kept = export_header(lock) + export
        writes.append(FileWrite(lock_dir / LOCKED_EXPORT_NAME, kept.encode("utf-8")))
    if keep_previous:
        writes += _as_previous(lock_dir)
    write_all(writes, directories=[lock_dir])
    if export is None:
        try:
            (lock_dir / LOCKED_EXPORT_NAME).unlink(missing_ok=True)
        except OSError as error:
            raise host_error(error, lock_dir / LOCKED_EXPORT_NAME) from None


def restore_previous(lock_dir: Path) -> None:
    """Swap the lock with the previous one (each with its pyproject.toml and export)."""
    writes = [
        FileWrite(lock_dir / name, (lock_dir / f"{PREVIOUS_LOCK_PREFIX}{name}").read_bytes())
        for name in _LOCK_FILES
        if (lock_dir / f"{PREVIOUS_LOCK_PREFIX}{name}").is_file()
    ]
    write_all([*writes, *_as_previous(lock_dir)])


# The files of one lock in its folder, as juice keeps them.
_LOCK_FILES = (LOCK_NAME, LOCKED_PYPROJECT_NAME, LOCKED_EXPORT_NAME)


def _as_previous(lock_dir: Path) -> list[FileWrite]:
    """Writes that keep the current lock's files as the previous lock's."""
    return [
        FileWrite(lock_dir / f"{PREVIOUS_LOCK_PREFIX}{name}", (lock_dir / name).read_bytes())
        for name in _LOCK_FILES
        if (lock_dir / name).is_file()
    ]


@contextmanager
def work_folder(locks_dir: Path, name: str) -> Iterator[Path]:
    """A temporary folder below `locks_dir` for one lock run, removed afterwards."""
    try:
        locks_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=LOCK_WORK_SUFFIX, dir=locks_dir))
    except OSError as error:
        raise host_error(error, locks_dir) from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def prepare_work_folder(folder: Path, pyproject: str, lock: str | None, containerfile: str) -> None:
    """Put the project and the lock Containerfile into `folder`."""
    (folder / LOCKED_PYPROJECT_NAME).write_text(pyproject, encoding="utf-8")
    if lock is not None:
        (folder / LOCK_NAME).write_text(lock, encoding="utf-8")
    (folder / LOCK_CONTAINERFILE).write_text(containerfile, encoding="utf-8")


def run_lock_build(argv: Sequence[str], podman: Path, folder: Path) -> LockRun:
    """Run the lock's podman build: the lock uv left in `folder`, or why not (uv's own
    message, or podman's when the image steps failed)."""
    iidfile = folder / "image-id"
    command = [str(podman), *argv[1:2], "--iidfile", str(iidfile), *argv[2:]]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
    except OSError as error:
        return LockRun(None, f"could not run podman: {error}")
    _remove_image(podman, iidfile)
    status_file, output_file = folder / UV_STATUS, folder / UV_OUTPUT
    if done.returncode != 0 or not status_file.is_file():
        reason = uv_failure(done.stdout + done.stderr)
        return LockRun(
            None, f"podman build of the lock step exited with {done.returncode}: {reason}"
        )
    output = output_file.read_text(encoding="utf-8", errors="replace")
    status = status_file.read_text(encoding="utf-8").strip()
    if status != "0":
        reason = uv_failure(output) or f"uv lock exited with status {status}"
        return LockRun(None, reason, uv_refused=True)
    lock_file = folder / LOCK_NAME
    if not lock_file.is_file():
        return LockRun(None, "uv lock left no uv.lock")
    return LockRun(lock_file.read_text(encoding="utf-8"))


def export_in_work_folder(folder: Path, uv: Path) -> str | None:
    """The export of the lock uv just made in `folder` (None if uv cannot export it:
    planning asks again and names the reason)."""
    exported, _ = export_third_party(folder, uv)
    return exported


def _remove_image(podman: Path, iidfile: Path) -> None:
    """The lock step's image is of no use once uv ran; its parents are the build cache
    of the environment's own image, hence --no-prune."""
    try:
        image = iidfile.read_text(encoding="utf-8").strip()
    except OSError:
        return
    # A leftover when podman hangs: podman's prune removes it later; nothing builds on it.
    with suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [str(podman), "rmi", "--no-prune", image], capture_output=True, check=False, timeout=120
        )
