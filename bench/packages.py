"""Benchmark of the system package: build time (cold and warm), package sizes, installed
size and `juice --version` start-up time from the installed venv.

Run as root from the repository (after scripts/setup-host and scripts/dev-env):

    .cache/dev-venv/bin/python bench/packages.py

"Cold" removes the tool environment and uv's cache first (every tool and dependency is
downloaded again); "warm" is a second build right after. Start-up time is measured in a
Debian 12 root where the .deb was installed with apt (byte-compiled by postinst), as the
median of 10 runs.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.roots import chroot_mounts, debian_root, remove_root, run_in_root  # noqa: E402


def timed_build(out: Path) -> float:
    started = time.monotonic()
    subprocess.run([str(REPO / "scripts/build-packages"), "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.monotonic() - started


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="juice-bench-"))
    try:
        shutil.rmtree(REPO / ".cache/packaging-tools", ignore_errors=True)
        shutil.rmtree(REPO / ".cache/uv", ignore_errors=True)
        cold = timed_build(work / "cold")
        warm = timed_build(work / "warm")
        deb = next((work / "warm").glob("*.deb"))
        rpm = next((work / "warm").glob("*.rpm"))
        installed_kib = int(
            subprocess.run(
                ["dpkg-deb", "-f", str(deb), "Installed-Size"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        root = debian_root(work / "root")
        shutil.copy2(deb, root / "tmp" / deb.name)
        with chroot_mounts(root):
            run_in_root(root, ["apt-get", "update", "-qq"])
            run_in_root(
                root,
                ["apt-get", "install", "-y", "-qq", f"/tmp/{deb.name}"],  # noqa: S108 (in the root)
                env={"JUICE_SKIP_IMAGE_BUILD": "1"},
                timeout=900,
            )
            du = run_in_root(root, ["du", "-sk", "/opt/orangeqs/juice"]).stdout.split()[0]
            times = []
            for _ in range(10):
                started = time.monotonic()
                run_in_root(root, ["/usr/bin/juice", "--version"])
                times.append(time.monotonic() - started)
        remove_root(root)
        print(f"build, cold (tools and dependencies downloaded): {cold:.1f} s")
        print(f"build, warm:                                      {warm:.1f} s")
        print(f".deb size:  {deb.stat().st_size / 2**20:.1f} MiB ({deb.name})")
        print(f".rpm size:  {rpm.stat().st_size / 2**20:.1f} MiB ({rpm.name})")
        print(
            f"installed size: {installed_kib / 1024:.1f} MiB (Installed-Size), "
            f"{int(du) / 1024:.1f} MiB on disk after postinst byte-compiling"
        )
        print(f"juice --version start-up (median of 10, chroot): {statistics.median(times):.3f} s")
        print("reproduce: .cache/dev-venv/bin/python bench/packages.py")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
