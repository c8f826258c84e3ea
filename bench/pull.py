"""Benchmark of the install-time image step on a lab host: pull from a registry vs build.

Run as root from the repository (after scripts/setup-host and scripts/dev-env):

    .cache/dev-venv/bin/python bench/pull.py [--environments N]

N environments of one configuration (numpy, the base image's Python). A build host
builds them (`juice env build --all`, from an empty store and uv cache: what a lab host
in `source = "build"` does at install) and pushes them (`juice env push --all`) to a
real docker-registry on 127.0.0.1 (TLS with a test CA). A lab host with an empty store,
the same configuration in `source = "pull"` and the build host's locks then runs the
step the maintainer scripts run, `juice env build --all`: once into an empty store
(every layer, the base image's too, comes from the registry) and once with the base
image already there (as the build had it: only the environments' own layers come from
the registry). Every host has its own podman store and a podman wrapper on PATH that
counts `podman build` calls; all use one root path in turn (an image's identity covers
host paths, and real hosts all use /).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.core_versions import build_wheel  # noqa: E402
from support.podman import (  # noqa: E402
    BASE_IMAGE,
    BUILD_SETTINGS,
    PrivateStore,
    ensure_base_image,
    private_store,
)
from support.registry import running_registry  # noqa: E402

JUICE = Path(sys.executable).parent / "juice"


class Host:
    """A private podman store and a logging podman; the shared root is written per host."""

    def __init__(self, work: Path, name: str, root: Path, base_image: str | None) -> None:
        self.root = root
        # A TMPDIR of its own: the cold build pays the downloads.
        self.store: PrivateStore = private_store(work / name, base_image, own_tmpdir=True)

    def install(
        self, environments: int, registry: str, source: str, wheel: Path, locks: Path | None
    ) -> None:
        """This host's root (replacing the previous host's), given `locks` when named."""
        shutil.rmtree(self.root, ignore_errors=True)
        config = self.root / "etc/juice/config/orchestration.toml"
        config.parent.mkdir(parents=True)
        config.write_text(
            '[environments.default]\ntype = "uv"\n'
            f'base_image = "{BASE_IMAGE}"\npython_source = "system"\n'
            'dependencies = ["numpy"]\n[environments.default.build]\n'
            + BUILD_SETTINGS
            + "".join(f"\n[services.s{index}]\n" for index in range(1, environments))
            + f'\n[images]\nregistry = "{registry}"\nsource = "{source}"\n'
        )
        (self.root / "opt/orangeqs/juice/dist").mkdir(parents=True)
        shutil.copy(wheel, self.root / "opt/orangeqs/juice/dist")
        if locks is not None:
            shutil.copytree(locks, self.root / "var/lib/juice/locks")

    def juice(self, *args: str) -> tuple[float, int]:
        before = self.store.count("build")
        started = time.monotonic()
        result = subprocess.run([str(JUICE), "--root", str(self.root), *args],
                                env=self.store.env, capture_output=True, text=True,
                                check=False)  # fmt: skip
        seconds = time.monotonic() - started
        if result.returncode != 0:
            raise SystemExit(f"juice {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return seconds, self.store.count("build") - before

    def store_bytes(self) -> int:
        result = subprocess.run(["du", "-sb", str(self.store.graph)], capture_output=True,
                                text=True, check=False)  # fmt: skip
        return int(result.stdout.split()[0]) if result.returncode == 0 else 0


def core_wheel(work: Path) -> Path:
    return build_wheel(REPO, work / "wheel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=3)
    parser.add_argument("--keep-work", action="store_true", help="Keep the roots and logs.")
    args = parser.parse_args()
    n = args.environments
    ensure_base_image()
    work = Path(tempfile.mkdtemp(prefix="juice-bench-pull-"))
    hosts: list[Host] = []
    try:
        wheel = core_wheel(work)
        root = work / "root"
        with running_registry(work / "registry") as registry:
            prefix = f"{registry.address}/juice"
            build_host = Host(work, "build-host", root, BASE_IMAGE)
            hosts.append(build_host)
            build_host.install(n, prefix, "build", wheel, None)
            cold = build_host.juice("env", "build", "--all")
            pushed = build_host.juice("env", "push", "--all")
            # A host that pulls takes the build host's locks (docs/locks.md, a second host).
            locks = work / "build-host-locks"
            shutil.copytree(root / "var/lib/juice/locks", locks)
            lab = Host(work, "lab-host", root, None)
            hosts.append(lab)
            lab.install(n, prefix, "pull", wheel, locks)
            pulled = lab.juice("env", "build", "--all")
            stored = lab.store_bytes()
            # As the build host had it: the base image already in the store.
            lab_with_base = Host(work, "lab-host-base", root, BASE_IMAGE)
            hosts.append(lab_with_base)
            lab_with_base.install(n, prefix, "pull", wheel, locks)
            pulled_with_base = lab_with_base.juice("env", "build", "--all")
        rows = [
            ("lab host, source = build (base image present)", *cold),
            ("build host: juice env push --all", *pushed),
            ("lab host, source = pull, empty store", *pulled),
            ("lab host, source = pull, base image present", *pulled_with_base),
        ]
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"{n} environments, numpy, the base image's Python; podman {podman_version()}; "
              f"registry: docker-registry on 127.0.0.1 (TLS); load average {load}")  # fmt: skip
        print(f"{'case':52} {'seconds':>8} {'of build':>8} {'builds':>7}")
        for case, seconds, builds in rows:
            print(f"{case:52} {seconds:8.1f} {seconds / cold[0]:8.2f} {builds:7d}")
        print(f"lab host's store after the pull: {stored / 1e6:.0f} MB")
        print(f"command: .cache/dev-venv/bin/python bench/pull.py --environments {n}")
    finally:
        for host in hosts:
            host.store.remove()
        if args.keep_work:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def podman_version() -> str:
    result = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=False)
    return result.stdout.split()[-1] if result.returncode == 0 else "unknown"


if __name__ == "__main__":
    main()
