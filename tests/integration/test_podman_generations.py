"""Image generations with real podman: an upgrade that fails for one environment, the
way back without a build, and gc.

Two core versions: this checkout (v1), and a copy of it with another version (v2) that
requires a package one environment conflicts with, run from its source tree. A PATH
wrapper around podman logs every call, so that "no podman build" is a fact from the
log, not from juice's own output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.core_versions import build_wheel, checkout_as_version
from support.podman import BUILD_SETTINGS

from orangeqs.juice import __version__ as V1

pytestmark = pytest.mark.podman


V2 = "99.0.0"
JUICE_V1 = [str(Path(sys.executable).parent / "juice")]
JUICE_V2 = [sys.executable, "-m", "orangeqs.juice.cli"]
NAMES = ["singleuser", "plain", "pinned"]


@pytest.fixture(scope="module")
def v2_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's package with version V2, and its wheel in `wheel/`."""
    tree = checkout_as_version(tmp_path_factory.mktemp("core-v2"), V2)
    # v2 needs something that one environment cannot have (see config()).
    pyproject = tree / "pyproject.toml"
    text = pyproject.read_text()
    assert "\ndependencies = [\n" in text
    pyproject.write_text(
        text.replace("\ndependencies = [\n", '\ndependencies = [\n  "six<1",\n', 1)
    )
    build_wheel(tree, tree / "wheel")
    return tree


def config(base_image: str, plain: list[str] | None = None) -> str:
    """The lab's configuration; plain shares the default configuration, or with `plain`
    has its own environment with those dependencies."""

    def environment(section: str, dependencies: list[str]) -> str:
        return (
            textwrap.dedent(
                f"""
            [{section}]
            type = "uv"
            base_image = "{base_image}"
            python_source = "system"
            dependencies = {dependencies!r}
            [{section}.build]
            """
            )
            + BUILD_SETTINGS
        )

    # "pinned" needs a six that v2's core conflicts with: it builds with v1 only.
    return (
        environment("environments.default", [])
        + (
            "\n[services.plain]\n"
            if plain is None
            else environment("services.plain.environment", plain)
        )
        + environment("services.pinned.environment", ["six>=1.16"])
    )


@pytest.fixture
def lab(
    tmp_path: Path, core_wheel: Path, v2_tree: Path, base_image: str, podman_env: dict[str, str]
) -> Lab:
    root = tmp_path / "root"
    (root / "etc/juice/config").mkdir(parents=True)
    (root / "etc/juice/config/orchestration.toml").write_text(config(base_image))
    dist = root / "opt/orangeqs/juice/dist"
    dist.mkdir(parents=True)
    shutil.copy(core_wheel, dist)
    (wheel_v2,) = (v2_tree / "wheel").glob("*.whl")
    shutil.copy(wheel_v2, dist)
    # Every podman call is logged, then run.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "podman-calls.log"
    wrapper = bin_dir / "podman"
    real = shutil.which("podman", path=podman_env["PATH"])
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    env = {**podman_env, "PATH": f"{bin_dir}{os.pathsep}{JUICE_V1[0].rsplit('/', 1)[0]}"
           f"{os.pathsep}{podman_env['PATH']}"}  # fmt: skip
    for name in NAMES:  # start from none of this test's images
        listed = podman(env, "images", "-q", "--filter", f"reference=localhost/juice-{name}")
        for image in set(listed.stdout.split()):
            podman(env, "rmi", "--force", image, check=False)
    return Lab(root, env, log, v2_tree, base_image)


class Lab:
    """A juice root with v1 and v2 of the core available."""

    def __init__(
        self, root: Path, env: dict[str, str], log: Path, v2_tree: Path, base_image: str
    ) -> None:
        self.root, self.env, self.log, self.v2_tree = root, env, log, v2_tree
        self.base_image = base_image

    def juice(self, version: str, *args: str) -> subprocess.CompletedProcess[str]:
        command, env = JUICE_V1, self.env
        if version == V2:
            command = JUICE_V2
            env = {**self.env, "PYTHONPATH": str(self.v2_tree / "src")}
        return subprocess.run(
            [*command, "--root", str(self.root), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )

    def podman_builds(self) -> int:
        calls = self.log.read_text().splitlines() if self.log.exists() else []
        # Image builds only: juice's lock steps build Containerfile.lock.
        return sum(
            1 for call in calls if call.startswith("build ") and "Containerfile.lock" not in call
        )

    def image_ids(self, version: str) -> dict[str, str | None]:
        ids: dict[str, str | None] = {}
        for name in NAMES:
            found = podman(
                self.env, "image", "inspect", "--format", "{{.Id}}",
                f"localhost/juice-{name}:{version}", check=False,
            )  # fmt: skip
            ids[name] = found.stdout.strip() if found.returncode == 0 else None
        return ids


def podman(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, check=check, timeout=300
    )


def test_a_failed_upgrade_keeps_every_image_and_going_back_builds_nothing(lab: Lab) -> None:
    first = lab.juice(V1, "env", "build", "--all")
    assert first.returncode == 0, first.stdout + first.stderr
    v1_ids = lab.image_ids(V1)
    assert all(v1_ids.values()), v1_ids
    # plain has singleuser's configuration: one build makes the image of both.
    assert lab.podman_builds() == 2
    assert v1_ids["plain"] == v1_ids["singleuser"]

    # The upgrade: "pinned" cannot be built with v2; the others can.
    upgrade = lab.juice(V2, "env", "build", "--all")
    assert upgrade.returncode == 1, upgrade.stdout + upgrade.stderr
    assert "2 of 3 environment image(s) built" in upgrade.stdout
    assert f"no image for orangeqs-juice-core {V2}: pinned;" in upgrade.stdout
    assert f"pinned still has its image of core {V1}" in upgrade.stdout
    assert "install the previous orangeqs-juice package again" in upgrade.stdout
    assert lab.image_ids(V1) == v1_ids, "an upgrade removed an image of the previous version"
    v2_ids = lab.image_ids(V2)
    assert v2_ids["pinned"] is None and v2_ids["plain"] and v2_ids["singleuser"]
    status = json.loads(lab.juice(V2, "env", "status", "--json").stdout)
    assert {row["name"]: row["state"] for row in status} == {
        "singleuser": "up to date",
        "plain": "up to date",
        "pinned": "not built",
    }

    # The previous package again: every image is there, so no podman build at all.
    builds_before = lab.podman_builds()
    back = lab.juice(V1, "env", "build", "--all")
    assert back.returncode == 0, back.stdout + back.stderr
    assert lab.podman_builds() == builds_before, back.stdout
    assert lab.image_ids(V1) == v1_ids
    for name in NAMES:
        assert f"{name}: up to date" in back.stdout
    assert lab.juice(V1, "env", "status", "--check").returncode == 0

    # plain ran v2's image last: after the downgrade it comes second, as the step back.
    history = json.loads(lab.juice(V1, "env", "history", "plain", "--json").stdout)
    assert [(entry["core_version"], entry["in_use"]) for entry in history] == [
        (V1, True),
        (V2, False),
    ]
    assert history[0]["since"] > history[1]["since"] > 0
    # A rollback goes to the image plain ran just before (v2's, built after v1's); a
    # second one goes back again, like `cd -`. No podman build.
    rolled = lab.juice(V1, "env", "rollback", "plain", "--json")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert lab.image_ids(V1)["plain"] == v2_ids["plain"]
    rolled = lab.juice(V1, "env", "rollback", "plain", "--json")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert lab.image_ids(V1) == v1_ids
    assert lab.podman_builds() == builds_before

    # plain gets pinned's configuration: an image built before v2's (pinned's, if the
    # new lock is the same) or a new one. Its step back is v1's image, not v2's.
    (lab.root / "etc/juice/config/orchestration.toml").write_text(
        config(lab.base_image, plain=["six>=1.16"])
    )
    moved = lab.juice(V1, "env", "build", "plain")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    plain_now = lab.image_ids(V1)["plain"]
    assert plain_now not in (v1_ids["plain"], v2_ids["plain"])

    # gc down to one core version, while a container runs v2's image of "plain" (which
    # is singleuser's too): nothing goes. singleuser keeps it anyway: its step back.
    container = "juice-test-generations-in-use"
    podman(lab.env, "rm", "--force", container, check=False)
    podman(lab.env, "run", "-d", "--name", container, f"localhost/juice-plain:{V2}", "sleep", "600")
    try:
        gc = lab.juice(V1, "env", "gc", "--keep", "1", "--json")
        assert gc.returncode == 0, gc.stdout + gc.stderr
        assert json.loads(gc.stdout) == []
        assert lab.image_ids(V2) == v2_ids
    finally:
        podman(lab.env, "rm", "--force", container, check=False)
    # Once no container uses it, plain's names of v2's image go; plain keeps v1's image
    # (its step back) and singleuser keeps its names of v2's.
    gc = lab.juice(V1, "env", "gc", "--keep", "1", "--json")
    assert gc.returncode == 0, gc.stdout + gc.stderr
    removed = {(image["environment"], image["core_version"]) for image in json.loads(gc.stdout)}
    assert removed == {("plain", V2)}
    assert lab.image_ids(V2) == {"singleuser": v2_ids["singleuser"], "plain": None, "pinned": None}
    assert lab.image_ids(V1)["plain"] == plain_now
    history = json.loads(lab.juice(V1, "env", "history", "plain", "--json").stdout)
    assert [entry["image_id"] for entry in history] == [plain_now, v1_ids["plain"]]
