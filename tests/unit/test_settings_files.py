"""Config files: which apply, in what order, and how they merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from orangeqs.juice.settings import ConfigError, load_settings
from orangeqs.juice.settings.files import config_files, load_config_dir, merge_into


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_files_apply_by_priority_then_path(tmp_path: Path) -> None:
    main = write(tmp_path / "orchestration.toml", "")
    numbered = write(tmp_path / "20-orchestration.toml", "")
    plain_drop_in = write(tmp_path / "orchestration.d" / "zz.toml", "")
    early_drop_in = write(tmp_path / "orchestration.d" / "05-site.toml", "")
    late_drop_in = write(tmp_path / "orchestration.d" / "90-last.toml", "")
    write(tmp_path / "orchestration.d" / "notes.txt", "")
    write(tmp_path / "other.toml", "")

    assert config_files(tmp_path) == [
        main,
        early_drop_in,
        plain_drop_in,  # no number: priority 10
        numbered,
        late_drop_in,
    ]


def test_tables_merge_and_other_values_replace() -> None:
    target = {"a": {"x": 1, "list": [1, 2], "keep": True}, "b": 1}
    merge_into(target, {"a": {"x": 2, "list": [3]}, "c": {"y": 1}})
    assert target == {"a": {"x": 2, "list": [3], "keep": True}, "b": 1, "c": {"y": 1}}


def test_drop_in_adds_a_service_and_replaces_a_list(tmp_path: Path) -> None:
    write(
        tmp_path / "orchestration.toml",
        '[environments.default]\nbase_image = "debian:12"\ndependencies = ["numpy"]\n',
    )
    write(
        tmp_path / "orchestration.d" / "50-dev.toml",
        '[environments.default]\ndependencies = ["scipy"]\n[services.dev]\n',
    )
    loaded = load_settings(tmp_path)
    assert loaded.settings.environments.default.dependencies == ["scipy"]
    assert loaded.settings.environments.default.base_image == "debian:12"
    assert list(loaded.settings.services) == ["dev"]


def test_origins_name_the_file_that_set_a_key(tmp_path: Path) -> None:
    main = write(tmp_path / "orchestration.toml", '[environments.default]\nbase_image = "a"\n')
    drop_in = write(tmp_path / "orchestration.d" / "x.toml", "[services.s.environment]\nx = 1\n")
    merged = load_config_dir(tmp_path)
    assert merged.origin(["environments", "default", "base_image"]) == main
    assert merged.origin(["services", "s", "environment", "x"]) == drop_in
    assert merged.origin(["services", "s", "environment", "missing"]) == drop_in


def test_a_later_file_takes_over_the_origin_of_what_it_replaces(tmp_path: Path) -> None:
    main = write(
        tmp_path / "orchestration.toml",
        '[environments.default]\nbase_image = "a"\ndependencies = ["x"]\n',
    )
    later = write(
        tmp_path / "orchestration.d" / "x.toml", "[environments.default]\ndependencies = []\n"
    )
    merged = load_config_dir(tmp_path)
    assert merged.origin(["environments", "default", "dependencies"]) == later
    assert merged.origin(["environments", "default", "base_image"]) == main


def test_no_config_is_an_error_that_says_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "orchestration.toml") in message
    assert "--config-dir" in message
