"""A skipped test fails the run unless its reason is on the allow-list below.

CI must run every test: a test that skips because something is missing on the machine
(systemd-analyze, a tool, root) would otherwise pass unnoticed. To allow a skip, add
its exact reason to ALLOWED_SKIP_REASONS with a comment saying why it is harmless
(README.md, "Tests", points here). tests/conftest.py registers the policy.
"""

from __future__ import annotations

import pytest

# The one allow-list: exact skip reasons that do not fail the run. Empty: none may.
ALLOWED_SKIP_REASONS: tuple[str, ...] = ()


def skip_reason(report: pytest.TestReport) -> str:
    """The reason pytest recorded for a skipped report."""
    if isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    return str(report.longrepr)


class SkipPolicy:
    """pytest hooks: collect disallowed skips, fail the session, list them at the end."""

    def __init__(self, allowed: tuple[str, ...] = ALLOWED_SKIP_REASONS) -> None:
        self.allowed = allowed
        self.refused: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # An xfail is reported as skipped too, but it is the test's own decision.
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = skip_reason(report)
            if reason not in self.allowed:
                self.refused.append((report.nodeid, reason))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.refused and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.refused:
            return
        terminalreporter.section("skipped tests fail this run", sep="=", red=True)
        for nodeid, reason in self.refused:
            terminalreporter.line(f"{nodeid}: {reason}")
        terminalreporter.line(
            "fix the cause, or allow the reason in tests/support/skip_policy.py "
            "(ALLOWED_SKIP_REASONS)"
        )


def register(config: pytest.Config) -> None:
    """Install the policy for this session (called from tests/conftest.py)."""
    config.pluginmanager.register(SkipPolicy(), "juice-skip-policy")
