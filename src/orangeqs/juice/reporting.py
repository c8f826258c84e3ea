"""Progress and results of builds, for a person at a terminal or a log (journal, apt)."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from orangeqs.juice.host.images import UNNAMED, ImageRecord
from orangeqs.juice.orchestration.building import BuildReport, BuildResult, Mode, Outcome
from orangeqs.juice.orchestration.locking import LockOutcome, LockResult


def lock_lines(result: LockResult) -> list[str]:
    """What happened to one lock, then one line per changed package."""
    where = f"{result.name}: lock {result.outcome.value}"
    if result.outcome is LockOutcome.FAILED:
        head, *rest = result.detail.splitlines() or [""]
        return [f"{where} ({result.lock}): {head}", *(f"    {line}" for line in rest)]
    if result.detail:
        where += f": {result.detail}"
    return [f"{where} ({result.lock})", *(f"    {line}" for line in result.diff().lines())]


def removed_image_line(image: ImageRecord) -> str:
    """What gc removed, in words: an environment's superseded image, or juice's image
    that no environment named any more."""
    which = f"core {image.core_version or 'unknown'}, {image.image_id[:12]}"
    if image.environment == UNNAMED:
        return f"removed an unnamed image juice built ({which})"
    return f"removed a superseded image of {image.environment} ({which})"


class ConsoleReporter:
    """One line per event (readable in apt's output and the journal); a live spinner
    with the builds under way when writing to a terminal."""

    def __init__(self, console: Console, live: bool = False) -> None:
        self._console = console
        self._live = live
        self._lock = threading.Lock()
        self._running: list[str] = []
        self._done = 0
        self._total = 0
        self._status: Status | None = None

    def mode(self, mode: Mode, reason: str) -> None:
        how = "systemd build units" if mode is Mode.SYSTEMD else "podman directly"
        self._console.print(f"juice: building with {how} ({mode.value} mode: {reason})")

    def waiting_for_lock(self, lock: Path) -> None:
        self._console.print(f"juice: another juice process holds {lock}; waiting for it")

    def removed(self, path: str) -> None:
        self._console.print(f"juice: removed {path} (its environment is no longer configured)")

    def left_alone(self, path: str, why: str) -> None:
        self._console.print(f"juice: warning: left alone {path}: {why}", markup=False)

    def planned(self, names: list[str], skipped: list[BuildResult]) -> None:
        self._total = len(names)
        for result in skipped:
            if result.outcome is Outcome.FAILED:
                continue  # a lock that cannot be used: reported by locked() and at the end
            if result.outcome is Outcome.REUSED:
                self._console.print(
                    f"juice: {result.name}: reused {result.image} (its image exists: no build)"
                )
            elif result.outcome is Outcome.UP_TO_DATE:
                self._console.print(f"juice: {result.name}: up to date ({result.image})")
        if not names:
            self._console.print("juice: nothing to build")
        elif self._live:
            self._status = self._console.status("")
            self._status.start()

    def started(self, name: str) -> None:
        with self._lock:
            self._running.append(name)
            self._console.print(f"juice: building {name} ...")
            self._refresh()

    def finished(self, result: BuildResult) -> None:
        with self._lock:
            self._running.remove(result.name)
            self._done += 1
            if result.succeeded:
                shared = f" ({escape(result.detail)})" if result.detail else ""
                self._console.print(
                    f"juice: [green]built[/green] {result.name} in {result.seconds:.0f}s"
                    f"{shared}; log: {result.log}"
                )
            else:
                self._console.print(
                    f"juice: [red]FAILED[/red] {result.name} after {result.seconds:.0f}s; "
                    f"log: {result.log}"
                )
            self._refresh()
            if self._done == self._total and self._status:
                self._status.stop()

    def removed_image(self, image: ImageRecord) -> None:
        with self._lock:
            self._console.print(f"juice: {removed_image_line(image)}", markup=False)

    def pulling(self, name: str, reference: str) -> None:
        self._console.print(f"juice: pulling {name} from {reference} ...", markup=False)

    def pulled(self, result: BuildResult) -> None:
        if result.succeeded:
            self._console.print(
                f"juice: [green]pulled[/green] {result.name} in {result.seconds:.0f}s "
                f"({result.pulled_from}; no build)"
            )
        else:
            self._console.print(f"juice: [red]FAILED[/red] {result.name}: not pulled")

    def not_pulled(self, name: str, reason: str, building: bool) -> None:
        then = "building it here" if building else "not building it ([images] source = pull)"
        self._console.print(f"juice: {name}: could not pull {reason}; {then}", markup=False)

    def locked(self, result: LockResult) -> None:
        with self._lock:
            for line in lock_lines(result):
                self._console.print(f"juice: {line}", markup=False)

    def _refresh(self) -> None:
        if self._status:
            running = ", ".join(self._running)
            self._status.update(f"[{self._done}/{self._total}] building {running}")


def summarize(report: BuildReport, console: Console) -> bool:
    """Print the per-environment outcome; True when every build succeeded."""
    results = [result for result in report.results if result.outcome in _BUILDS]
    failed = [result for result in results if not result.succeeded]
    if not results:
        return True
    built = len(results) - len(failed)
    pulls = any(result.pulled_from for result in results)
    builds = any(not result.pulled_from for result in results)
    verb = " or ".join(word for word, flag in (("built", builds), ("pulled", pulls)) if flag)
    console.print(f"juice: {built} of {len(results)} environment image(s) {verb}")
    if report.hint:
        console.print(f"juice: hint: {report.hint}", markup=False)
    for result in failed:
        # The detail may quote uv, whose "[tool.uv]" is no markup.
        detail = escape(result.detail or "build failed")
        console.print(f"  [red]✗[/red] {result.name}: {detail}")
        if result.log:  # none when it failed before a build (its lock, its pull)
            console.print(f"      log:   {result.log}")
        console.print(f"      retry: {result.retry}")
    if failed:
        _explain_missing(report, [result.name for result in failed], console)
    return not failed


_BUILDS = (Outcome.BUILT, Outcome.PULLED, Outcome.FAILED)


def _explain_missing(report: BuildReport, names: list[str], console: Console) -> None:
    """A failed upgrade: which environments lack the new version's image, and the ways out."""
    version = report.core_version
    console.print(
        f"juice: no image for orangeqs-juice-core {version}: {', '.join(names)}; "
        "their services cannot start on this version."
    )
    for name in names:
        kept = report.fallbacks.get(name)
        if kept:
            console.print(f"      {name} still has its image of core {kept}")
    console.print(
        "juice: two ways out: fix the cause and run 'juice env build'; or install the "
        "previous orangeqs-juice package again: its images are kept, so no rebuild is needed."
    )
