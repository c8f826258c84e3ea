"""Benchmark of uv's link modes in an image build: how uv puts a numpy-sized environment
from its cache (a podman cache mount, as in every environment build) into the image.

Run as root from the repository (after scripts/setup-host and scripts/dev-env):

    .cache/dev-venv/bin/python bench/link_modes.py [--repeat 3] [--packages "numpy scipy"]

For each mode (copy, hardlink, clone), in the suite's private podman store and from its
Debian 12 base image: one build fills the uv cache, then REPEAT rounds of builds (one
per mode, each step made new) install the packages from the warm cache into a fresh
venv, as the third-party layer of an environment image does. Printed per mode, as
medians: uv's own "Installed N packages in T" (the linking itself), the whole build,
the size of the step's layer, and whether uv fell back to copying (it says so when a
link cannot cross file systems, as between the cache mount and the image's layer).
"""

from __future__ import annotations

import argparse
import re
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.podman import (  # noqa: E402
    BUILD_SETTINGS,
    CA_IN_BUILDS,
    HOST_CA_BUNDLE,
    ensure_base_image,
    podman_env,
)

MODES = ("copy", "hardlink", "clone")
UV = Path(sys.executable).parent / "uv"
_INSTALLED = re.compile(r"Installed \d+ packages? in ([\d.]+)(ms|s)")


@dataclass(frozen=True)
class Run:
    install_seconds: float  # uv's own figure for linking the packages into the venv
    build_seconds: float
    layer_bytes: int
    fell_back: bool


def containerfile(base: str, mode: str, packages: str, nonce: str) -> str:
    return (
        f"FROM {base}\n"
        "ARG SSL_CERT_FILE\n"
        f"ENV UV_CACHE_DIR=/var/cache/juice-uv UV_LINK_MODE={mode} UV_COMPILE_BYTECODE=0 \\\n"
        "    UV_PYTHON_PREFERENCE=only-system UV_PYTHON_DOWNLOADS=never\n"
        "RUN --mount=type=cache,target=/var/cache/juice-uv,id=juice-bench-uv "
        f': "{nonce}" && /opt/uv venv --quiet /env/.venv && '
        f"VIRTUAL_ENV=/env/.venv /opt/uv pip install {packages}\n"
    )


def build(base: str, mode: str, packages: str, work: Path) -> Run:
    (work / "Containerfile").write_text(containerfile(base, mode, packages, secrets.token_hex(8)))
    tag = f"localhost/juice-bench-link-{mode}"
    argv = [
        "podman", "build", "--tag", tag, "-v", f"{UV}:/opt/uv:ro",
        "-v", f"{HOST_CA_BUNDLE}:{CA_IN_BUILDS}:ro",
        "--build-arg", f"SSL_CERT_FILE={CA_IN_BUILDS}", str(work),
    ]  # fmt: skip
    start = time.monotonic()
    done = subprocess.run(argv, env=podman_env(), capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"podman build failed:\n{output[-3000:]}")
    match = _INSTALLED.search(output)
    if match is None:
        raise SystemExit(f"no 'Installed N packages in T' from uv:\n{output[-3000:]}")
    install = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
    history = subprocess.run(
        ["podman", "history", "--format", "{{.Size}}", tag],
        env=podman_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    layer = _bytes(history.stdout.splitlines()[0])
    fell_back = "Failed to hardlink" in output or "Failed to clone" in output
    fell_back = fell_back or "falling back" in output.lower()
    return Run(install, seconds, layer, fell_back)


_UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def _bytes(size: str) -> int:
    """podman's human size ("123 MB", SI units) in bytes."""
    number, unit = size.split()
    return int(float(number) * _UNITS[unit])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--packages", default="numpy==2.2.6 scipy==1.15.3")
    args = parser.parse_args()
    assert "SSL_CERT_FILE" in BUILD_SETTINGS  # the builds reach PyPI as the tests' do
    base = ensure_base_image()
    print(f"packages: {args.packages}; {args.repeat} warm runs per mode; medians")
    print(f"{'mode':<9} {'uv install':>11} {'build':>8} {'layer':>9}  fallback")
    with tempfile.TemporaryDirectory(prefix="juice-bench-link-") as folder:
        work = Path(folder)
        for mode in MODES:
            build(base, mode, args.packages, work)  # fills the cache, warms the page cache
        # Round-robin, so that a busy moment of the machine falls on every mode alike.
        runs: dict[str, list[Run]] = {mode: [] for mode in MODES}
        for _ in range(args.repeat):
            for mode in MODES:
                runs[mode].append(build(base, mode, args.packages, work))
        for mode in MODES:
            install = statistics.median(run.install_seconds for run in runs[mode])
            whole = statistics.median(run.build_seconds for run in runs[mode])
            layer = statistics.median(run.layer_bytes for run in runs[mode])
            fell_back = "yes" if any(run.fell_back for run in runs[mode]) else "no"
            print(f"{mode:<9} {install:>10.2f}s {whole:>7.1f}s {layer / 1e6:>7.0f}MB  {fell_back}")
            subprocess.run(
                ["podman", "rmi", f"localhost/juice-bench-link-{mode}"],
                env=podman_env(), capture_output=True, check=False,
            )  # fmt: skip
    command = [".cache/dev-venv/bin/python", "bench/link_modes.py", *sys.argv[1:]]
    print(f"reproduce: {shlex.join(command)}")


if __name__ == "__main__":
    main()
