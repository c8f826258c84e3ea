"""The booted-host harness itself: systemd units, journald, podman builds, HTTP, cleanup.

One boot checks everything (boots are the expensive part), ending with a deliberate
failure to prove the journal is kept and the host torn down when a test fails.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import REPORTS_DIR
from support.http import serve_directory
from support.nspawn import BootedHost, BootedHostError
from support.podman import BASE_IMAGE

pytestmark = pytest.mark.system


class _Sentinel(Exception):
    """Raised on purpose at the end of the booted block."""


def test_booted_host_runs_units_builds_images_and_cleans_up(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "hello.txt").write_text("served-from-the-test-machine\n")
    context = tmp_path / "context"
    context.mkdir()
    (context / "Containerfile").write_text(
        f"FROM {BASE_IMAGE}\nRUN python3 -c 'print(6 * 7)' > /answer\n"
    )

    host = BootedHost("juice-harness")
    with pytest.raises(_Sentinel), serve_directory(served) as url, host:
        assert host.run(["systemctl", "is-system-running"], check=False).stdout.strip() in (
            "running",
            "degraded",
        )
        host.run(["systemd-run", "--wait", "--quiet", "true"])
        failed = host.run(["systemd-run", "--wait", "--quiet", "false"], check=False)
        assert failed.returncode != 0, "a failing unit must be reported as failing"

        host.run(["systemd-run", "--wait", "--quiet", "-u", "harness-echo", "echo", "marker-1f3a"])
        assert "marker-1f3a" in host.journal("-u", "harness-echo")

        host.copy_in(served / "hello.txt", "/var/lib/copied/hello.txt")
        assert host.read_file("/var/lib/copied/hello.txt") == "served-from-the-test-machine\n"

        # A real transient unit runs the build, as the generated build units will.
        host.copy_in(context, "/srv/context")
        build = host.run(
            "systemd-run --wait --quiet -u harness-build "
            "podman build -t localhost/harness:1 /srv/context",
            check=False,
        )
        assert build.returncode == 0, host.journal("-u", "harness-build")
        answer = host.run(["podman", "run", "--rm", "localhost/harness:1", "cat", "/answer"])
        assert answer.stdout.strip() == "42"

        # Same network namespace: the booted host reaches a server on 127.0.0.1.
        fetched = host.run(
            [
                "python3",
                "-c",
                f"import urllib.request as u; print(u.urlopen('{url}/hello.txt').read().decode())",
            ]
        )
        assert "served-from-the-test-machine" in fetched.stdout

        root = host.root
        nspawn = host._nspawn
        raise _Sentinel

    assert nspawn is not None and nspawn.poll() is not None, "nspawn still running"
    assert not root.exists(), "booted root not removed"
    journals = sorted(
        REPORTS_DIR.glob("juice-harness-*.journal.txt"), key=lambda p: p.stat().st_mtime
    )
    assert journals and "marker-1f3a" in journals[-1].read_text()
    # This failure was deliberate: keep the reports directory for real ones.
    journals[-1].unlink()


def test_boot_failure_reports_the_console(tmp_path: Path) -> None:
    host = BootedHost("juice-noboot", boot_timeout=0.0)
    with pytest.raises(BootedHostError, match=r"not up after 0 s .*\n--- console ---"), host:
        pass
    assert host._nspawn is None
    assert subprocess.run(["pgrep", "-f", "juice-noboot"], check=False).returncode == 1
