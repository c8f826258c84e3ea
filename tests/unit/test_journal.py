"""Each environment's journal of the images it got (host/journal.py), in a temporary folder."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from orangeqs.juice.host.files import HostError
from orangeqs.juice.host.journal import (
    JOURNAL_LIMIT,
    JournalEntry,
    append_entry,
    read_journal,
    utc_now,
)


def entry(number: int) -> JournalEntry:
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    return JournalEntry(f"d{number}", f"sha-{number}", "1.0", at + datetime.timedelta(hours=number))


def test_entries_are_kept_in_order_in_a_folder_juice_makes(tmp_path: Path) -> None:
    path = tmp_path / "generations" / "lab.json"
    append_entry(path, entry(1))
    append_entry(path, entry(2))
    assert read_journal(path) == [entry(1), entry(2)]
    written = json.loads(path.read_text())
    assert written[0] == {
        "digest": "d1",
        "image_id": "sha-1",
        "core_version": "1.0",
        "at": "2026-01-01T01:00:00+00:00",
    }
    # Only the journal: no temporary file is left beside it.
    assert [p.name for p in path.parent.iterdir()] == ["lab.json"]


def test_the_journal_keeps_the_last_entries_only(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    for number in range(JOURNAL_LIMIT + 5):
        append_entry(path, entry(number))
    kept = read_journal(path)
    assert len(kept) == JOURNAL_LIMIT
    assert kept[0] == entry(5) and kept[-1] == entry(JOURNAL_LIMIT + 4)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"digest": "d"}',
        "[1]",
        '[{"digest": "d", "image_id": "i", "core_version": "1.0"}]',
        '[{"digest": "d", "image_id": "i", "core_version": 1, "at": "2026-01-01T00:00:00+00:00"}]',
        # A time without a zone: not written by juice.
        '[{"digest": "d", "image_id": "i", "core_version": "1.0", "at": "2026-01-01T00:00:00"}]',
        '[{"digest": "d", "image_id": "i", "core_version": "1.0", "at": "yesterday"}]',
    ],
)
def test_a_corrupt_journal_counts_as_empty_and_the_next_entry_replaces_it(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "lab.json"
    path.write_text(text)
    assert read_journal(path) == []
    append_entry(path, entry(1))
    assert read_journal(path) == [entry(1)]


def test_a_missing_or_unreadable_journal_counts_as_empty(tmp_path: Path) -> None:
    assert read_journal(tmp_path / "none.json") == []
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    assert read_journal(tmp_path / "binary.json") == []
    (tmp_path / "folder.json").mkdir()
    assert read_journal(tmp_path / "folder.json") == []


def test_a_journal_that_cannot_be_written_is_one_host_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(HostError) as raised:
        append_entry(tmp_path / "file" / "lab.json", entry(1))
    assert raised.value.path == str(tmp_path / "file")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(HostError, match="is a directory"):
        append_entry(tmp_path / "folder.json", entry(1))


def test_entries_are_written_in_utc() -> None:
    assert utc_now().utcoffset() == datetime.timedelta(0)


def test_entries_a_later_juice_wrote_with_more_keys_still_count(tmp_path: Path) -> None:
    # After a downgrade, this juice reads the journal a later one kept.
    path = tmp_path / "lab.json"
    append_entry(path, entry(1))
    written = json.loads(path.read_text())
    written[0]["pulled_from"] = "127.0.0.1:5000/juice/juice-lab"
    path.write_text(json.dumps(written))
    assert read_journal(path) == [entry(1)]
