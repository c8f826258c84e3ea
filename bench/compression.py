"""Package compression by measurement: size against nfpm's time, for gzip, xz and zstd.

Run as root from the repository, after a build (scripts/build-packages):

    .cache/packaging-tools/bin/python bench/compression.py dist/orangeqs-juice_*+deb12_amd64.deb

The .deb's files are packaged again by the build's own nfpm, once per format and
compression, with nothing else changed; each line gives the size, its ratio to the
gzip .deb (what the build made before), nfpm's wall time, and for a .deb whether this
machine's lintian accepts it. Times are one run each on a shared machine: compare them
with each other, not with another machine's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NFPM = REPO / ".cache" / "packaging-tools" / "bin" / "nfpm"
CHOICES = {
    "deb": ["gzip", "xz", "zstd", "zstd:19", "none"],
    "rpm": ["gzip", "xz", "zstd", "zstd:19"],
}
CONFIG = """\
name: orangeqs-juice
arch: amd64
version: 1.0.0
maintainer: Bench <bench@bench.invalid>
description: bench
mtime: 2026-01-01T00:00:00Z
contents:
  - src: root/opt
    dst: /opt
    type: tree
deb:
  compression: {compression}
rpm:
  compression: {compression}
"""


def package(work: Path, packager: str, compression: str) -> tuple[Path, float]:
    """One nfpm run; the package file and its wall time."""
    config = work / f"nfpm-{packager}-{compression}.yaml"
    config.write_text(CONFIG.format(compression=compression), encoding="utf-8")
    target = work / f"out-{compression.replace(':', '-')}.{packager}"
    started = time.monotonic()
    subprocess.run(
        [NFPM, "package", "--config", config, "--packager", packager, "--target", target],
        cwd=work, check=True, capture_output=True, env={"SOURCE_DATE_EPOCH": "1767225600"},
    )  # fmt: skip
    return target, time.monotonic() - started


def lintian_accepts(deb: Path) -> str:
    """'yes', or the first lintian error tag (only errors about the archive matter here)."""
    out = subprocess.run(["lintian", "--tag-display-limit", "0", deb],
                         capture_output=True, text=True, check=False).stdout  # fmt: skip
    malformed = [line for line in out.splitlines() if "malformed-deb-archive" in line]
    return "no: " + malformed[0].split(": ", 1)[-1] if malformed else "yes"


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    deb = Path(sys.argv[1])
    print(f"# {' '.join(['.cache/packaging-tools/bin/python', *sys.argv])}")
    work = Path(tempfile.mkdtemp(prefix="juice-bench-"))
    try:
        subprocess.run(["dpkg-deb", "-x", deb, work / "root"], check=True)
        unpacked = sum(p.stat().st_size for p in (work / "root").rglob("*") if p.is_file())
        print(f"# payload: {unpacked / 1e6:.1f} MB unpacked, from {deb.name}")
        baseline = None
        print(
            f"{'format':6} {'compression':12} {'size MB':>8} {'vs gzip':>8} {'time s':>7}  lintian"
        )
        for packager, choices in CHOICES.items():
            for compression in choices:
                out, seconds = package(work, packager, compression)
                size = out.stat().st_size
                if baseline is None:
                    baseline = size  # the first: the gzip .deb
                lint = lintian_accepts(out) if packager == "deb" else "-"
                print(f"{packager:6} {compression:12} {size / 1e6:8.2f} {size / baseline:8.2f} "
                      f"{seconds:7.1f}  {lint}", flush=True)  # fmt: skip
                out.unlink()
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
