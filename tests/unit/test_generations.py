"""The pure decisions over image generations: reuse or build, what gc removes."""

from __future__ import annotations

from pathlib import Path

from orangeqs.juice.environments.units import Tools
from orangeqs.juice.host.images import ImageRecord
from orangeqs.juice.orchestration.generations import (
    Action,
    Target,
    build_waves,
    decide,
    previous_generation,
    select_removals,
)
from orangeqs.juice.orchestration.planning import make_plan
from orangeqs.juice.paths import HostPaths

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
    assert [env.spec.name for env in waves.copies] == ["twin"]
