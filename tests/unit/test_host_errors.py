"""Host problems against real filesystems (issue 13).

A full disk (tmpfs with a size limit), a read-only bind mount, a non-root user, a file
where a directory should be: each ends in one message naming the path and the reason,
exit status 1, no traceback, and the previous generated files intact (render applies
all or nothing). Needs root for mount(8), as the suite runs in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from juice_host import MINIMAL, JuiceHost

JUICE = Path(sys.executable).parent / "juice"
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
SERVICES = MINIMAL + "[services.a]\ncommand = ['true']\n"
# About 300 kB of Containerfile: more than the small disk below holds.
_PADDING = "x" * 90
BIG = SERVICES.replace(
    "[services.a]",
    "dependencies = ['numpy>=2']\n"  # pyproject.toml changes too, and is written first
    "extra_dockerfile_lines = ["
    + ", ".join(f"'RUN true # {i:05} {_PADDING}'" for i in range(3000))
    + "]\n[services.a]",
)


@contextmanager
def mounted(*args: str, target: Path) -> Iterator[Path]:
    """mount(8) something on `target` for the duration; always unmounted after."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", *args, str(target)], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


@contextmanager
def read_only(directory: Path) -> Iterator[Path]:
    """A read-only bind mount of `directory` on itself."""
    with mounted("--bind", str(directory), target=directory):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(directory)], check=True)
        yield directory


def assert_one_message(result_stderr: str, path: Path, reason: str) -> None:
    lines = result_stderr.splitlines()
    assert lines, "no message"
    assert "Traceback" not in result_stderr
    errors = [line for line in lines if not line.startswith("juice: warning")]
    assert errors[-1].startswith(f"juice: {path}"), result_stderr
    assert reason in errors[-1], result_stderr
    assert len([line for line in errors if "waiting" not in line]) == 1, result_stderr


def leftovers(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.tmp"))


def test_a_full_disk_keeps_the_previous_files(host: JuiceHost) -> None:
    host.write_config(SERVICES)
    with mounted("-t", "tmpfs", "-o", "size=128k", "tmpfs", target=host.paths.envs_dir):
        assert host.run("env", "render").exit_code == 0
        before = host.tree()
        host.write_config(BIG)

        result = host.run("env", "render")

        assert result.exit_code == 1
        assert_one_message(result.stderr, host.paths.envs_dir, "No space left on device")
        config = str(host.paths.config_dir.relative_to(host.root))
        after = {k: v for k, v in host.tree().items() if not k.startswith(config)}
        assert after == {k: v for k, v in before.items() if not k.startswith(config)}
        assert leftovers(host.root) == []


def test_a_read_only_generated_tree_is_one_message(host: JuiceHost) -> None:
    host.write_config(SERVICES)
    assert host.run("env", "render").exit_code == 0
    host.write_config(SERVICES.replace("true", "false"))
    before = host.tree()
    with read_only(host.paths.envs_dir):
        result = host.run("env", "render")
    assert result.exit_code == 1
    assert_one_message(result.stderr, host.paths.lock_file, "Read-only file system")
    assert host.tree() == before


def test_a_read_only_unit_directory_rolls_back_the_environment_files(host: JuiceHost) -> None:
    """The lock and the environment files can be written; the units cannot."""
    host.write_config(SERVICES)
    assert host.run("env", "render").exit_code == 0
    host.write_config(SERVICES.replace("bookworm-slim", "trixie-slim"))
    before = host.tree()
    with read_only(host.paths.unit_dir):
        result = host.run("env", "build", "--all", "--mode", "direct")
    assert result.exit_code == 1
    assert_one_message(result.stderr, host.paths.unit_dir, "Read-only file system")
    assert host.tree() == before, "the new Containerfiles were not left in place"
    assert leftovers(host.root) == []


def test_a_non_root_user_without_root_option_is_told_why(tmp_path: Path) -> None:
    """As a lab user who runs `juice env render` by mistake: the real /var/juice."""
    config = Path(tempfile.mkdtemp(prefix="juice-config-"))
    try:
        config.chmod(0o755)
        (config / "orchestration.toml").write_text(MINIMAL)
        (config / "orchestration.toml").chmod(0o644)
        env = {**os.environ, "JUICE_CONFIG_DIR": str(config), "HOME": "/nonexistent"}
        env.pop("JUICE_ROOT", None)
        result = subprocess.run(
            [*AS_NOBODY, str(JUICE), "env", "render"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        for path in sorted(config.rglob("*"), reverse=True):
            path.unlink()
        config.rmdir()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("juice: /var/juice")
    assert "Permission denied (run as root, or move every path with --root DIR)" in result.stderr


def test_a_file_where_the_unit_directory_should_be(host: JuiceHost) -> None:
    host.write_config(SERVICES)
    host.paths.unit_dir.parent.mkdir(parents=True)
    host.paths.unit_dir.write_text("not a directory\n")
    result = host.run("env", "render")
    assert result.exit_code == 1
    reason = "is not a directory, where juice needs one"
    assert_one_message(result.stderr, host.paths.unit_dir, reason)
    assert host.generated() == [], "the environment files went again"


def test_a_file_where_an_environment_directory_should_be(host: JuiceHost) -> None:
    host.write_config(SERVICES)
    host.paths.envs_dir.mkdir(parents=True)
    (host.paths.envs_dir / "a").write_text("an administrator's file\n")
    result = host.run("env", "render")
    assert result.exit_code == 1
    assert_one_message(result.stderr, host.paths.env_dir("a"), "is not a directory")
    assert (host.paths.envs_dir / "a").read_text() == "an administrator's file\n"
    assert host.generated() == [host.paths.envs_dir / "a"]


def test_a_file_where_the_generated_tree_should_be(host: JuiceHost) -> None:
    host.write_config(SERVICES)
    host.paths.envs_dir.parent.mkdir(parents=True)
    host.paths.envs_dir.write_text("")
    result = host.run("env", "render")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"juice: {host.paths.envs_dir}")
    assert len(result.stderr.splitlines()) == 1


def test_a_directory_where_a_generated_file_should_be(host: JuiceHost) -> None:
    host.write_config(SERVICES)
    assert host.run("env", "render").exit_code == 0
    (host.paths.env_dir("a") / "Containerfile").unlink()
    (host.paths.env_dir("a") / "Containerfile").mkdir()
    host.write_config(SERVICES.replace("true", "false"))
    before = host.tree()
    result = host.run("env", "render")
    assert result.exit_code == 1
    assert_one_message(result.stderr, host.paths.env_dir("a") / "Containerfile", "is a directory")
    assert host.tree() == before


def test_a_read_only_unit_file_in_a_writable_directory_is_replaced(host: JuiceHost) -> None:
    """Mode bits of a generated file do not stop root: rename replaces it, no error."""
    host.write_config(SERVICES)
    assert host.run("env", "render").exit_code == 0
    unit = host.paths.unit_dir / "juice-a.service"
    unit.chmod(0o444)
    host.write_config(SERVICES.replace("true", "false"))
    assert host.run("env", "render").exit_code == 0
    assert "false" in unit.read_text()
    assert unit.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("verb", [["env", "render"], ["env", "build", "--all"]])
def test_a_directory_where_the_lock_file_should_be(host: JuiceHost, verb: list[str]) -> None:
    host.write_config(SERVICES)
    host.paths.lock_file.mkdir(parents=True)
    result = host.run(*verb)
    assert result.exit_code == 1
    assert_one_message(result.stderr, host.paths.lock_file, "Is a directory")
    assert host.generated() == []


def test_a_symlink_where_the_lock_file_should_be_is_not_followed(
    host: JuiceHost, tmp_path: Path
) -> None:
    host.write_config(SERVICES)
    target = tmp_path / "not-juices"
    host.paths.envs_dir.mkdir(parents=True)
    host.paths.lock_file.symlink_to(target)
    result = host.run("env", "render")
    assert result.exit_code == 1
    assert_one_message(result.stderr, host.paths.lock_file, "a symbolic link where juice keeps")
    assert not target.exists()
