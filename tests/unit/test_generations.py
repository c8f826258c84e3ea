"""The pure decisions over image generations: reuse or build, what gc removes."""

from __future__ import annotations

import datetime
import json
from dataclasses import replace
from pathlib import Path

from orangeqs.juice.environments.units import (
    CORE_VERSION_LABEL,
    DIGEST_LABEL,
    ENVIRONMENT_LABEL,
    Tools,
)
from orangeqs.juice.host.images import UNNAMED, ImageRecord, image_records
from orangeqs.juice.host.journal import JournalEntry
from orangeqs.juice.orchestration.generations import (
    Action,
    Target,
    arrival,
    build_waves,
    decide,
    generations,
    got_at,
    previous_generation,
    select_removals,
    with_identity,
)
from orangeqs.juice.orchestration.planning import make_plan
from orangeqs.juice.paths import HostPaths
from orangeqs.juice.reporting import removed_image_line

REPO = "localhost/juice-lab"


def image(version: str, digest: str, created: int, *tags: str, containers: int = 0) -> ImageRecord:
    references = (f"{REPO}:id-{digest}", *(f"{REPO}:{tag}" for tag in tags))
    return ImageRecord(f"sha-{digest}", references, "lab", digest, version, created, 1, containers)


def target(digest: str, version: str) -> Target:
    return Target("lab", digest, version, f"{REPO}:{version}", f"{REPO}:id-{digest}")


def test_an_existing_identity_is_reused_never_built() -> None:
    images = [image("1.0", "a", 1, "1.0"), image("2.0", "b", 2)]
    assert decide(target("a", "1.0"), images) is Action.UP_TO_DATE
    assert decide(target("b", "2.0"), images) is Action.REUSE
    assert decide(target("c", "2.0"), images) is Action.BUILD
    assert decide(target("a", "1.0"), images, force=True) is Action.BUILD


def ids(images: list[ImageRecord]) -> list[str]:
    return [record.image_id for record in images]


def test_gc_keeps_the_last_k_core_versions_with_the_installed_one_first() -> None:
    images = [
        image("1.0", "a", 1, "1.0"),
        image("2.0", "b", 2, "2.0"),
        image("3.0", "c", 3, "3.0"),
    ]
    # 3.0 installed: 3.0 and 2.0 stay.
    assert ids(select_removals(images, "3.0", keep=2)) == ["sha-a"]
    # Back on 1.0 (a downgrade): 1.0 counts first, then the newest other version, 3.0.
    assert ids(select_removals(images, "1.0", keep=2)) == ["sha-b"]
    assert ids(select_removals(images, "3.0", keep=3)) == []


def test_gc_never_removes_an_image_a_container_uses_or_the_current_files() -> None:
    images = [
        image("1.0", "a", 1, "1.0", containers=1),
        image("2.0", "b", 2, "2.0"),
        image("3.0", "c", 3, "3.0"),
        image("3.0", "d", 4),
    ]
    # 3.0 stays; 2.0 is the step back from it; 1.0 has a container; d is superseded.
    assert ids(select_removals(images, "3.0", keep=1)) == ["sha-d"]
    assert ids(select_removals(images, "3.0", keep=1, protected_digests=["d"])) == []


def test_gc_keeps_one_step_back_within_a_core_version() -> None:
    images = [image("3.0", "x", 1), image("3.0", "y", 2), image("3.0", "z", 3, "3.0")]
    assert ids(select_removals(images, "3.0", keep=2)) == ["sha-x"]


def test_rollback_goes_to_the_generation_before_the_one_services_run() -> None:
    images = [image("1.0", "a", 1, "1.0"), image("2.0", "b", 2, "2.0")]
    previous = previous_generation(images, "lab", f"{REPO}:2.0")
    assert previous is not None and previous.digest == "a"
    assert previous_generation(images, "lab", f"{REPO}:1.0") is None
    # An upgrade that failed for this environment: its version names no image yet.
    fallback = previous_generation(images, "lab", f"{REPO}:3.0")
    assert fallback is not None and fallback.digest == "b"


def test_the_latest_tag_of_an_older_juice_counts_as_no_core_version() -> None:
    images = [
        image("", "old", 1, "latest"),
        image("1.0", "a", 2, "1.0"),
        image("2.0", "b", 3, "2.0"),
    ]
    assert ids(select_removals(images, "2.0", keep=2)) == ["sha-old"]


def test_environments_of_one_configuration_build_one_first(tmp_path: Path) -> None:
    paths = HostPaths.under(tmp_path)
    paths.config_dir.mkdir(parents=True)
    (paths.config_dir / "orchestration.toml").write_text(
        '[environments.default]\ntype = "uv"\nbase_image = "debian:12"\n'
        "[services.twin]\n[services.other.environment]\n"
        'base_image = "debian:12"\ndependencies = ["six"]\n'
    )
    plan = make_plan(paths, Tools(podman=Path("/usr/bin/podman"), uv=Path("/usr/bin/uv")))
    waves = build_waves(plan.environments)
    # `other` shares the layers below its Python packages: built after singleuser made
    # them, never beside it (two copies of a layer break the cache).
    assert [env.spec.name for env in waves.alone] == ["singleuser"]
    assert [env.spec.name for env in waves.together] == ["other"]
    # twin has singleuser's identity: it gets singleuser's image, no build of its own.
    assert [(env.spec.name, builder.spec.name) for env, builder in waves.same_image] == [
        ("twin", "singleuser")
    ]


def test_an_image_shared_by_environments_is_one_record_per_environment() -> None:
    podman_json = json.dumps(
        [
            {
                "Id": "shared",
                "Names": [
                    "localhost/juice-a:1.0",
                    "localhost/juice-a:id-d",
                    "localhost/juice-b:id-d",
                    "127.0.0.1:5000/lab/juice-b:1.0",
                    "localhost/other:latest",
                ],
                "Labels": {DIGEST_LABEL: "d", CORE_VERSION_LABEL: "1.0"},
                "Created": 5,
                "Containers": 1,
            },
            # Built by juice before images were shared: its environment is a label.
            {"Id": "old", "Names": [], "Labels": {DIGEST_LABEL: "e", ENVIRONMENT_LABEL: "a"}},
        ]
    )
    records = {
        (record.environment, record.image_id): record for record in image_records(podman_json)
    }
    assert sorted(records) == [("a", "old"), ("a", "shared"), ("b", "shared")]
    assert records["a", "shared"].references == ("localhost/juice-a:1.0", "localhost/juice-a:id-d")
    assert records["b", "shared"].references == (
        "127.0.0.1:5000/lab/juice-b:1.0",
        "localhost/juice-b:id-d",
    )
    assert records["b", "shared"].containers == 1
    assert records["a", "old"].references == ()


def test_another_environments_image_of_the_same_identity_is_reused() -> None:
    theirs = ImageRecord("sha-a", ("localhost/juice-twin:id-a",), "twin", "a", "1.0", 1, 1, 0)
    assert decide(target("a", "1.0"), [theirs]) is Action.REUSE
    assert with_identity([theirs], target("a", "1.0")) is theirs
    # Its own record comes first when both exist.
    mine = image("1.0", "a", 1, "1.0")
    assert with_identity([theirs, mine], target("a", "1.0")) is mine
    assert decide(target("a", "1.0"), [theirs, mine]) is Action.UP_TO_DATE


def test_gc_of_one_environment_removes_only_its_names_of_a_shared_image() -> None:
    old = image("1.0", "a", 1, "1.0")
    twin_old = ImageRecord("sha-a", ("localhost/juice-twin:1.0",), "twin", "a", "1.0", 1, 1, 0)
    newer = [image(version, version, created, version) for version, created in (("2.0", 2),
             ("3.0", 3))]  # fmt: skip
    removals = select_removals([old, twin_old, *newer], "3.0", keep=2)
    # lab's names of the shared image go; twin keeps it (its only generation).
    assert [(record.environment, record.references) for record in removals] == [
        ("lab", old.references)
    ]


def test_an_image_named_by_none_of_juices_repositories_is_not_juices() -> None:
    # An administrator's image built FROM an environment's inherits its labels; podman's
    # names history ("History") tells it from juice's own image once it has no name.
    podman_json = json.dumps(
        [
            {"Id": "theirs", "Names": ["localhost/lab-tools:1"], "Labels": {DIGEST_LABEL: "d"}},
            {
                "Id": "theirs-untagged",
                "Names": [],
                "History": ["localhost/lab-tools:1"],
                "Labels": {DIGEST_LABEL: "d", ENVIRONMENT_LABEL: "lab"},
            },
            {"Id": "never-named", "Names": [], "Labels": {DIGEST_LABEL: "e"}},
            {
                "Id": "leftover",
                "Names": [],
                "History": ["localhost/juice-lab:id-e", "127.0.0.1:5000/juice/juice-lab:id-e"],
                "Labels": {DIGEST_LABEL: "e", CORE_VERSION_LABEL: "0.1.0"},
            },
        ]
    )
    assert [(r.image_id, r.environment) for r in image_records(podman_json)] == [
        ("leftover", UNNAMED)
    ]


def test_gc_removes_juices_unnamed_image_unless_a_container_uses_it() -> None:
    kept = image("1.0", "a", 1, "1.0")
    # A forced build gave the names of identity "a" to a new image: the old one is
    # no environment's, though its digest is the one rendered now.
    leftover = ImageRecord("old-a", (), UNNAMED, "a", "1.0", 0, 1, 0)
    used = replace(leftover, image_id="old-a-used", containers=1)
    removals = select_removals([kept, leftover, used], "1.0", keep=2, protected_digests=["a"])
    assert ids(removals) == ["old-a"]
    # No environment has it: it is nobody's generation to roll back to.
    assert previous_generation([kept, leftover], "lab", f"{REPO}:1.0") is None


def test_the_message_for_an_unnamed_image_names_no_environment() -> None:
    leftover = ImageRecord("7a042182b16e" + "0" * 52, (), UNNAMED, "e", "0.1.0", 0, 1, 0)
    assert removed_image_line(leftover) == (
        "removed an unnamed image juice built (core 0.1.0, 7a042182b16e)"
    )
    assert removed_image_line(image("1.0", "a", 1)) == (
        "removed a superseded image of lab (core 1.0, sha-a)"
    )


def at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def journal(*got: tuple[ImageRecord, float]) -> dict[str, float]:
    """When the environment got each image: its journal's entries, oldest first."""
    return got_at([JournalEntry(i.digest, i.image_id, i.core_version, at(t)) for i, t in got])


def test_an_environment_moved_to_an_older_shared_image_steps_back_to_its_own() -> None:
    # x was built at 10 (for another environment of its configuration); lab's own a at
    # 11; at 12 lab's configuration became x's, so lab got x: built before a.
    a, x = image("1.0", "a", 11), image("1.0", "x", 10, "1.0")
    older = image("1.0", "o", 5)
    images = [older, a, x]
    got = journal((older, 5), (a, 11), (x, 12))
    assert ids(generations(images, "lab", got)) == ["sha-x", "sha-a", "sha-o"]
    previous = previous_generation(images, "lab", f"{REPO}:1.0", got)
    assert previous is a
    # By when the images were built, the step back would skip a: it was built after x.
    assert previous_generation(images, "lab", f"{REPO}:1.0") is older
    # gc keeps a, the step back; by build time it removed a and kept o.
    assert ids(select_removals(images, "1.0", keep=1, got={"lab": got})) == ["sha-o"]
    assert ids(select_removals(images, "1.0", keep=1)) == ["sha-a"]


def test_after_a_downgrade_rollback_goes_to_the_newer_image_and_back_again() -> None:
    v1, v2 = image("1.0", "a", 1, "1.0"), image("2.0", "b", 2, "2.0")
    # Built v1, upgraded to v2, downgraded to v1 (v1's image again, no build).
    got = journal((v1, 10), (v2, 20), (v1, 30))
    assert previous_generation([v1, v2], "lab", f"{REPO}:1.0", got) is v2
    # gc keeps the step back even with keep=1 (it is what rollback goes to).
    assert select_removals([v1, v2], "1.0", keep=1, got={"lab": got}) == []
    # The rollback moved 1.0's tag to v2's image and wrote it down: a second rollback
    # goes back to v1's (like `cd -`).
    v2_rolled = image("2.0", "b", 2, "2.0", "1.0")
    v1_after = image("1.0", "a", 1)
    got = journal((v1, 10), (v2, 20), (v1, 30), (v2, 40))
    assert previous_generation([v1_after, v2_rolled], "lab", f"{REPO}:1.0", got) == v1_after


def test_a_later_journal_entry_counts_as_later_even_when_the_clock_went_back() -> None:
    a, b = image("1.0", "a", 1), image("1.0", "b", 2)
    got = journal((a, 100), (b, 50))
    assert got["sha-b"] > got["sha-a"]
    assert ids(generations([a, b], "lab", got)) == ["sha-b", "sha-a"]


def test_an_image_the_journal_does_not_name_is_ordered_by_when_it_was_built() -> None:
    # An empty or unreadable journal: the order of the build times.
    a, b, c = image("1.0", "a", 1), image("1.0", "b", 3), image("1.0", "c", 2)
    assert ids(generations([a, b, c], "lab", {})) == ["sha-b", "sha-c", "sha-a"]
    assert ids(generations([a, b, c], "lab", journal((a, 4)))) == ["sha-a", "sha-b", "sha-c"]


def test_an_arrival_is_the_image_the_version_tag_names_when_the_journal_ends_elsewhere() -> None:
    v1, v2 = image("1.0", "a", 1, "1.0"), image("2.0", "b", 2, "2.0")
    entry = JournalEntry("b", "sha-b", "2.0", at(20))
    # Downgraded to 1.0 since the journal's last entry (v2): lab got v1 again.
    assert arrival([v1, v2], target("a", "1.0"), [entry]) is v1
    assert arrival([v1, v2], target("b", "2.0"), [entry]) is None
    assert arrival([v1, v2], target("b", "2.0"), []) is v2
    # A version that names no image (its build failed): nothing arrived.
    assert arrival([v1, v2], target("c", "3.0"), [entry]) is None
