"""Fresh Debian 12 roots for install tests, built once by debootstrap and cached as tarballs.

Typical use::

    root = debian_root(tmp_path / "root", include=["python3"])
    try:
        with chroot_mounts(root):
            run_in_root(root, ["apt-get", "update"])
            run_in_root(root, ["apt-get", "install", "-y", "/pkg.deb"])
    finally:
        remove_root(root)

A cached root has empty apt lists (debootstrap does not fetch them): run
`apt-get update` inside `chroot_mounts` before installing from the archive.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support import CACHE_DIR, file_lock

SUITE = "bookworm"
VARIANT = "minbase"
# Bump to invalidate every cached root tarball after a change in how roots are built.
ROOTS_FORMAT = 1

ROOTS_DIR = CACHE_DIR / "roots"
APT_ARCHIVES = CACHE_DIR / "apt-archives"
APT_ARCHIVES_LOCK = CACHE_DIR / "apt-archives.lock"
APT_COMMANDS = frozenset({"apt-get", "apt"})
DEBOOTSTRAP_CACHE = CACHE_DIR / "debootstrap-debs"

ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Set to use another Debian mirror than the one this machine's apt sources name.
MIRROR_ENV = "JUICE_TEST_DEBIAN_MIRROR"


class RootCommandError(subprocess.CalledProcessError):
    """A command in a root failed; its message carries the command's output."""

    def __str__(self) -> str:
        return (
            f"{super().__str__()}\n--- stdout ---\n{_text(self.stdout)}"
            f"\n--- stderr ---\n{_text(self.stderr)}"
        )


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def run(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run `argv` capturing text output; raise `RootCommandError` with the output on failure."""
    check = kwargs.pop("check", True)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    result: subprocess.CompletedProcess[str] = subprocess.run(list(argv), check=False, **kwargs)
    if check and result.returncode != 0:
        raise RootCommandError(result.returncode, list(argv), result.stdout, result.stderr)
    return result


# --- the archive mirror ----------------------------------------------------------------


def debian_mirror() -> str:
    """The Debian archive URI the host's apt uses for the main suite.

    Read from /etc/apt/sources.list.d/*.sources (deb822) and the one-line lists, so the
    tests use whatever mirror (or proxy) the machine is configured for.
    """
    if override := os.environ.get(MIRROR_ENV):
        return override.rstrip("/")
    apt = Path("/etc/apt")
    candidates: list[tuple[str, list[str]]] = []
    for path in sorted(apt.glob("sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if (
                fields.get("enabled", "yes").lower() == "no"
                or "deb" not in fields.get("types", "").split()
            ):
                continue
            for uri in fields.get("uris", "").split():
                candidates.append((uri, fields.get("suites", "").split()))
    lists = [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            # Drop comments and "[arch=... signed-by=...]" options before splitting.
            words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                candidates.append((words[1], [words[2]]))
    for uri, suites in candidates:
        if SUITE in suites and uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    for uri, suites in candidates:
        if SUITE in suites:
            return uri.rstrip("/")
    raise RuntimeError(
        f"no Debian {SUITE} mirror in this machine's apt sources; "
        f"set {MIRROR_ENV} to the mirror's URL"
    )


# --- cached root tarballs ---------------------------------------------------------------


def _key(include: Sequence[str], suite: str = SUITE) -> str:
    packages = sorted(set(include))
    digest = hashlib.sha256(
        f"{ROOTS_FORMAT}:{suite}:{VARIANT}:{','.join(packages)}".encode()
    ).hexdigest()[:12]
    return f"{suite}-{VARIANT}-{digest}"


def _extract(tarball: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    run(["tar", "--numeric-owner", "--xattrs", "-xpf", str(tarball), "-C", str(dest)])


def _pack(root: Path, tarball: Path) -> None:
    """Write `root` as `tarball` atomically, so readers never see a half-written file."""
    tmp = tarball.with_name(f".{tarball.name}.{os.getpid()}.tmp")
    try:
        run(
            [
                "tar", "--numeric-owner", "--xattrs", "--one-file-system",
                "-cf", str(tmp), "-C", str(root), ".",
            ]
        )  # fmt: skip
        tmp.rename(tarball)
    finally:
        tmp.unlink(missing_ok=True)


def cached_root_tarball(
    key: str, build: Callable[[Path], None], *, base: Sequence[str] = (), suite: str = SUITE
) -> Path:
    """A cached root tarball derived from the debootstrap root for `base`; built once.

    `build(root)` receives a fresh root made from the debootstrap tarball for `base` and
    customises it (e.g. installs packages inside `chroot_mounts`). `key` names the
    customisation: change it when `build` changes. Locked so concurrent processes build
    it once.
    """

    def make(work: Path) -> None:
        debian_root(work, base, suite)
        build(work)

    return _cached_tarball(f"{_key(base, suite)}-{key}", make)


def debian_root_tarball(include: Sequence[str] = (), suite: str = SUITE) -> Path:
    """The cached tarball of a `debootstrap --variant=minbase` root of `suite` (built once).

    `suite` is bookworm unless a test asks for another release (trixie); the same
    archive serves both.
    """

    def make(work: Path) -> None:
        # One package cache per suite: concurrent debootstraps never share a file.
        debs = (
            DEBOOTSTRAP_CACHE
            if suite == SUITE
            else DEBOOTSTRAP_CACHE.with_name(f"{DEBOOTSTRAP_CACHE.name}-{suite}")
        )
        debs.mkdir(parents=True, exist_ok=True)
        argv = ["debootstrap", f"--variant={VARIANT}", f"--cache-dir={debs}"]
        if include:
            argv.append("--include=" + ",".join(sorted(set(include))))
        run([*argv, suite, str(work), debian_mirror()])

    return _cached_tarball(_key(include, suite), make)


def _cached_tarball(key: str, make: Callable[[Path], None]) -> Path:
    """ROOTS_DIR/<key>.tar, made once from a root `make(work)` fills; locked so that
    concurrent processes build it once, packed atomically, the work tree always removed."""
    tarball = ROOTS_DIR / f"{key}.tar"
    with file_lock(ROOTS_DIR / f"{key}.lock"):
        if tarball.is_file():
            return tarball
        work = ROOTS_DIR / f"{key}.build"
        remove_root(work)
        try:
            make(work)
            _pack(work, tarball)
        finally:
            remove_root(work)
    return tarball


def cached_root_dir(tarball: Path) -> Path:
    """A read-only extracted copy of a cached root tarball, made once, shared by callers.

    For use as the lower layer of an overlay mount: nothing may ever write to it.
    """
    dest = tarball.with_suffix(".d")
    with file_lock(tarball.with_suffix(".d.lock")):
        if not dest.is_dir():
            tmp = tarball.with_name(f".{dest.name}.{os.getpid()}.tmp")
            remove_root(tmp)
            try:
                _extract(tarball, tmp)
                tmp.rename(dest)
            finally:
                remove_root(tmp)
    return dest


def extract_root(tarball: Path, dest: Path) -> Path:
    """Make `dest` a root from a cached root tarball; return `dest`."""
    _extract(tarball, dest)
    return dest


def debian_root(dest: Path, include: Sequence[str] = (), suite: str = SUITE) -> Path:
    """Make `dest` a fresh minbase root of `suite` (Debian 12 unless given) with `include`
    installed; return `dest`.

    The first call for an include list runs debootstrap (about a minute); later calls
    only extract the cached tarball (seconds).
    """
    _extract(debian_root_tarball(include, suite), dest)
    return dest


# --- working inside a root --------------------------------------------------------------


def _mount_points_under(root: Path) -> list[Path]:
    """Mount points at or below `root`, deepest first (the order to unmount them)."""
    resolved = os.path.realpath(root)
    found: list[Path] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # Field 5 is the mount point, with spaces etc. octal-escaped.
        point = line.split()[4].encode().decode("unicode_escape")
        if point == resolved or point.startswith(resolved.rstrip("/") + "/"):
            found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _umount(point: Path) -> None:
    if subprocess.run(["umount", str(point)], capture_output=True, check=False).returncode:
        # Busy (a process still has a file open): detach now, freed when it exits.
        subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def unmount_all(root: Path) -> None:
    """Unmount everything mounted at or below `root`."""
    for _ in range(3):  # a lazy unmount can reveal mounts that were stacked under it
        points = _mount_points_under(root)
        if not points:
            return
        for point in points:
            _umount(point)


def remove_root(root: Path) -> None:
    """Delete a root safely: unmount first, and never cross into another file system."""
    if not root.exists() and not root.is_symlink():
        return
    unmount_all(root)
    run(["rm", "-rf", "--one-file-system", str(root)])


@contextmanager
def chroot_mounts(root: Path) -> Iterator[Path]:
    """Mount what apt and dpkg need in a chroot; undo it all on exit, also on errors.

    proc, sys, dev and dev/pts; the host's resolv.conf; and the shared
    `.cache/apt-archives` on /var/cache/apt/archives, so each .deb is downloaded once
    across all roots and runs.
    """
    archives = root / "var/cache/apt/archives"
    (APT_ARCHIVES / "partial").mkdir(parents=True, exist_ok=True)
    archives.mkdir(parents=True, exist_ok=True)
    mounts: list[tuple[list[str], Path]] = [
        (["-t", "proc", "proc"], root / "proc"),
        (["-t", "sysfs", "sysfs"], root / "sys"),
        (["--bind", "/dev"], root / "dev"),
        (["--bind", "/dev/pts"], root / "dev/pts"),
        (["--bind", str(APT_ARCHIVES)], archives),
    ]
    done: list[Path] = []
    try:
        resolv = root / "etc/resolv.conf"
        if resolv.is_symlink() or resolv.exists():
            resolv.unlink()
        shutil.copyfile("/etc/resolv.conf", resolv)
        for args, point in mounts:
            point.mkdir(parents=True, exist_ok=True)
            run(["mount", *args, str(point)])
            done.append(point)
        yield root
    finally:
        for point in reversed(done):
            _umount(point)


def root_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for commands in a root: no host PATH, no prompts."""
    env = {
        "PATH": ROOT_PATH,
        "DEBIAN_FRONTEND": "noninteractive",
        "LANG": "C.UTF-8",
        "HOME": "/root",
    }
    env.update(extra or {})
    return env


def run_in_root(
    root: Path,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` chrooted into `root` (call inside `chroot_mounts`).

    Output is captured as text; with `check`, a failure raises `RootCommandError`
    whose message includes stdout and stderr. Run apt as `["apt-get", ...]` (not
    through `sh -c`): such commands wait for each other across test processes, because
    all roots share one download cache and apt would otherwise fail on its lock.
    """
    command = ["chroot", str(root), *argv]
    if Path(argv[0]).name in APT_COMMANDS:
        # Every root shares one archive cache, and apt fails at once (no waiting) when
        # another apt holds its lock: take turns across processes instead.
        with file_lock(APT_ARCHIVES_LOCK):
            return run(command, env=root_env(env), check=check, **kwargs)
    return run(command, env=root_env(env), check=check, **kwargs)


def apt_install(root: Path, packages: Sequence[str]) -> None:
    """`apt-get update` and `apt-get install -y` inside `root` (call inside `chroot_mounts`)."""
    run_in_root(root, ["apt-get", "update", "-qq"])
    run_in_root(root, ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages])
