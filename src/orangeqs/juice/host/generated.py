"""Whether a path on the host is juice's own: read-only checks of its ownership markers.

Juice owns exactly what it created and marked: unit files whose first line is
GENERATED_MARKER, and directories holding the GENERATED_DIR_STAMP file. Everything
else (symbolic links, an administrator's directory, a masked unit) is left alone.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

from orangeqs.juice.ownership import GENERATED_DIR_STAMP, GENERATED_MARKER

STAMP_TEXT = (
    f"{GENERATED_MARKER}: this directory is juice's own; juice removes it when its "
    "environment is no longer configured.\n"
)


class Owner(Enum):
    """Who a path belongs to, as juice sees it."""

    ABSENT = "absent"
    JUICE = "juice"
    # A directory an earlier juice wrote before directories were stamped.
    JUICE_UNSTAMPED = "juice, not yet stamped"
    MASKED = "masked (a link to /dev/null)"
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


def unit_owner(path: Path) -> Owner:
    """Who owns the unit file at `path`."""
    if path.is_symlink():
        return Owner.MASKED if str(path.readlink()) == os.devnull else Owner.SYMLINK
    if not path.exists():
        return Owner.ABSENT
    return Owner.JUICE if marked_file(path) else Owner.FOREIGN


def directory_owner(path: Path) -> Owner:
    """Who owns the environment directory at `path`; never follows a link.

    An unstamped directory counts as juice's (to adopt) only when it holds at least one
    file with juice's marker and nothing else but juice's own temporary files.
    """
    if path.is_symlink():
        return Owner.SYMLINK
    if not path.exists():
        return Owner.ABSENT
    if not path.is_dir():
        return Owner.NOT_A_DIRECTORY
    if (path / GENERATED_DIR_STAMP).is_file():
        return Owner.JUICE
    try:
        entries = list(path.iterdir())
    except OSError:
        return Owner.FOREIGN
    marked = [entry for entry in entries if marked_file(entry)]
    others = [entry for entry in entries if entry not in marked and not _leftover(entry)]
    return Owner.JUICE_UNSTAMPED if marked and not others else Owner.FOREIGN


def _leftover(entry: Path) -> bool:
    # A temporary file of an interrupted write (host/files.py names them so).
    return entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file()
