"""System tests: the journal of a failed test's booted host goes to the report.

The suite's hook (tests/conftest.py) does that for the function-scoped `booted_host`
fixture; the end-to-end modules share one host per module under other fixture names
(any fixture value that is, or holds as `.host`, a running BootedHost).
"""

from __future__ import annotations

from collections.abc import Generator

import pytest
from support.nspawn import BootedHost


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if not (report.failed and report.when == "call"):
        return report
    for name, value in getattr(item, "funcargs", {}).items():
        host = getattr(value, "host", value)
        if name != "booted_host" and isinstance(host, BootedHost) and host.is_running():
            path = host.save_journal(item.nodeid)
            report.sections.append(("booted host journal", f"saved to {path}"))
    return report
