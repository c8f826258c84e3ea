"""`juice env history`, `rollback` and `gc` order an environment's images by when it got
them (its journal), with the fake podman of test_building.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from juice_host import MINIMAL, JuiceHost
from test_building import builds, fake_podman, store  # noqa: F401  (fixture)

from orangeqs.juice import __version__

SIX = """
type = "uv"
base_image = "docker.io/library/debian:bookworm-slim"
dependencies = ["six"]
"""
# `other` has a configuration of its own; singleuser can be given the same one.
OTHER = MINIMAL + "\n[services.other.environment]" + SIX
SERVICES_RUN = f"localhost/juice-singleuser:{__version__}"


def serving(log: Path) -> str:
    """The ID of the image singleuser's services run."""
    return next(image["Id"] for image in store(log) if SERVICES_RUN in image["Names"])


def history(host: JuiceHost) -> list[dict[str, Any]]:
    result = host.run("env", "history", "singleuser", "--json")
    assert result.exit_code == 0, result.output
    entries: list[dict[str, Any]] = json.loads(result.output)
    return entries


def test_an_environment_moved_to_an_older_shared_image_rolls_back_to_its_own(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    host.write_config(OTHER)
    # other's image first, then singleuser's own (built later).
    assert host.run("env", "build", "other").exit_code == 0
    assert host.run("env", "build", "singleuser").exit_code == 0
    own = serving(fake_podman)
    # singleuser gets other's configuration: other's image, built before its own.
    host.write_config("[environments.default]" + SIX + "\n[services.other.environment]" + SIX)
    result = host.run("env", "build", "singleuser")
    assert result.exit_code == 0, result.output
    assert "singleuser: reused" in result.output
    assert builds(fake_podman) == ["other", "singleuser"]
    shared = serving(fake_podman)
    created = {image["Id"]: image["Created"] for image in store(fake_podman)}
    assert created[shared] < created[own]

    # History is in the order singleuser got its images, with when.
    entries = history(host)
    assert [(entry["image_id"], entry["in_use"]) for entry in entries] == [
        (shared, True),
        (own, False),
    ]
    assert entries[0]["since"] >= entries[1]["since"] >= entries[1]["created"]
    header = host.run("env", "history", "singleuser").output.splitlines()[0].split()
    assert header[header.index("BUILT") + 1] == "SINCE"
    # gc keeps the step back, singleuser's own image.
    gc = host.run("env", "gc", "--keep", "1", "--json")
    assert gc.exit_code == 0, gc.output
    assert json.loads(gc.output) == []

    rolled = host.run("env", "rollback", "singleuser")
    assert rolled.exit_code == 0, rolled.output
    assert serving(fake_podman) == own
    # A second rollback goes back to where the first started (like `cd -`).
    assert host.run("env", "rollback", "singleuser").exit_code == 0
    assert serving(fake_podman) == shared
    assert host.run("env", "rollback", "singleuser").exit_code == 0
    assert serving(fake_podman) == own
    assert [entry["image_id"] for entry in history(host)] == [own, shared]
    journal = json.loads(host.paths.generations_file("singleuser").read_text())
    assert [entry["image_id"] for entry in journal] == [own, shared, own, shared, own]


def test_a_corrupt_journal_falls_back_to_the_build_order(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    first = serving(fake_podman)
    host.write_config(MINIMAL + "dependencies = ['six']\n")
    assert host.run("env", "build").exit_code == 0
    second = serving(fake_podman)
    host.paths.generations_file("singleuser").write_text("{not json")
    entries = history(host)
    assert [entry["image_id"] for entry in entries] == [second, first]
    assert [entry["since"] for entry in entries] == [None, None]
    rolled = host.run("env", "rollback", "singleuser")
    assert rolled.exit_code == 0, rolled.output
    assert serving(fake_podman) == first
    # The rollback wrote a new journal: the next one goes back.
    assert host.run("env", "rollback", "singleuser").exit_code == 0
    assert serving(fake_podman) == second


def test_a_journal_that_cannot_be_written_is_a_warning_not_a_failure(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    host.write_config(MINIMAL)
    host.paths.generations_dir.parent.mkdir(parents=True)
    host.paths.generations_dir.write_text("in the way")
    result = host.run("env", "build")
    assert result.exit_code == 0, result.output
    assert "could not record that singleuser now runs image" in result.output
    assert f"({host.paths.generations_dir}: is not a directory" in result.output
    assert "Traceback" not in result.output
    assert [entry["in_use"] for entry in history(host)] == [True]
