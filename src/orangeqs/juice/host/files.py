"""File writes that apply all or nothing, and the lock that serializes juice processes."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# How often a bounded wait for the lock tries again.
_LOCK_POLL_SECONDS = 0.2


class HostError(Exception):
    """A host problem (permissions, a full disk, a path in the way): one message, exit 1."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class LockTimeoutError(HostError):
    """Another juice process held the lock longer than the caller would wait."""


def host_error(error: OSError, path: Path | str | None = None) -> HostError:
    """One message for an OSError: the path it concerns and why, with a hint where one helps."""
    where = path if path is not None else (error.filename or "?")
    reason = error.strerror or str(error)
    if error.errno in (errno.EACCES, errno.EPERM):
        reason += " (run as root, or move every path with --root DIR)"
    elif error.errno == errno.ENOSPC:
        reason += " (free space there and run the command again)"
    elif error.errno == errno.ELOOP:
        reason += " (a symbolic link where juice keeps its own file; move it away)"
    elif error.errno == errno.EROFS:
        reason += " (remount it read-write, or move every path with --root DIR)"
    return HostError(where, reason)


@dataclass(frozen=True)
class FileWrite:
    """One file to write: where, what, and its mode."""

    path: Path
    data: bytes
    mode: int = 0o644


def write_all(writes: list[FileWrite], directories: list[Path] | None = None) -> list[Path]:
    """Write every file, or none: return the paths that changed.

    `directories` are made too (with missing parents), and removed again on failure.

    Unchanged files are left alone (their mtime too). All new contents go to temporary
    files beside their targets first; only when every one is written are they renamed
    into place. Any failure (a full disk, a read-only directory, a file where a
    directory should be) restores the previous files and raises HostError.
    """
    pending = [write for write in writes if not _holds(write.path, write.data)]
    created_dirs: list[Path] = []
    staged: list[tuple[FileWrite, Path]] = []
    committed: list[tuple[Path, Path | None]] = []
    current: Path | None = None
    try:
        for directory in directories or []:
            current = directory
            _make_parents(directory, created_dirs)
        for write in pending:
            current = write.path
            _make_parents(write.path.parent, created_dirs)
            staged.append((write, _stage(write)))
        for write, temporary in staged:
            current = write.path
            backup = _keep_previous(write.path)
            try:
                temporary.replace(write.path)
            except BaseException:
                if backup:
                    backup.unlink(missing_ok=True)
                raise
            committed.append((write.path, backup))
    except OSError as error:
        _roll_back(staged, committed, created_dirs)
        raise host_error(error, current) from None
    except BaseException:  # HostError, KeyboardInterrupt: the previous files stay
        _roll_back(staged, committed, created_dirs)
        raise
    for _, backup in committed:
        if backup:
            backup.unlink(missing_ok=True)
    return [write.path for write in pending]


def write_atomic(path: Path, text: str, mode: int = 0o644) -> bool:
    """Write one file atomically; return False when it already held exactly that text."""
    return bool(write_all([FileWrite(path, text.encode("utf-8"), mode)]))


def _holds(path: Path, data: bytes) -> bool:
    # A symlink is never "unchanged": writing replaces the link, never its target.
    if path.is_symlink():
        return False
    try:
        return path.read_bytes() == data
    except FileNotFoundError:
        return False
    except OSError as error:
        if error.errno == errno.ENOTDIR:
            raise _file_in_the_way(path) from None
        if error.errno == errno.EISDIR:
            raise HostError(path, "is a directory where juice writes a file") from None
        raise host_error(error, path) from None


def _file_in_the_way(path: Path) -> HostError:
    """The error for a path below a file: name that file, the one to move away."""
    in_the_way = file_in_the_way(path.parent)
    if in_the_way is not None:
        return HostError(in_the_way, NOT_A_DIRECTORY)
    return HostError(path, os.strerror(errno.ENOTDIR))


def file_in_the_way(directory: Path) -> Path | None:
    """The path at or above `directory` that exists but is not a directory, if any."""
    for path in (*reversed(directory.parents), directory):
        if (path.exists() or path.is_symlink()) and not path.is_dir():
            return path
    return None


NOT_A_DIRECTORY = "is not a directory, where juice needs one; move it away"


def _make_parents(directory: Path, created: list[Path]) -> None:
    """Create `directory` and missing parents; append each one created to `created`."""
    missing: list[Path] = []
    probe = directory
    while not probe.exists() and not probe.is_symlink():
        missing.append(probe)
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise HostError(probe, NOT_A_DIRECTORY)
    for path in reversed(missing):
        try:
            path.mkdir()
        except OSError as error:
            raise host_error(error, path) from None
        created.append(path)


def _stage(write: FileWrite) -> Path:
    target = write.path
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(write.data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(write.mode)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _keep_previous(path: Path) -> Path | None:
    """Hard-link the current file (or link) aside, so a rollback is a rename: no space needed."""
    if not path.exists() and not path.is_symlink():
        return None
    backup = path.with_name(f".{path.name}.juice-previous.tmp")
    backup.unlink(missing_ok=True)
    os.link(path, backup, follow_symlinks=False)
    return backup


def _roll_back(
    staged: list[tuple[FileWrite, Path]],
    committed: list[tuple[Path, Path | None]],
    created_dirs: list[Path],
) -> None:
    with contextlib.suppress(OSError):
        for path, backup in reversed(committed):
            if backup:
                backup.replace(path)
            else:
                path.unlink(missing_ok=True)
    for _, temporary in staged:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    for directory in reversed(created_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()


@contextlib.contextmanager
def exclusive_lock(
    path: Path,
    on_wait: Callable[[], None] | None = None,
    timeout: float | None = None,
) -> Iterator[None]:
    """Hold an exclusive flock on `path`; call `on_wait` once if another process has it.

    Waits without limit when `timeout` is None; else raises LockTimeoutError after
    `timeout` seconds, having written nothing.
    """
    in_the_way = file_in_the_way(path.parent)
    if in_the_way is not None:
        raise HostError(in_the_way, NOT_A_DIRECTORY)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Never through a link: the lock file is juice's own, in juice's own directory.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        handle = os.fdopen(os.open(path, flags, 0o644), "a")
    except OSError as error:
        raise host_error(error, error.filename or path) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            _wait_for_lock(handle.fileno(), path, timeout)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_for_lock(fd: int, path: Path, timeout: float | None) -> None:
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeoutError(
                    path,
                    f"another juice process still held this lock after {timeout:g}s; nothing "
                    "was written. Let it finish (`fuser -v` on the lock file names it) and run "
                    "the command again, or wait longer with --lock-timeout",
                ) from None
            time.sleep(min(_LOCK_POLL_SECONDS, remaining))
