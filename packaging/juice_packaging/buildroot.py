"""Clean Debian roots to build a target's venv in: debootstrapped once, then reused.

The venv must be made by the target release's own system Python, which only runs on
that release's libraries, so the venv is created and filled *inside* a root of the
release (chroot). Each release's root is debootstrapped once (``--variant=minbase``
with python3, about half a minute) into ``.cache/build-roots/`` and never written to
again: every build mounts it as the read-only lower layer of an overlay, so builds
run concurrently and each starts from the same clean root.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from juice_packaging.steps import StepFailed, run

# Bump to make every cached build root again after a change in how they are made.
FORMAT = 1
PACKAGES = ("python3",)
MIRROR_ENV = "JUICE_DEBIAN_MIRROR"
ROOT_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive this machine's apt uses (or $JUICE_DEBIAN_MIRROR)."""
    if override := os.environ.get(MIRROR_ENV):
        return override.rstrip("/")
    uris: list[str] = []
    for path in sorted(apt_dir.glob("sources.list.d/*.sources")):
        uris += re.findall(r"^URIs:\s*(.+)$", path.read_text(errors="replace"), re.MULTILINE)
    for path in [apt_dir / "sources.list", *sorted(apt_dir.glob("sources.list.d/*.list"))]:
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    uris.append(words[1])
    for uri in (u for line in uris for u in line.split()):
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    raise StepFailed(f"no Debian archive in {apt_dir}/sources.list*; set {MIRROR_ENV} to its URL")


def cached_root(cache: Path, suite: str) -> Path:
    """The read-only root of `suite` under `cache`, debootstrapped the first time."""
    key = hashlib.sha256(f"{FORMAT}:{suite}:{','.join(PACKAGES)}".encode()).hexdigest()[:12]
    root = cache / f"{suite}-{key}"
    if root.is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    # One debootstrap per suite at a time: concurrent builds (v1 and v2 in the tests)
    # share the .deb cache, and two debootstraps extracting from it collide.
    with (cache / f".{suite}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not root.is_dir():
            _debootstrap(cache, suite, root)
    return root


def _debootstrap(cache: Path, suite: str, root: Path) -> None:
    partial = cache / f".{root.name}.{os.getpid()}"
    remove(partial)
    debs = cache / f"debs-{suite}"
    debs.mkdir(exist_ok=True)
    try:
        run(
            [
                "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                f"--cache-dir={debs}", suite, partial, debian_mirror(),
            ]
        )  # fmt: skip
        # apt's lists and caches are of no use to a build and only make the root bigger.
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (partial / leftover).glob("*.deb"):
                path.unlink()
        partial.rename(root)
    finally:
        remove(partial)


@contextmanager
def mounted(lower: Path, work: Path, binds: Sequence[tuple[Path, str]] = ()) -> Iterator[Path]:
    """`work`/root: an overlay of `lower`, with /proc, /dev and `binds` mounted in it.

    Writes land in `work`/upper, so `lower` stays clean. Everything is unmounted on
    exit, also after an error. `binds` are (host directory, path in the root) pairs.
    """
    merged, upper, scratch = work / "root", work / "upper", work / "overlay-work"
    for directory in (merged, upper, scratch):
        directory.mkdir(parents=True)
    options = f"lowerdir={lower},upperdir={upper},workdir={scratch}"
    done: list[Path] = []
    try:
        run(["mount", "-t", "overlay", "overlay", "-o", options, merged])
        done.append(merged)
        # The host's resolver, for uv's downloads (lands in the upper layer only).
        resolv = merged / "etc" / "resolv.conf"
        resolv.unlink(missing_ok=True)
        shutil.copyfile("/etc/resolv.conf", resolv)
        mounts = [(["-t", "proc", "proc"], "proc"), (["--bind", "/dev"], "dev")]
        mounts += [(["--bind", str(host)], inside.lstrip("/")) for host, inside in binds]
        for args, inside in mounts:
            point = merged / inside
            point.mkdir(parents=True, exist_ok=True)
            run(["mount", *args, point])
            done.append(point)
        yield merged
    finally:
        for point in reversed(done):
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def run_in(root: Path, argv: Sequence[str | Path], *, capture: bool = False) -> str:
    """Run `argv` chrooted into `root` with a clean environment."""
    return run(["chroot", root, *argv], env=ROOT_ENV, clean_env=True, capture=capture)


def remove(path: Path) -> None:
    """Delete a directory tree without ever crossing into a mounted file system."""
    if path.exists() or path.is_symlink():
        run(["rm", "-rf", "--one-file-system", path])


def copy_in(root: Path, source: Path, inside: str) -> str:
    """Copy `source` into the root at `inside`; return `inside`."""
    dest = root / inside.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, dest)
    return inside
