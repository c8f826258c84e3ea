"""Host problems are named as such (exit 1), nothing half-made (issue 13, review).

Real file systems: read-only bind mounts (mount(8), as root), a non-root user
(setpriv), and the real systemd-analyze.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from juice_host import MINIMAL, JuiceHost
from test_host_errors import AS_NOBODY, JUICE, read_only

from orangeqs.juice.paths import HostPaths

SERVICES = MINIMAL + "[services.a]\ncommand = ['true']\n"


@pytest.fixture
def public_host() -> Iterator[JuiceHost]:
    """A host tree a non-root user can reach (/tmp/pytest-of-root is 0700)."""
    top = Path(tempfile.mkdtemp(prefix="juice-host-"))
    top.chmod(0o755)
    try:
        yield JuiceHost(top, HostPaths.under(top))
    finally:
        shutil.rmtree(top)


def as_nobody(host: JuiceHost, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AS_NOBODY, str(JUICE), "--root", str(host.root), *args],
        env={**os.environ, "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_file_where_the_generated_tree_should_be_is_named_not_a_directory(
    host: JuiceHost,
) -> None:
    host.write_config(SERVICES)
    host.paths.envs_dir.parent.mkdir(parents=True)
    host.paths.envs_dir.write_text("")

    render = host.run("env", "render")
    validate = host.run("config", "validate")

    assert render.exit_code == 1
    assert render.stderr.startswith(f"juice: {host.paths.envs_dir}: is not a directory")
    assert "File exists" not in render.stderr
    assert validate.exit_code == 1, validate.output
    assert f"{host.paths.envs_dir}: is not a directory" in validate.stderr


def test_an_unreadable_config_file_is_a_host_problem(public_host: JuiceHost) -> None:
    config = public_host.write_config(SERVICES)
    config.chmod(0o600)  # root's; the user cannot read it

    result = as_nobody(public_host, "config", "validate")

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(f"juice: {config}: Permission denied"), result.stderr
    assert "invalid configuration" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreadable_drop_in_directory_is_an_error_not_silence(
    public_host: JuiceHost,
) -> None:
    public_host.write_config(SERVICES)
    public_host.write_config("[services.b]\n", "orchestration.d/50-b.toml")
    drop_ins = public_host.paths.config_dir / "orchestration.d"
    drop_ins.chmod(0o700)

    result = as_nobody(public_host, "config", "validate")

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(f"juice: {drop_ins}: Permission denied"), result.stderr
    assert "configuration is valid" not in result.stdout


def test_a_failed_write_removes_the_directories_it_made(host: JuiceHost) -> None:
    host.write_config(SERVICES)
    host.paths.unit_dir.mkdir(parents=True)
    with read_only(host.paths.unit_dir):
        result = host.run("env", "render")
    assert result.exit_code == 1
    assert not host.paths.shared_dir.exists()
    assert not host.paths.run_dir.exists()
    assert not host.paths.run_dir.parent.exists(), "var/run was made by juice too"
    assert host.generated() == []


def test_build_units_under_a_root_with_a_space_and_percent_pass_verify(tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "systemd-analyze is needed: run scripts/setup-host"
    root = tmp_path / "lab root 100%n"
    root.mkdir()
    host = JuiceHost(root, HostPaths.under(root))
    host.write_config(MINIMAL)
    assert host.run("env", "render").exit_code == 0
    host.paths.env_dir("singleuser").mkdir(exist_ok=True)
    unit = host.paths.unit_dir / "juice-singleuser-build.service"

    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    text = unit.read_text()
    assert f"WorkingDirectory={host.paths.env_dir('singleuser')}".replace("%", "%%") in text
    assert "Documentation=file://" in text and "lab%%20root%%20100%%25n" in text


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_lock_timeout_must_be_finite(host: JuiceHost, value: str) -> None:
    host.write_config(MINIMAL)
    option = host.run("env", "render", "--lock-timeout", value)
    variable = host.run("env", "build", env={"JUICE_LOCK_TIMEOUT": value})
    for result in (option, variable):
        assert result.exit_code == 2, result.output
        assert "--lock-timeout" in result.stderr
    assert host.generated() == []
