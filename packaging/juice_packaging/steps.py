"""Step-by-step progress: every step announces itself, and a failing one says which and why."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


class StepFailed(Exception):
    """A step of the build failed; the message says why."""


class Progress:
    """Numbered steps on stdout; the failing step's name and reason on stderr."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.number = 0

    @contextmanager
    def step(self, name: str, what: str) -> Iterator[None]:
        """Run the body as step `name`; turn any error into a StepFailed naming it."""
        self.number += 1
        print(f"==> [{self.number}/{self.total}] {name}: {what}", flush=True)
        started = time.monotonic()
        try:
            yield
        except StepFailed as exc:
            raise StepFailed(f'step "{name}" failed: {exc}') from exc
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise StepFailed(f'step "{name}" failed: {type(exc).__name__}: {exc}') from exc
        print(f"    done in {time.monotonic() - started:.1f}s", flush=True)


def run(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
    clean_env: bool = False,
) -> str:
    """Run a command; on failure raise StepFailed with the command and its output's tail.

    Output is captured (and shown only on failure) unless the command's own progress is
    worth seeing; `capture=True` returns stdout. `clean_env=True`: only `env`, none of
    this process's environment (commands in a build root).
    """
    words = [str(arg) for arg in argv]
    full_env = {**({} if clean_env else os.environ), **(env or {})}
    result = subprocess.run(
        words,
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stdout.strip().splitlines()[-25:])
        raise StepFailed(f"`{' '.join(words)}` exited {result.returncode}:\n{tail}")
    return result.stdout if capture else ""


def fail(message: str) -> None:
    """Print a failure for the person running the build and exit non-zero."""
    print(f"build-packages: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)
