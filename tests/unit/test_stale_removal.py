"""Removing a stale environment removes exactly what juice wrote (issue 13, review).

Real file systems: bind and tmpfs mounts (mount(8), so the suite runs as root), and the
real systemctl offline (``--root``) for masks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from juice_host import MINIMAL, JuiceHost
from test_building import calls, fake_podman  # noqa: F401  (fixture)
from test_host_errors import AS_NOBODY, JUICE, mounted
from test_ownership import systemctl

from orangeqs.juice.environments.rendering import ENVIRONMENT_FILES
from orangeqs.juice.ownership import GENERATED_DIR_STAMP
from orangeqs.juice.paths import HostPaths

WITH_OLD = MINIMAL + "[services.old]\ncommand = ['true']\n"
WITH_NEW = MINIMAL + "[services.new]\ncommand = ['true']\n"


def rendered(host: JuiceHost, name: str) -> bool:
    return all((host.paths.env_dir(name) / file).is_file() for file in ENVIRONMENT_FILES)


def test_a_mount_inside_a_stale_directory_is_never_crossed(host: JuiceHost, tmp_path: Path) -> None:
    host.write_config(WITH_OLD)
    assert host.run("env", "render").exit_code == 0
    old = host.paths.env_dir("old")
    source = tmp_path / "lab-cache"
    source.mkdir()
    (source / "precious").write_text("a week of measurements\n")
    host.write_config(WITH_NEW)

    with mounted("--bind", str(source), target=old / "cache"):
        result = host.run("env", "render")
        assert (old / "cache" / "precious").read_text() == "a week of measurements\n"

    assert result.exit_code == 0, result.output
    assert (source / "precious").read_text() == "a week of measurements\n"
    assert rendered(host, "new"), "the render was applied in full"
    assert sorted(path.name for path in old.iterdir()) == ["cache"], "juice's files went"
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and f"left alone {old / 'cache'}: " in warnings[0], result.stderr


@pytest.mark.parametrize("kind", ["tmpfs", "bind"])
def test_a_stale_directory_that_is_a_mount_point_is_not_touched(
    host: JuiceHost, tmp_path: Path, kind: str
) -> None:
    host.write_config(WITH_OLD)
    assert host.run("env", "render").exit_code == 0
    old = host.paths.env_dir("old")
    copy = tmp_path / "copy"
    shutil.copytree(old, copy)
    host.write_config(MINIMAL)

    args = ["--bind", str(copy)] if kind == "bind" else ["-t", "tmpfs", "tmpfs"]
    with mounted(*args, target=old):
        if kind == "tmpfs":
            shutil.copytree(copy, old, dirs_exist_ok=True)
        result = host.run("env", "render")
        assert sorted(path.name for path in old.iterdir()) == sorted(
            [*ENVIRONMENT_FILES, GENERATED_DIR_STAMP]
        )
    assert result.exit_code == 0, result.output
    assert not (host.paths.unit_dir / "juice-old.service").exists(), "juice's unit went"
    assert sorted(path.name for path in copy.iterdir()) == sorted(
        [*ENVIRONMENT_FILES, GENERATED_DIR_STAMP]
    )


def test_files_an_administrator_added_to_a_stamped_directory_stay(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "[services.b]\n")
    assert host.run("env", "render").exit_code == 0
    b = host.paths.env_dir("b")
    (b / "NOTES.txt").write_text("why b exists\n")
    (b / "data").mkdir()
    (b / "data" / "keep").write_text("keep me\n")
    host.write_config(MINIMAL)

    result = host.run("env", "render")

    assert result.exit_code == 0, result.output
    assert (b / "NOTES.txt").read_text() == "why b exists\n"
    assert (b / "data" / "keep").read_text() == "keep me\n"
    assert sorted(path.name for path in b.iterdir()) == ["NOTES.txt", "data"]
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1, result.stderr
    assert f"left alone {b / 'NOTES.txt'}, {b / 'data'}: " in warnings[0]
    assert f"so {b} stays" in warnings[0]
    # Its stamp went with juice's files: the directory is the administrator's now.
    again = host.run("env", "render")
    assert again.exit_code == 0 and again.stderr == ""
    assert (b / "NOTES.txt").is_file()


def test_an_administrators_backup_copy_is_not_removed(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "[services.lab]\n")
    assert host.run("env", "render").exit_code == 0
    lab = host.paths.env_dir("lab")
    stamped_copy = host.paths.envs_dir / "lab.bak"
    subprocess.run(["cp", "-a", str(lab), str(stamped_copy)], check=True)
    unstamped_copy = host.paths.envs_dir / "lab.orig"
    subprocess.run(["cp", "-a", str(lab), str(unstamped_copy)], check=True)
    (unstamped_copy / GENERATED_DIR_STAMP).unlink()
    before = {path: path.read_bytes() for path in host.paths.envs_dir.rglob("lab.*/*")}

    host.write_config(MINIMAL)
    result = host.run("env", "render")

    assert result.exit_code == 0, result.output
    assert not lab.exists(), "juice's own directory went"
    assert {path: path.read_bytes() for path in host.paths.envs_dir.rglob("lab.*/*")} == before
    assert result.stderr == ""


def test_a_failed_removal_is_reported_and_keeps_the_new_files() -> None:
    """As a user who owns the tree but not the stale directory: unlink is refused."""
    top = Path(tempfile.mkdtemp(prefix="juice-removal-"))  # /tmp/pytest-of-root is 0700
    try:
        top.chmod(0o755)
        host = JuiceHost(top, HostPaths.under(top))
        host.write_config(WITH_OLD)
        assert host.run("env", "render").exit_code == 0
        host.write_config(WITH_NEW)
        subprocess.run(["chown", "-R", "65534:65534", str(top)], check=True)
        old = host.paths.env_dir("old")
        subprocess.run(["chown", "0:0", str(old)], check=True)

        result = subprocess.run(
            [*AS_NOBODY, str(JUICE), "--root", str(top), "env", "render"],
            env={**os.environ, "HOME": "/nonexistent"},
            capture_output=True,
            text=True,
            check=False,
        )

        assert result.returncode == 1, result.stdout + result.stderr
        assert rendered(host, "new"), "the render is not undone"
        assert (host.paths.unit_dir / "juice-new.service").is_file()
        assert not (host.paths.unit_dir / "juice-old.service").exists(), "the others went"
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"juice: could not remove {old}/"), result.stderr
        assert "Permission denied" in result.stderr
    finally:
        shutil.rmtree(top)


def test_unmarked_units_not_in_juices_way_are_not_mentioned(host: JuiceHost) -> None:
    """OrangeQS Juice itself installs these, unmarked, on every real host."""
    host.write_config(MINIMAL)
    host.paths.unit_dir.mkdir(parents=True)
    for name in ("juice-orchestrator.service", "juice-runtime-data.service"):
        (host.paths.unit_dir / name).write_text("[Service]\nExecStart=/bin/true\n")

    result = host.run("env", "render")

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (host.paths.unit_dir / "juice-orchestrator.service").is_file()


def test_a_runtime_mask_of_a_rendered_unit_takes_effect(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    """`systemctl mask` refuses a unit juice wrote; `systemctl mask --runtime` does not."""
    host.write_config(MINIMAL + "[services.a]\n")
    assert host.run("env", "render").exit_code == 0
    refused = systemctl(host, "mask", "juice-a-build.service")
    assert refused.returncode != 0 and "already exists" in refused.stderr
    assert systemctl(host, "mask", "--runtime", "juice-a-build.service").returncode == 0
    # A unit file in /etc/systemd/system overrides a mask in /run/systemd/system.
    assert systemctl(host, "is-enabled", "juice-a-build.service").stdout != "masked-runtime\n"

    result = host.run("env", "build", "--all", "--mode", "direct", "--progress", "plain")

    assert result.exit_code == 0, result.output
    assert systemctl(host, "is-enabled", "juice-a-build.service").stdout == "masked-runtime\n"
    assert not (host.paths.unit_dir / "juice-a-build.service").exists()
    assert "environment a is skipped, not built" in result.output
    built = [call[-1] for call in calls(fake_podman) if call[0] == "build"]
    assert built == [str(host.paths.env_dir("singleuser"))]
    # Later renders leave the mask alone and write no unit that would override it.
    assert host.run("env", "render").exit_code == 0
    assert not (host.paths.unit_dir / "juice-a-build.service").exists()
    assert systemctl(host, "is-enabled", "juice-a-build.service").stdout == "masked-runtime\n"


def test_the_documented_persistent_mask_of_a_rendered_unit_holds(host: JuiceHost) -> None:
    """README: remove juice's unit file, then `systemctl mask`."""
    host.write_config(MINIMAL + "[services.a]\n")
    assert host.run("env", "render").exit_code == 0
    (host.paths.unit_dir / "juice-a-build.service").unlink()
    assert systemctl(host, "mask", "juice-a-build.service").returncode == 0

    result = host.run("env", "render")

    assert result.exit_code == 0, result.output
    assert systemctl(host, "is-enabled", "juice-a-build.service").stdout == "masked\n"
    assert "environment a is skipped, not built" in result.stderr
