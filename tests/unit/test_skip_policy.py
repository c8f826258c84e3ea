"""The suite's skip policy (tests/support/skip_policy.py), run on a throwaway test file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]


def run_pytest(tmp_path: Path, allowed: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(TESTS_DIR)!r})
            from support.skip_policy import SkipPolicy

            def pytest_configure(config):
                config.pluginmanager.register(SkipPolicy(allowed={allowed!r}), "policy")
            """
        )
    )
    (tmp_path / "test_sample.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_runs():
                pass

            @pytest.mark.skip(reason="systemd-analyze is needed")
            def test_skips():
                pass

            @pytest.mark.xfail(reason="a known failure", strict=True)
            def test_known_failure():
                assert False
            """
        )
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )


def test_a_skip_fails_the_run_and_is_named(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, allowed=())
    assert result.returncode == 1, result.stdout
    assert "skipped tests fail this run" in result.stdout
    assert "test_sample.py::test_skips: systemd-analyze is needed" in result.stdout


def test_an_allowed_reason_does_not_fail_the_run(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, allowed=("systemd-analyze is needed",))
    assert result.returncode == 0, result.stdout
    assert "fail this run" not in result.stdout
