"""Each environment's journal of the images it got, and when (HostPaths.generations_file).

Environments of one configuration share one image, and a downgrade goes back to older
images: when an image was built says nothing about when an environment started to run
it. juice writes an entry whenever an environment's version tag comes to name another
image (a build, a reuse, a pull, a rollback); rollback and gc order by these entries.

The file is juice's own state: a JSON list, oldest entry first, of
``{"digest", "image_id", "core_version", "at"}`` (``at``: UTC, ISO 8601). A journal that
cannot be read, or is not such a list, counts as empty: the order falls back to when
the images were built.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

from orangeqs.juice.host.files import FileWrite, write_all

# Entries kept per environment: far more generations than gc keeps.
JOURNAL_LIMIT = 50
_KEYS = ("digest", "image_id", "core_version", "at")


@dataclass(frozen=True)
class JournalEntry:
    """An environment's version tag came to name this image at `at`."""

    digest: str
    image_id: str
    core_version: str
    at: datetime.datetime  # aware, UTC


def utc_now() -> datetime.datetime:
    """The time an entry is written with."""
    return datetime.datetime.now(datetime.timezone.utc)


def read_journal(path: Path) -> list[JournalEntry]:
    """The entries of the journal at `path`, oldest first; none when it is missing,
    cannot be read or is not a journal."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    entries = []
    for item in data:
        entry = _entry(item)
        if entry is None:
            return []  # not written by juice: trust none of it
        entries.append(entry)
    return entries


def _entry(item: object) -> JournalEntry | None:
    # Keys beyond these: a later juice's, read after a downgrade (its order still counts).
    if not isinstance(item, dict) or not set(_KEYS) <= set(item):
        return None
    if not all(isinstance(item[key], str) for key in _KEYS):
        return None
    try:
        at = datetime.datetime.fromisoformat(item["at"])
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return JournalEntry(item["digest"], item["image_id"], item["core_version"], at)


def append_entry(path: Path, entry: JournalEntry) -> None:
    """Add `entry` to the journal at `path` (the last JOURNAL_LIMIT entries stay), in
    one atomic write. Raises HostError when the file cannot be written."""
    entries = [*read_journal(path), entry][-JOURNAL_LIMIT:]
    data = [
        {
            "digest": item.digest,
            "image_id": item.image_id,
            "core_version": item.core_version,
            "at": item.at.astimezone(datetime.timezone.utc).isoformat(),
        }
        for item in entries
    ]
    text = json.dumps(data, indent=1) + "\n"
    write_all([FileWrite(path, text.encode("utf-8"))], directories=[path.parent])
