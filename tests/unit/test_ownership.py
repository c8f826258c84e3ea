"""Juice touches only what it created and marked (issue 13).

Generated directories carry the .juice-generated stamp, generated units juice's marker
line; anything else in the generated tree or the unit directory is left alone and
reported once as a warning naming it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from juice_host import MINIMAL, JuiceHost
from test_building import calls, fake_podman  # noqa: F401  (fixture)

from orangeqs.juice.ownership import GENERATED_DIR_STAMP, GENERATED_MARKER

WITH_OLD = MINIMAL + "[services.old]\ncommand = ['true']\n"


def test_generated_directories_are_stamped(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "render").exit_code == 0
    stamp = host.paths.env_dir("singleuser") / GENERATED_DIR_STAMP
    assert stamp.read_text().startswith(GENERATED_MARKER)


def test_a_symlink_in_the_generated_tree_is_never_followed_nor_removed(
    host: JuiceHost, tmp_path: Path
) -> None:
    host.write_config(MINIMAL)
    target = tmp_path / "admins-data"
    target.mkdir()
    (target / "precious").write_text("keep me")
    host.paths.envs_dir.mkdir(parents=True)
    link = host.paths.envs_dir / "data"
    link.symlink_to(target)

    result = host.run("env", "render")

    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (target / "precious").read_text() == "keep me"
    assert result.stderr == "", "not in juice's way: none of its business"


def test_a_directory_juice_did_not_create_is_left_alone(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    admins = host.paths.envs_dir / "notes"
    admins.mkdir(parents=True)
    (admins / "README").write_text("lab notes")
    empty = host.paths.envs_dir / "empty"
    empty.mkdir()

    result = host.run("env", "render")

    assert result.exit_code == 0
    assert (admins / "README").read_text() == "lab notes"
    assert empty.is_dir()
    assert result.stderr == ""


def test_a_stamped_directory_of_a_removed_environment_goes(host: JuiceHost) -> None:
    host.write_config(WITH_OLD)
    assert host.run("env", "render").exit_code == 0
    old = host.paths.env_dir("old")
    (old / ".Containerfile.x1y2.tmp").write_text("an interrupted write's temporary file\n")
    host.write_config(MINIMAL)

    result = host.run("env", "render")

    assert result.exit_code == 0
    assert not old.exists()
    assert f"removed {old}" in result.output
    assert "left alone" not in result.stderr


def test_a_directory_of_an_earlier_juice_is_adopted(host: JuiceHost) -> None:
    """Before the stamp existed, juice's directories held only juice-marked files."""
    host.write_config(WITH_OLD)
    assert host.run("env", "render").exit_code == 0
    for name in ("singleuser", "old"):
        (host.paths.env_dir(name) / GENERATED_DIR_STAMP).unlink()

    host.write_config(MINIMAL)
    # A configured one gets its stamp back ...
    assert host.run("env", "render").exit_code == 0
    assert (host.paths.env_dir("singleuser") / GENERATED_DIR_STAMP).is_file()
    # ... and an unconfigured one is removed as stale, as before.
    assert not host.paths.env_dir("old").exists()


def test_an_unstamped_directory_with_an_admins_file_is_not_adopted(host: JuiceHost) -> None:
    host.write_config(WITH_OLD)
    assert host.run("env", "render").exit_code == 0
    old = host.paths.env_dir("old")
    (old / GENERATED_DIR_STAMP).unlink()
    (old / "notes.txt").write_text("mine\n")
    host.write_config(MINIMAL)

    result = host.run("env", "render")

    assert result.exit_code == 0
    assert (old / "notes.txt").read_text() == "mine\n"
    assert (old / "Containerfile").is_file()
    assert result.stderr == ""


def test_a_configured_environment_whose_directory_is_not_juices_is_refused(
    host: JuiceHost, tmp_path: Path
) -> None:
    host.write_config(MINIMAL + "[services.a]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    host.paths.envs_dir.mkdir(parents=True)
    host.paths.env_dir("a").symlink_to(elsewhere)

    result = host.run("env", "render")

    assert result.exit_code == 1
    assert result.stderr.startswith(f"juice: {host.paths.env_dir('a')}: is a symbolic link")
    assert result.stderr.count("\n") == 1
    assert list(elsewhere.iterdir()) == []
    assert host.generated() == [host.paths.env_dir("a")], "nothing written, also elsewhere"


def systemctl(host: JuiceHost, *args: str) -> subprocess.CompletedProcess[str]:
    """The real systemctl, offline on the host tree (``--root``): no running systemd."""
    return subprocess.run(
        ["systemctl", f"--root={host.root}", *args], capture_output=True, text=True, check=False
    )


def test_a_masked_unit_stays_masked_and_its_environment_is_not_built(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    host.write_config(MINIMAL + "[services.a]\n")
    host.paths.unit_dir.mkdir(parents=True)
    assert systemctl(host, "mask", "juice-a-build.service").returncode == 0
    masked = host.paths.unit_dir / "juice-a-build.service"

    result = host.run("env", "build", "--all", "--mode", "direct", "--progress", "plain")

    assert result.exit_code == 0, result.output
    assert systemctl(host, "is-enabled", "juice-a-build.service").stdout == "masked\n"
    assert f"left alone {masked}: masked" in result.output
    assert "environment a is skipped, not built" in result.output
    built = [call[-1] for call in calls(fake_podman) if call[0] == "build"]
    assert built == [str(host.paths.env_dir("singleuser"))]


def test_a_masked_unit_of_a_removed_environment_is_not_removed(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    host.paths.unit_dir.mkdir(parents=True)
    assert systemctl(host, "mask", "juice-gone-build.service").returncode == 0
    masked = host.paths.unit_dir / "juice-gone-build.service"

    result = host.run("env", "render")

    assert result.exit_code == 0
    assert systemctl(host, "is-enabled", "juice-gone-build.service").stdout == "masked\n"
    assert masked.is_symlink()
    assert result.stderr == "", "not in juice's way: no warning"


def test_an_admins_unit_of_the_same_name_is_not_replaced(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "[services.a]\ncommand = ['true']\n")
    host.paths.unit_dir.mkdir(parents=True)
    admins = host.paths.unit_dir / "juice-a.service"
    admins.write_text("[Service]\nExecStart=/usr/local/bin/my-a\n")

    result = host.run("env", "render")

    assert result.exit_code == 0
    assert admins.read_text() == "[Service]\nExecStart=/usr/local/bin/my-a\n"
    assert f"left alone {admins}: not made by juice; juice does not replace it" in result.stderr


def test_each_warning_is_given_once(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    host.paths.unit_dir.mkdir(parents=True)
    (host.paths.unit_dir / "juice-singleuser-build.service").symlink_to(os.devnull)
    result = host.run("env", "render")
    lines = [line for line in result.stderr.splitlines() if "left alone" in line]
    assert len(lines) == len(set(lines)) == 1


def test_config_validate_names_what_render_would_leave_alone(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "[services.a]\n")
    host.paths.unit_dir.mkdir(parents=True)
    masked = host.paths.unit_dir / "juice-singleuser-build.service"
    masked.symlink_to(os.devnull)
    admins = host.paths.envs_dir / "notes"
    admins.mkdir(parents=True)
    host.paths.env_dir("a").symlink_to(admins)

    result = host.run("config", "validate")

    assert result.exit_code == 1, "the configuration is fine, the host is not"
    assert "configuration is valid" in result.output
    assert f"left alone {masked}: masked" in result.stderr
    assert str(admins) + ":" not in result.stderr, "not in juice's way"
    assert f"render will refuse: {host.paths.env_dir('a')}: is a symbolic link" in result.stderr
    assert host.generated() == [host.paths.env_dir("a"), admins], "validate writes nothing"
