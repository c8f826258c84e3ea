"""`juice env build` with real podman, from a local debootstrapped base image.

Runs without systemd (direct mode): the same podman build command the units run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.podman import BUILD_SETTINGS

from orangeqs.juice import __version__

pytestmark = pytest.mark.podman

JUICE = Path(sys.executable).parent / "juice"


def environment(section: str, base_image: str, dependencies: list[str]) -> str:
    # BUILD_SETTINGS: the host CA bundle through SSL_CERT_FILE, how a lab behind a
    # TLS-inspecting proxy (and this test machine) lets uv reach PyPI from a build.
    head = textwrap.dedent(
        f"""
        [{section}]
        type = "uv"
        base_image = "{base_image}"
        python_source = "system"
        dependencies = {dependencies!r}
        """
    )
    return f"{head}[{section}.build]\n{BUILD_SETTINGS}"


def config(base_image: str, extra: str = "six") -> str:
    """A default environment, a service on it, and a service with an extra dependency."""
    return (
        environment("environments.default", base_image, [])
        + "\n[services.plain]\n"
        + environment("services.extra.environment", base_image, [extra])
    )


def juice(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(JUICE), "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def podman(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, check=check, timeout=300
    )


def image_id(env: dict[str, str], image: str) -> str:
    return podman(env, "image", "inspect", "--format", "{{.Id}}", image).stdout.strip()


@pytest.fixture
def juice_root(tmp_path: Path, core_wheel: Path, base_image: str) -> Path:
    root = tmp_path / "root"
    config_dir = root / "etc/juice/config"
    config_dir.mkdir(parents=True)
    (config_dir / "orchestration.toml").write_text(config(base_image))
    dist = root / "opt/orangeqs/juice/dist"
    dist.mkdir(parents=True)
    shutil.copy(core_wheel, dist)
    return root


def test_build_all_makes_an_image_per_environment_and_rebuilds_from_cache(
    juice_root: Path, podman_env: dict[str, str]
) -> None:
    env = {**podman_env, "PATH": f"{JUICE.parent}{os.pathsep}{podman_env['PATH']}"}
    names = ["singleuser", "plain", "extra"]
    for name in names:  # start from nothing, also when an earlier run left images
        remove_images(env, f"localhost/juice-{name}")

    first = juice(juice_root, env, "env", "build", "--all")
    logs = "\n".join(
        (juice_root / f"var/log/juice/build-{name}.log").read_text()
        for name in names
        if (juice_root / f"var/log/juice/build-{name}.log").exists()
    )
    assert first.returncode == 0, first.stdout + first.stderr + logs
    assert "direct mode" in first.stdout
    assert "3 of 3 environment image(s) built" in first.stdout

    for name in names:
        # Services run the image named for the installed core version.
        image = f"localhost/juice-{name}:{__version__}"
        version = podman(env, "run", "--rm", image, "juice", "--version").stdout
        assert version.splitlines()[0] == f"juice (orangeqs-juice-core) {__version__}"
        has_six = podman(env, "run", "--rm", image, "python", "-c", "import six", check=False)
        assert (has_six.returncode == 0) == (name == "extra"), name
        whoami = podman(env, "run", "--rm", image, "id", "-un").stdout.strip()
        assert whoami == "user"

    status = juice(juice_root, env, "env", "status", "--check")
    assert status.returncode == 0, status.stdout

    ids = {name: image_id(env, f"localhost/juice-{name}:{__version__}") for name in names}
    # plain has singleuser's configuration: one image, built once, serves both.
    assert ids["plain"] == ids["singleuser"] != ids["extra"]
    assert not (juice_root / "var/log/juice/build-plain.log").exists()
    # Nothing changed: no podman build at all.
    second = juice(juice_root, env, "env", "build", "--all")
    assert second.returncode == 0, second.stdout + second.stderr
    for name in names:
        assert f"{name}: up to date" in second.stdout
    assert "environment image(s) built" not in second.stdout
    # Forced, podman builds again, and every step comes from the cache: nothing juice ran
    # (no prune between parallel builds) removed the layers of the kept images.
    third = juice(juice_root, env, "env", "build", "--all", "--force")
    assert third.returncode == 0, third.stdout + third.stderr
    for name in ("singleuser", "extra"):
        log = (juice_root / f"var/log/juice/build-{name}.log").read_text()
        steps = [line for line in log.splitlines() if line.startswith("STEP ")]
        cached = log.count("--> Using cache")
        # Every step after FROM comes from the cache.
        assert cached == len(steps) - 1, log
    for name in names:
        assert image_id(env, f"localhost/juice-{name}:{__version__}") == ids[name]


def remove_images(env: dict[str, str], repository: str) -> None:
    """Every image of `repository`, so that a test starts from none."""
    listed = podman(env, "images", "--format", "{{.Id}}", "--filter", f"reference={repository}")
    for image in set(listed.stdout.split()):
        podman(env, "rmi", "--force", image, check=False)


def test_a_failing_environment_does_not_stop_the_others(
    juice_root: Path, podman_env: dict[str, str], base_image: str
) -> None:
    env = {**podman_env, "PATH": f"{JUICE.parent}{os.pathsep}{podman_env['PATH']}"}
    config_file = juice_root / "etc/juice/config/orchestration.toml"
    config_file.write_text(config(base_image, extra="no-such-package-for-juice-tests==0.0.1"))
    result = juice(juice_root, env, "env", "build", "--all")
    assert result.returncode == 1
    assert "2 of 3 environment image(s) built" in result.stdout
    assert "retry: juice env build extra" in result.stdout
    # It fails when it is locked (uv finds no such package), with uv's words in juice's.
    reason = result.stdout.split("✗ extra:")[1]
    assert "lock failed" in result.stdout and "no-such-package-for-juice-tests" in reason
