"""The pure decisions about registry images: their names, pull or build, and provenance."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

import pytest

from orangeqs.juice.host.images import ImageRecord
from orangeqs.juice.host.registry import RegistryError, pull
from orangeqs.juice.orchestration.generations import Target
from orangeqs.juice.orchestration.pulling import locks_made_here_hint
from orangeqs.juice.orchestration.remote import (
    PullFailure,
    Source,
    builds_when_not_pulled,
    classify_pull_error,
    pulled_from,
    remote_target,
    should_pull,
)

DIGEST = "0123456789abcdef0123456789abcdef"
MANIFEST = "sha256:" + "ab" * 32
TARGET = Target(
    environment="lab",
    digest=DIGEST,
    core_version="1.2.0+local",
    version_reference="localhost/juice-lab:1.2.0-local",
    identity_reference=f"localhost/juice-lab:id-{DIGEST}",
)


def record(*references: str, manifest: str = MANIFEST) -> ImageRecord:
    return ImageRecord("f" * 64, references, "lab", DIGEST, "1.2.0", 0, 0, 0, manifest)


def test_the_registry_holds_the_same_two_tags_below_its_prefix() -> None:
    remote = remote_target("registry.lab.example:5000/juice", TARGET)

    assert remote.repository == "registry.lab.example:5000/juice/juice-lab"
    assert remote.identity_reference == f"registry.lab.example:5000/juice/juice-lab:id-{DIGEST}"
    assert remote.version_reference == "registry.lab.example:5000/juice/juice-lab:1.2.0-local"


@pytest.mark.parametrize(
    ("source", "pulls", "builds_after_a_failed_pull"),
    [(Source.BUILD, False, True), (Source.PULL, True, False), (Source.PULL_OR_BUILD, True, True)],
)
def test_which_sources_pull_and_which_build_what_they_could_not_pull(
    source: Source, pulls: bool, builds_after_a_failed_pull: bool
) -> None:
    assert should_pull(source) is pulls
    if pulls:
        assert builds_when_not_pulled(source) is builds_after_a_failed_pull


@pytest.mark.parametrize(
    ("message", "failure"),
    [
        # podman 4.3's words, as seen against docker-registry.
        (
            "initializing source docker://127.0.0.1:5000/juice/juice-lab:id-x: reading manifest "
            "id-x in 127.0.0.1:5000/juice/juice-lab: manifest unknown: manifest unknown",
            PullFailure.NOT_FOUND,
        ),
        (
            "reading manifest id-x in 127.0.0.1:5000/juice/juice-lab: name unknown: repository "
            "name not known to registry",
            PullFailure.NOT_FOUND,
        ),
        (
            'pinging container registry 127.0.0.1:5000: Get "https://127.0.0.1:5000/v2/": dial '
            "tcp 127.0.0.1:5000: connect: connection refused",
            PullFailure.REFUSED,
        ),
        (
            "Source image rejected: A signature was required, but no signature exists",
            PullFailure.REFUSED,
        ),
        (
            "unable to retrieve auth token: invalid username/password: unauthorized",
            PullFailure.REFUSED,
        ),
    ],
)
def test_a_missing_image_is_told_from_every_other_failure(
    message: str, failure: PullFailure
) -> None:
    assert classify_pull_error(message) is failure


def test_an_image_built_here_names_no_registry() -> None:
    image = record(f"localhost/juice-lab:id-{DIGEST}", "localhost/juice-lab:1.2.0")

    assert pulled_from(image, [image]) is None


def test_a_pulled_image_names_its_repository_and_manifest_digest() -> None:
    image = record(
        f"127.0.0.1:5000/juice/juice-lab:id-{DIGEST}",
        f"localhost/juice-lab:id-{DIGEST}",
        "localhost/juice-lab:1.2.0",
    )

    assert pulled_from(image, [image]) == f"127.0.0.1:5000/juice/juice-lab@{MANIFEST}"


def test_every_environment_naming_a_pulled_image_has_its_origin() -> None:
    pulled = record(f"127.0.0.1:5000/juice/juice-lab:id-{DIGEST}", "localhost/juice-lab:1.2.0")
    # twin shares lab's image (the same configuration) under its local names only.
    twin = replace(pulled, references=("localhost/juice-twin:1.2.0",), environment="twin")
    other = replace(twin, image_id="e" * 64)

    assert pulled_from(twin, [pulled, twin, other]) == f"127.0.0.1:5000/juice/juice-lab@{MANIFEST}"
    assert pulled_from(other, [pulled, twin, other]) is None


def test_one_hint_names_the_misses_of_locks_made_here_and_only_those() -> None:
    made_here = ["a", "b", "c", "d", "e"]
    hint = locks_made_here_hint(["a", "b", "c", "d", "e", "kept"], made_here, Path("/locks"))

    assert hint.startswith("nothing in the registry for a, b, c and 2 more, whose locks")
    assert "the build host's locks (/locks/<name>/; docs/locks.md, a second host)" in hint
    assert "kept" not in hint
    assert locks_made_here_hint(["kept"], made_here, Path("/locks")) == ""


@pytest.mark.parametrize(
    ("pull_output", "inspect_output", "message"),
    [
        ("", "[]", "named no image"),
        ("sha256:abc\n", "not json", "unexpected output"),
    ],
)
def test_a_pull_podman_answers_oddly_is_a_registry_error_not_a_traceback(
    tmp_path: Path, pull_output: str, inspect_output: str, message: str
) -> None:
    podman = tmp_path / "podman"
    podman.write_text(
        "#!/bin/sh\n"
        f"if [ \"$1\" = pull ]; then printf '%s' {shlex.quote(pull_output)}; exit 0; fi\n"
        f"printf '%s' {shlex.quote(inspect_output)}\n"
    )
    podman.chmod(0o755)
    with pytest.raises(RegistryError, match=message):
        pull(podman, "127.0.0.1:5000/juice/juice-lab:id-d")
