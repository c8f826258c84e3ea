"""Whether a path on the host is juice's own, and removing exactly what juice wrote.

Juice owns exactly what it created and marked: unit files whose first line is
GENERATED_MARKER, and in a directory holding the GENERATED_DIR_STAMP file, the files a
render writes there. Everything else (symbolic links, an administrator's directory or
file, a masked unit, another file system mounted inside) is left alone.
"""

from __future__ import annotations

import os
import re
import stat
from enum import Enum
from pathlib import Path

from orangeqs.juice.environments.rendering import ENVIRONMENT_FILES, LOCKED_FILES
from orangeqs.juice.host.files import host_error
from orangeqs.juice.ownership import GENERATED_DIR_STAMP, GENERATED_MARKER
from orangeqs.juice.settings.types import NAME_PATTERN

STAMP_TEXT = (
    f"{GENERATED_MARKER}: this directory is juice's own; juice removes the files it wrote "
    "here when the environment is no longer configured.\n"
)

# Every name juice writes in an environment directory; the stamp goes last on removal.
JUICE_FILE_NAMES = (*ENVIRONMENT_FILES, *LOCKED_FILES, GENERATED_DIR_STAMP)
_ENVIRONMENT_NAME = re.compile(NAME_PATTERN)


class Owner(Enum):
    """Who a path belongs to, as juice sees it."""

    ABSENT = "absent"
    JUICE = "juice"
    # A directory an earlier juice wrote before directories were stamped.
    JUICE_UNSTAMPED = "juice, not yet stamped"
    MASKED = "masked (a link to /dev/null)"
    # `systemctl mask --runtime`: a link to /dev/null in /run/systemd/system.
    MASKED_RUNTIME = "masked until reboot (a link to /dev/null in the runtime unit directory)"
    SYMLINK = "a symbolic link"
    NOT_A_DIRECTORY = "not a directory"
    FOREIGN = "not made by juice"


def marked_file(path: Path) -> bool:
    """True for a regular file (not a link) whose first line is juice's marker."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().startswith(GENERATED_MARKER)
    except (OSError, UnicodeDecodeError):
        return False


def masks(path: Path) -> bool:
    """True when `path` is a mask: a symbolic link to /dev/null."""
    return path.is_symlink() and str(path.readlink()) == os.devnull


def unit_owner(path: Path, runtime: Path | None = None) -> Owner:
    """Who owns the unit file at `path`; `runtime` is the same unit in /run/systemd/system.

    A unit file in /etc/systemd/system overrides a runtime mask of the same name (the
    unit load path lists /etc first), so MASKED_RUNTIME is also returned when `path` is
    juice's own file: the caller removes that file for the mask to take effect.
    """
    if masks(path):
        return Owner.MASKED
    if path.is_symlink():
        return Owner.SYMLINK
    if path.exists() and not marked_file(path):
        return Owner.FOREIGN
    if runtime is not None and masks(runtime):
        return Owner.MASKED_RUNTIME
    return Owner.JUICE if path.exists() else Owner.ABSENT


def directory_owner(path: Path) -> Owner:
    """Who owns the environment directory at `path`; never follows a link.

    Stamped directories are juice's. An unstamped one counts as juice's (to adopt) only
    when its name could be an environment's and it holds juice's file names and nothing
    else, at least one of them with juice's marker.
    """
    if path.is_symlink():
        return Owner.SYMLINK
    if not path.exists():
        return Owner.ABSENT
    if not path.is_dir():
        return Owner.NOT_A_DIRECTORY
    if not _ENVIRONMENT_NAME.fullmatch(path.name):
        return Owner.FOREIGN
    stamp = path / GENERATED_DIR_STAMP
    if stamp.is_file() and not stamp.is_symlink():
        return Owner.JUICE
    try:
        entries = list(path.iterdir())
    except OSError:
        return Owner.FOREIGN
    if not all(_written_by_juice(entry) for entry in entries):
        return Owner.FOREIGN
    return Owner.JUICE_UNSTAMPED if any(map(marked_file, entries)) else Owner.FOREIGN


def _written_by_juice(entry: Path) -> bool:
    """A regular file of a name juice writes, or a temporary file of juice's writes."""
    if entry.is_symlink() or not entry.is_file():
        return False
    return entry.name in JUICE_FILE_NAMES or _temporary(entry.name)


def _temporary(name: str) -> bool:
    # host/files.py names them ".<target>.<random>.tmp" and ".<target>.juice-previous.tmp".
    return name.endswith(".tmp") and any(
        name.startswith(f".{target}.") for target in JUICE_FILE_NAMES
    )


def remove_generated_dir(directory: Path) -> list[Path]:
    """Remove what juice wrote in `directory`, then the directory when nothing else is left.

    Only juice's file names and temporary files go, each only as a regular file on the
    directory's own file system: links, other files, subdirectories and mount points
    stay. Returns what stayed (then the directory stays too). Raises HostError naming
    the full path of what could not be removed. The caller checked directory_owner().
    """
    try:
        if not stat.S_ISDIR(os.lstat(directory).st_mode):
            return [directory]
        mount = _mount_of(directory)
        if mount != _mount_of(directory.parent):
            return [directory]  # a mount point: another file system, or a bind mount
        entries = sorted(directory.iterdir(), key=_stamp_last)
    except OSError as error:
        raise host_error(error, directory) from None
    kept: list[Path] = []
    for entry in entries:
        try:
            ours = stat.S_ISREG(os.lstat(entry).st_mode) and _written_by_juice(entry)
            if ours and _mount_of(entry) == mount:
                entry.unlink()
            else:
                kept.append(entry)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise host_error(error, entry) from None
    if not kept:
        try:
            directory.rmdir()
        except OSError as error:
            raise host_error(error, directory) from None
    return kept


def _mount_of(path: Path) -> tuple[int, int]:
    """Which mount `path` (not followed if a link) is on: (mount id, device).

    The kernel's mount id (in /proc/self/fdinfo) tells a bind mount of the same file
    system apart, which the device number alone does not.
    """
    fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        device = os.fstat(fd).st_dev
        try:
            fdinfo = Path(f"/proc/self/fdinfo/{fd}").read_text()
        except OSError:
            return (-1, device)  # no /proc: the device number still tells file systems apart
        for line in fdinfo.splitlines():
            key, _, value = line.partition(":")
            if key == "mnt_id":
                return (int(value), device)
        return (-1, device)
    finally:
        os.close(fd)


def _stamp_last(entry: Path) -> tuple[bool, str]:
    # Interrupted halfway, the directory is still stamped: the next render finishes it.
    return (entry.name == GENERATED_DIR_STAMP, entry.name)
