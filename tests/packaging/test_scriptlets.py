"""The maintainer scripts generated from packaging/scriptlets/: the core's constants end up
in them (change the constant, the script changes), and every script is valid POSIX sh
that shellcheck (Debian's) accepts. No package build: these take a second."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import CACHE_DIR, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "packaging"))

from juice_packaging import scriptlets
from juice_packaging.steps import StepFailed

sys.path.insert(0, str(REPO_ROOT / "src"))

from orangeqs.juice.ownership import GENERATED_DIR_STAMP, GENERATED_MARKER
from orangeqs.juice.paths import HostPaths


@pytest.fixture
def staged(tmp_path: Path) -> scriptlets.Staged:
    return scriptlets.stage(tmp_path / "stage", "1.2.3")


def script(staged: scriptlets.Staged, packager: str, name: str) -> str:
    return (getattr(staged, packager) / name).read_text()


def test_every_wrapper_is_rendered_without_placeholders(staged: scriptlets.Staged) -> None:
    names = sorted(f"{p.parent.name}/{p.name}" for p in staged.scripts)
    assert names == [
        "deb/postinst", "deb/postrm", "deb/prerm",
        "rpm/post", "rpm/posttrans", "rpm/postun", "rpm/preun",
    ]  # fmt: skip
    for path in staged.scripts:
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n"), path
        assert "#include" not in text.replace('"#include"', ""), path
        assert "@" not in text, path
        assert path.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize(("packager", "name"), [("deb", "postrm"), ("rpm", "postun")])
def test_purge_uses_the_cores_marker_stamp_and_paths(
    staged: scriptlets.Staged, packager: str, name: str
) -> None:
    text = script(staged, packager, name)
    paths = HostPaths.under()
    assert f"'{GENERATED_MARKER}'*)" in text
    assert f'-f "$entry/{GENERATED_DIR_STAMP}" ]' in text
    assert f"for entry in {paths.envs_dir}/* {paths.envs_dir}/.[!.]*; do" in text
    assert f'[ "$entry" = {paths.lock_file} ]' in text
    assert f"for unit in {paths.unit_dir}/juice-*; do" in text
    assert f"for log in {paths.log_dir}/build-*.log; do" in text
    assert f"purge_remove {paths.run_dir}\n" in text
    # The locks: juice's three files per environment, then the folders only when empty.
    assert f"for lock_dir in {paths.locks_dir}/*; do" in text
    assert "for name in uv.lock pyproject.toml third-party.requirements.txt; do" in text
    assert "previous=previous.\n" in text and 'purge_remove "$lock_dir/$previous$name"' in text
    assert f"for work in {paths.locks_dir}/.*.work; do" in text
    assert f"[ -L {paths.locks_dir} ] || purge_rmdir_if_empty {paths.locks_dir}" in text
    # The journals of the images each environment got, then their folder if empty.
    assert f"for journal in {paths.generations_dir}/*.json; do" in text
    assert f"[ -L {paths.generations_dir} ] || purge_rmdir_if_empty {paths.generations_dir}" in text


@pytest.mark.parametrize(("packager", "name"), [("deb", "postinst"), ("rpm", "posttrans")])
def test_rebuild_waits_a_bounded_time_for_the_lock(
    staged: scriptlets.Staged, packager: str, name: str
) -> None:
    text = script(staged, packager, name)
    assert "JUICE_LOCK_TIMEOUT=${JUICE_LOCK_TIMEOUT:-600}\n    export JUICE_LOCK_TIMEOUT" in text
    assert "/opt/orangeqs/juice/venv/bin/juice env build --all --progress=plain" in text


def test_a_changed_core_constant_changes_the_scripts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = tmp_path / "core"
    shutil.copytree(scriptlets.CORE, core)
    ownership = core / "ownership.py"
    ownership.write_text(
        ownership.read_text()
        .replace(GENERATED_MARKER, "# Made by juice: (a 'quoted' test)")
        .replace(GENERATED_DIR_STAMP, ".stamp-of-the-test")
    )
    paths = core / "paths.py"
    paths.write_text(paths.read_text().replace('"/var/juice/', '"/srv/juice/'))
    monkeypatch.setattr(scriptlets, "CORE", core)
    staged = scriptlets.stage(tmp_path / "stage", "1.2.3")
    for packager, name in (("deb", "postrm"), ("rpm", "postun")):
        text = script(staged, packager, name)
        assert GENERATED_MARKER not in text
        # Shell-quoted: the single quote in the marker cannot end the string early.
        assert "'# Made by juice: (a '\"'\"'quoted'\"'\"' test)'*)" in text
        assert '"$entry/.stamp-of-the-test"' in text
        assert "/srv/juice/envs/*" in text and "/var/juice/" not in text
        assert subprocess.run(["sh", "-n"], input=text, text=True).returncode == 0


def shellcheck() -> str:
    """Debian's shellcheck (scripts/setup-host installs it), else the build's pinned one."""
    for candidate in ("/usr/bin/shellcheck", str(CACHE_DIR / "packaging-tools/bin/shellcheck")):
        if Path(candidate).is_file():
            return candidate
    pytest.fail("no shellcheck: run scripts/setup-host (installs Debian's shellcheck)")


def test_every_script_is_valid_sh_and_shellcheck_clean(staged: scriptlets.Staged) -> None:
    for path in staged.scripts:
        syntax = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
        assert syntax.returncode == 0, f"{path}: {syntax.stderr}"
    result = subprocess.run(
        [shellcheck(), "--shell=sh", *map(str, staged.scripts)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_default_config_names_its_version_and_ships_in_both_places(
    staged: scriptlets.Staged, tmp_path: Path
) -> None:
    root = tmp_path / "stage" / "root"
    deb = root / "usr/share/orangeqs-juice/orchestration.toml"
    rpm = root / "etc/juice/config/orchestration.toml"
    assert deb.read_text() == rpm.read_text()
    text = deb.read_text()
    assert text.startswith("# The default configuration of orangeqs-juice 1.2.3.\n")
    assert "orchestration.toml.rpmnew" in text.split("\n\n")[0]
    assert text.endswith((REPO_ROOT / "packaging/config/orchestration.toml").read_text())


def test_a_missing_fragment_or_value_is_refused(tmp_path: Path) -> None:
    wrapper = tmp_path / "postinst.in"
    wrapper.write_text("#!/bin/sh\n#include nothing.sh\n")
    with pytest.raises(StepFailed, match=r"#include nothing.sh: no .*nothing.sh"):
        scriptlets.render(wrapper, {})
    wrapper.write_text("#!/bin/sh\necho @UNKNOWN@ @MARKER@\n")
    with pytest.raises(StepFailed, match="no value for @UNKNOWN@"):
        scriptlets.render(wrapper, {"MARKER": "x"})
