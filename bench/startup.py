"""Start-up time of `juice --version` and `juice env status`, as the package installs it.

Run as root from the repository:

    .cache/dev-venv/bin/python bench/startup.py

A venv on the system Python (/usr/bin/python3, made as the package makes its own) with this
checkout installed and byte-compiled; a root with a default environment and two
services; podman answering from an empty private store. Median of 30 runs each.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.podman import CONTAINERS_CONF, storage_conf_text  # noqa: E402

RUNS = 30
CONFIG = """[environments.default]
type = "uv"
base_image = "docker.io/library/debian:bookworm-slim"
dependencies = ["numpy"]
[services.a]
[services.b]
"""


def median_seconds(argv: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.monotonic()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="juice-bench-startup-"))
    try:
        venv = work / "venv"
        # As the package makes its venv: no pip or setuptools (whose .pth file every
        # start would read), filled by uv.
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
        uv = Path(sys.executable).parent / "uv"
        subprocess.run([str(uv), "pip", "install", "-q", "--python", str(venv / "bin/python"),
                        str(REPO)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        subprocess.run([str(venv / "bin/python"), "-m", "compileall", "-q", str(venv / "lib")],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        root = work / "root"
        (root / "etc/juice/config").mkdir(parents=True)
        (root / "etc/juice/config/orchestration.toml").write_text(CONFIG)
        store = work / "store"
        store.mkdir()
        # Not a PrivateStore: its logging podman wrapper would add to every figure.
        (store / "storage.conf").write_text(storage_conf_text(store))
        env = {**os.environ, "CONTAINERS_CONF": CONTAINERS_CONF,
               "CONTAINERS_STORAGE_CONF": str(store / "storage.conf")}  # fmt: skip
        juice = str(venv / "bin/juice")
        rows = [
            ("/usr/bin/python3 -c pass", ["/usr/bin/python3", "-c", "pass"]),
            ("juice --version", [juice, "--root", str(root), "--version"]),
            ("juice env status", [juice, "--root", str(root), "env", "status"]),
            ("podman images (inside env status)", ["podman", "images", "--format", "json"]),
        ]
        print(f"{'command':36} {'median ms':>9}")
        for label, argv in rows:
            print(f"{label:36} {median_seconds(argv, env) * 1000:9.0f}")
        print("command: .cache/dev-venv/bin/python bench/startup.py")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
