"""Benchmark of environment image builds: cold, no-change, core upgrade and downgrade.

Run as root from the repository (after scripts/setup-host and scripts/dev-env):

    .cache/dev-venv/bin/python bench/rebuild.py [--environments N] [--rounds R]

N environments of one configuration (numpy, the base image's Python), built by
`juice env build --all` with real podman in direct mode, in a private root and private
podman stores (each "cold" row starts from an empty store and an empty uv cache). A
podman wrapper on PATH counts `podman build` calls. Each round runs every case in fresh
stores; the table has the median of R rounds (default 3: one round's figures vary by a
third on a shared 2-core machine). Rows:

- cold, 1 environment / cold, N environments (goal: ratio <= 1.3);
- no change: the same build again (goal: no podman build, <= 0.05 of cold N);
- core upgrade: a new core wheel (v2; goal: only the core layer, <= 0.25);
- downgrade: v1 again (goal: no podman build, <= 0.05);
- reference: the no-change case built as OrangeQS Juice does it today, with a time
  stamp in each rendered pyproject.toml (the same podman build commands, run directly).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.core_versions import build_wheel, checkout_as_version  # noqa: E402
from support.podman import (  # noqa: E402
    BASE_IMAGE,
    BUILD_SETTINGS,
    PrivateStore,
    ensure_base_image,
    private_store,
)

V2 = "99.0.0"
JUICE = Path(sys.executable).parent / "juice"


@dataclass(frozen=True)
class Row:
    case: str
    seconds: float
    builds: int
    goal: str


class Bench:
    """A private juice root and podman store; juice v1 (this checkout) and v2."""

    def __init__(self, work: Path, name: str, environments: int, v2_src: Path) -> None:
        self.root = work / name / "root"
        self.v2_src = v2_src
        # A TMPDIR of its own: every cold row pays the downloads.
        self.store: PrivateStore = private_store(work / name, BASE_IMAGE, own_tmpdir=True)
        config = self.root / "etc/juice/config/orchestration.toml"
        config.parent.mkdir(parents=True)
        config.write_text(
            '[environments.default]\ntype = "uv"\n'
            f'base_image = "{BASE_IMAGE}"\npython_source = "system"\n'
            'dependencies = ["numpy"]\n[environments.default.build]\n'
            + BUILD_SETTINGS
            + "".join(f"\n[services.s{index}]\n" for index in range(1, environments))
        )
        (self.root / "opt/orangeqs/juice/dist").mkdir(parents=True)

    def add_wheel(self, wheel: Path) -> None:
        shutil.copy(wheel, self.root / "opt/orangeqs/juice/dist")

    def builds(self) -> int:
        # Image builds only: juice's lock steps build Containerfile.lock.
        calls = self.store.calls()
        return sum(
            1 for call in calls if call.startswith("build ") and "Containerfile.lock" not in call
        )

    def juice_build(self, version: str = "v1") -> tuple[float, int]:
        command = [str(JUICE)]
        env = self.store.env
        if version == "v2":
            command = [sys.executable, "-m", "orangeqs.juice.cli"]
            env = {**env, "PYTHONPATH": str(self.v2_src)}
        before = self.builds()
        started = time.monotonic()
        result = subprocess.run([*command, "--root", str(self.root), "env", "build", "--all"],
                                env=env, capture_output=True, text=True, check=False)  # fmt: skip
        seconds = time.monotonic() - started
        if result.returncode != 0:
            raise SystemExit(f"juice env build failed:\n{result.stdout}\n{result.stderr}")
        return seconds, self.builds() - before

    def timestamped_rebuild(self) -> tuple[float, int]:
        """As OrangeQS Juice: a time stamp in each pyproject.toml, then podman build."""
        commands = []
        # The build units hold the command for the files rendered now.
        for unit in sorted((self.root / "etc/systemd/system").glob("juice-*-build.service")):
            exec_start = next(
                line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")
            )
            argv = shlex.split(exec_start.removeprefix("ExecStart="))
            context = Path(argv[-1])
            for name in ("pyproject.toml", "third-party.pyproject.toml"):
                path = context / name
                path.write_text(path.read_text() + f"# rendered at {time.time()}\n")
            commands.append(argv)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=2) as pool:  # juice's default --jobs
            for result in pool.map(self._run, commands):
                if result.returncode != 0:
                    raise SystemExit(f"podman build failed:\n{result.stdout}\n{result.stderr}")
        return time.monotonic() - started, len(commands)

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=self.store.env, capture_output=True, text=True, check=False)


def build_wheels(work: Path) -> tuple[Path, Path, Path]:
    """The core wheel of this checkout (v1), and of a copy with version V2."""
    v2 = checkout_as_version(work / "core-v2", V2)
    # The package byte-compiles its venv: v2 runs from compiled sources too.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(v2 / "src")], check=True,
                   capture_output=True)  # fmt: skip
    wheel_v1 = build_wheel(REPO, work / "wheel-v1")
    wheel_v2 = build_wheel(v2, work / "wheel-v2")
    return wheel_v1, wheel_v2, v2 / "src"


def one_round(work: Path, n: int, wheels: tuple[Path, Path, Path], benches: list[Bench]) -> Round:
    """Every case once, in fresh roots and podman stores under `work`."""
    wheel_v1, wheel_v2, v2_src = wheels
    one = Bench(work, "one", 1, v2_src)
    benches.append(one)
    one.add_wheel(wheel_v1)
    cold_one = one.juice_build()
    lab = Bench(work, "lab", n, v2_src)
    benches.append(lab)
    for wheel in (wheel_v1, wheel_v2):
        lab.add_wheel(wheel)
    cold = lab.juice_build()
    return Round(
        cold_one=cold_one,
        cold=cold,
        no_change=lab.juice_build(),
        upgrade=lab.juice_build("v2"),
        downgrade=lab.juice_build(),
        reference=lab.timestamped_rebuild(),
    )


@dataclass(frozen=True)
class Round:
    """(seconds, podman builds) of each case in one round."""

    cold_one: tuple[float, int]
    cold: tuple[float, int]
    no_change: tuple[float, int]
    upgrade: tuple[float, int]
    downgrade: tuple[float, int]
    reference: tuple[float, int]


def median_case(rounds: list[Round], case: str) -> tuple[float, int]:
    """The median seconds of `case` over the rounds, with its (largest) build count."""
    values = [getattr(one, case) for one in rounds]
    return statistics.median(seconds for seconds, _ in values), max(b for _, b in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=3, help="Rounds of every case; the table has medians."
    )
    parser.add_argument("--keep-work", action="store_true", help="Keep the roots and logs.")
    args = parser.parse_args()
    n = args.environments
    ensure_base_image()
    work = Path(tempfile.mkdtemp(prefix="juice-bench-rebuild-"))
    benches: list[Bench] = []
    try:
        wheels = build_wheels(work)
        rounds = []
        for index in range(args.rounds):
            rounds.append(one_round(work / f"round-{index + 1}", n, wheels, benches))
            if not args.keep_work:  # podman's overlay layers need podman to go
                while benches:
                    benches.pop().store.remove()
        cold_one, cold = median_case(rounds, "cold_one"), median_case(rounds, "cold")
        rows = [
            Row("cold, 1 environment", *cold_one, ""),
            Row(f"cold, {n} environments", *cold, "<= 1.3 x cold 1"),
            Row("no change", *median_case(rounds, "no_change"), "no build, <= 0.05"),
            Row("core upgrade v1 -> v2", *median_case(rounds, "upgrade"), "<= 0.25"),
            Row("downgrade v2 -> v1", *median_case(rounds, "downgrade"), "no build, <= 0.05"),
            Row("reference: time stamp in pyproject.toml", *median_case(rounds, "reference"), ""),
        ]
        print(
            f"{n} environments, numpy, the base image's Python; podman {podman_version()}; "
            f"median of {args.rounds} round(s)"
        )
        print(f"{'case':42} {'seconds':>8} {'of cold':>8} {'builds':>7}  goal")
        for row in rows:
            ratio = row.seconds / cold[0]
            print(f"{row.case:42} {row.seconds:8.1f} {ratio:8.2f} {row.builds:7d}  {row.goal}")
        print(f"cold {n} / cold 1: {cold[0] / cold_one[0]:.2f}")
        print(
            "command: .cache/dev-venv/bin/python bench/rebuild.py "
            f"--environments {n} --rounds {args.rounds}"
        )
    finally:
        if args.keep_work:
            print(f"kept: {work}")
        else:
            for bench in benches:
                bench.store.remove()
            shutil.rmtree(work, ignore_errors=True)


def podman_version() -> str:
    result = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=False)
    return result.stdout.split()[-1] if result.returncode == 0 else "unknown"


if __name__ == "__main__":
    main()
