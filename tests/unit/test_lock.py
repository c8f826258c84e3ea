"""One lock from before the configuration is read until the last write (issue 13).

Real processes and the real flock: a render or build that read an older configuration
must never write over the files of a newer one, and a bounded wait gives up cleanly.
"""

from __future__ import annotations

import fcntl
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from juice_host import MINIMAL, JuiceHost
from test_building import fake_podman  # noqa: F401  (fixture)

JUICE = Path(sys.executable).parent / "juice"
OLD = MINIMAL + "[services.a]\n[services.b]\ncommand = ['true']\n"
NEW = MINIMAL + "[services.c]\ncommand = ['true']\n"


@contextmanager
def holding(lock: Path) -> Iterator[None]:
    """Hold juice's lock as another juice process would."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def replace_config(host: JuiceHost, text: str) -> None:
    """Swap the configuration atomically, as an editor saving the file does."""
    staged = host.write_config(text, name="next.toml.tmp")
    staged.replace(host.paths.config_dir / "orchestration.toml")


def juice(host: JuiceHost, *args: str) -> subprocess.Popen[str]:
    """Start juice under the host's root; its stdout and stderr in one pipe."""
    env = {**os.environ, "JUICE_ROOT": str(host.root)}
    return subprocess.Popen(
        [str(JUICE), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def first_line(process: subprocess.Popen[str], timeout: float = 60) -> str:
    """The process's first line of output, without hanging the suite if it never comes."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        raise AssertionError("juice printed nothing while the lock was held") from None


def assert_exactly_rendered_from_new(host: JuiceHost) -> None:
    """The files on the host are those NEW renders: no more, no less, same bytes."""
    names = sorted(p.name for p in host.paths.envs_dir.iterdir() if not p.name.startswith("."))
    assert names == ["c", "singleuser"]
    units = sorted(p.name for p in host.paths.unit_dir.iterdir())
    assert units == ["juice-c-build.service", "juice-c.service", "juice-singleuser-build.service"]
    again = host.run("env", "render")
    assert "0 file(s) changed" in again.output, again.output
    assert "removed" not in again.output


@pytest.mark.parametrize("verb", [["env", "render"], ["env", "build", "--all"]])
def test_a_waiting_process_reads_the_configuration_only_once_it_holds_the_lock(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
    verb: list[str],
) -> None:
    host.write_config(OLD)
    with holding(host.paths.lock_file):
        process = juice(host, *verb, *(["--mode", "direct"] if "build" in verb else []))
        # It announces the wait: from here on it sits in flock.
        assert "waiting for it" in first_line(process)
        replace_config(host, NEW)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert_exactly_rendered_from_new(host)


@pytest.mark.parametrize("verb", [["env", "render"], ["env", "build", "--all", "--mode", "direct"]])
def test_two_processes_started_a_moment_apart_leave_no_mixture(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
    verb: list[str],
) -> None:
    """The outcome the issue names; the test above pins the cause down deterministically."""
    for _ in range(3):
        replace_config(host, OLD)
        assert host.run("env", "render").exit_code == 0
        first = juice(host, *verb)
        replace_config(host, NEW)
        second = juice(host, *verb)
        for process in (first, second):
            out, _ = process.communicate(timeout=60)
            assert process.returncode == 0, out
        # NEW was in place before the second started: whichever wrote last read it.
        assert_exactly_rendered_from_new(host)


@pytest.mark.parametrize("verb", [["env", "render"], ["env", "build", "--all"]])
def test_a_bounded_wait_gives_up_with_one_message_and_writes_nothing(
    host: JuiceHost, verb: list[str]
) -> None:
    host.write_config(MINIMAL)
    before = host.tree()
    with holding(host.paths.lock_file):
        result = host.run(*verb, "--lock-timeout", "0.3")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "waiting for it" in result.output
    last = lines[-1]
    assert last.startswith(f"juice: {host.paths.lock_file}: another juice process still held")
    assert "run the command again" in last
    assert host.tree() == before
    assert host.generated() == []


def test_the_bounded_wait_is_read_from_juice_lock_timeout(host: JuiceHost) -> None:
    """The maintainer scripts set JUICE_LOCK_TIMEOUT; its name is an interface."""
    host.write_config(MINIMAL)
    with holding(host.paths.lock_file):
        result = host.run("env", "render", env={"JUICE_LOCK_TIMEOUT": "0.2"})
    assert result.exit_code == 1
    assert "after 0.2s" in result.stderr


def test_without_a_bound_juice_waits_until_the_lock_is_free(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    with holding(host.paths.lock_file):
        process = juice(host, "env", "render")
        assert "waiting for it" in first_line(process)
        assert process.poll() is None, "still waiting"
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert "rendered 1 environment(s)" in out
