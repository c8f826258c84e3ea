"""An environment's lock: what an image is built from, and what changed between two locks.

Pure: text in, text or data out. The lock itself is uv's (``uv.lock``); juice only reads
it as TOML to say what changed, and hands every other question (is it valid, does it
satisfy the configuration, which files does it name) to uv.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from typing import Any

from orangeqs.juice._version import CORE_DISTRIBUTION
from orangeqs.juice.environments.mounts import BUILD_UV
from orangeqs.juice.environments.pyproject import THIRD_PARTY_FILE
from orangeqs.juice.paths import LOCKED_EXPORT_NAME

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# What the third-party layer installs: the lock exported without orangeqs-juice-core,
# with hashes, so that a new core version leaves that layer as it is. Kept beside the
# lock too, so that reading a plan (`juice env status`) runs no uv.
THIRD_PARTY_REQUIREMENTS = LOCKED_EXPORT_NAME
# Where uv's own output and exit status of a lock run go, inside the lock's work folder.
UV_OUTPUT = "uv-lock.out"
UV_STATUS = "uv-lock.status"
LOCK_CONTAINERFILE = "Containerfile.lock"
# Where the lock step sees the project. Not /env, which holds the image's managed Python
# (uv lock needs an interpreter); juice renders every path in pyproject.toml absolute, so
# the lock means the same in /env, where the build uses it.
PROJECT_DIR = f"{BUILD_UV.parents[1]}/lock"


@dataclass(frozen=True)
class Locked:
    """The locked inputs of an image: the lock and its export for the third-party layer."""

    lock: str
    third_party: str


@dataclass(frozen=True)
class StoredLock:
    """What the host holds for one environment's lock (read by host/locks.py)."""

    lock: str | None = None  # None: no lock yet
    # The pyproject.toml the lock was made for: a different one means the configuration changed.
    pyproject: str | None = None
    third_party: str | None = None
    # Why the lock cannot be used ("" when it can).
    problem: str = ""
    # The lock of the configuration before, and its pyproject.toml (None: none kept).
    previous_lock: str | None = None
    previous_pyproject: str | None = None

    def usable(self) -> Locked | None:
        """The lock and its export, when there is a lock without a problem."""
        if self.lock is None or self.third_party is None or self.problem:
            return None
        return Locked(self.lock, self.third_party)


def export_header(lock: str) -> str:
    """The first line of a lock's export as juice keeps it beside the lock: names the
    lock it came from, so that it is used only with exactly that lock. (Not rendered:
    the third-party layer must not change with the lock's core entry.)"""
    digest = hashlib.sha256(lock.encode("utf-8")).hexdigest()
    return f"# uv export of uv.lock sha256:{digest}, without orangeqs-juice-core\n"


def kept_export(lock: str, kept: str | None) -> str | None:
    """The export in `kept` (a file juice kept) when it was made from `lock`, else None."""
    header = export_header(lock)
    if kept is not None and kept.startswith(header):
        return kept[len(header) :]
    return None


def lock_needed(stored: StoredLock, pyproject: str) -> str:
    """Why `juice env build` must run uv lock before building ("" when it need not)."""
    if stored.lock is None:
        return "no lock yet"
    if stored.pyproject != pyproject:
        return "its configuration changed"
    return ""


def previous_fits(stored: StoredLock, pyproject: str) -> bool:
    """True when the lock kept from the configuration before was made for `pyproject`:
    going back (e.g. to the previous core version) takes it again, without uv."""
    return stored.previous_lock is not None and stored.previous_pyproject == pyproject


@dataclass(frozen=True)
class LockRun:
    """What one run of uv lock gave."""

    lock: str | None  # the lock uv wrote (None: it failed)
    reason: str = ""  # why not ("" when it did)
    # True when uv itself said no (e.g. --check: the lock would change); False when the
    # lock step could not run uv (podman, the image's own steps).
    uv_refused: bool = False
    export: str | None = None  # the lock's export for the third-party layer
    project: str | None = None  # the pyproject.toml it was made for


class LockFormatError(ValueError):
    """The text is not a uv.lock juice can read."""


@dataclass(frozen=True)
class Pin:
    """A package at the version(s) a lock holds (more than one where markers split it)."""

    name: str
    version: str


@dataclass(frozen=True)
class Change:
    """A package whose locked version changed."""

    name: str
    old: str
    new: str


@dataclass(frozen=True)
class LockDiff:
    """What changed from one lock to the next."""

    added: list[Pin] = field(default_factory=list)
    removed: list[Pin] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when no package was added, removed or changed."""
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """One line per package, e.g. ``six 1.16.0 → 1.17.0``, ``+ idna 3.10``."""
        return [
            *(f"+ {pin.name} {pin.version}" for pin in self.added),
            *(f"- {pin.name} {pin.version}" for pin in self.removed),
            *(f"{change.name} {change.old} → {change.new}" for change in self.changed),
        ]


def locked_versions(text: str) -> dict[str, str]:
    """Package name -> locked version(s), without the environment's own (virtual) project.

    Raises LockFormatError when `text` is not TOML with uv.lock's package tables.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LockFormatError(f"not TOML: {error}") from None
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise LockFormatError("'package' is not a list of tables")
    found: dict[str, set[str]] = {}
    for index, package in enumerate(packages):
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            raise LockFormatError(f"package {index + 1} has no name")
        if _virtual(package):
            continue
        found.setdefault(package["name"], set()).add(str(package.get("version", "?")))
    return {name: ", ".join(sorted(versions)) for name, versions in sorted(found.items())}


def holds_core(lock: str) -> bool:
    """True when the lock has orangeqs-juice-core (or cannot be read: uv will say why)."""
    try:
        return CORE_DISTRIBUTION in locked_versions(lock)
    except LockFormatError:
        return True


def core_required_by_packages(lock: str) -> bool:
    """True when a locked package (not the environment's own project) requires
    orangeqs-juice-core: then the lock must hold the core itself, from the package's
    wheel, so that uv resolves that requirement against it."""
    try:
        data = tomllib.loads(lock)
    except tomllib.TOMLDecodeError:
        return True
    for package in data.get("package", []):
        if not isinstance(package, dict) or _virtual(package):
            continue
        dependencies = package.get("dependencies", [])
        for extra in (package.get("optional-dependencies") or {}).values():
            dependencies = [*dependencies, *extra]
        if any(
            isinstance(dependency, dict) and dependency.get("name") == CORE_DISTRIBUTION
            for dependency in dependencies
        ):
            return True
    return False


def _virtual(package: dict[str, Any]) -> bool:
    source = package.get("source")
    return isinstance(source, dict) and "virtual" in source


def diff_locks(old: str | None, new: str) -> LockDiff:
    """What changed from lock `old` (None: no lock before) to `new`."""
    before = locked_versions(old) if old is not None else {}
    after = locked_versions(new)
    return LockDiff(
        added=[Pin(name, version) for name, version in after.items() if name not in before],
        removed=[Pin(name, version) for name, version in before.items() if name not in after],
        changed=[
            Change(name, before[name], version)
            for name, version in after.items()
            if name in before and before[name] != version
        ],
    )


def uv_lock_arguments(
    upgrade: bool = False, upgrade_packages: tuple[str, ...] = (), check: bool = False
) -> list[str]:
    """The arguments of ``uv lock`` for a request (without them uv keeps every pin it can)."""
    if check:
        return ["lock", "--check"]
    arguments = ["lock"]
    if upgrade:
        arguments.append("--upgrade")
    for package in upgrade_packages:
        arguments += ["--upgrade-package", package]
    return arguments


def lock_containerfile(containerfile: str, uv: str, uv_arguments: list[str], nonce: str) -> str:
    """The Containerfile that locks an environment: its own image up to the Python
    packages (same base, system packages, Python, uv settings; the layers come from the
    build cache), then one step that runs uv lock in the project folder.

    `nonce` makes that step new each time (uv must ask the index again). uv's output and
    exit status go to files in the project folder, so a resolution failure is uv's own
    message and the build itself only fails for the image's own steps.
    """
    prefix = []
    for line in containerfile.splitlines():
        if line.startswith(f"COPY {THIRD_PARTY_FILE} "):
            break
        prefix.append(line)
    command = " ".join([uv, *uv_arguments])
    output, status = f"{PROJECT_DIR}/{UV_OUTPUT}", f"{PROJECT_DIR}/{UV_STATUS}"
    return "\n".join(
        [
            *prefix,
            f"# juice lock request {nonce}",
            f'RUN --mount=type=cache,target=/var/cache/juice-uv,id=juice-uv : "{nonce}" && '
            f"cd {PROJECT_DIR} && ({command} > {output} 2>&1; echo $? > {status})",
            "",
        ]
    )


def lock_build_argv(build: tuple[str, ...], workdir: str) -> list[str]:
    """The image's podman build command turned into the lock's: the same options
    (volumes, build arguments, network, architecture), no tags, the work folder as the
    project folder and as the context."""
    argv: list[str] = []
    skip = False
    options = list(build[:-1])
    for index, argument in enumerate(options):
        if skip:
            skip = False
            continue
        if argument == "--tag":
            skip = True
            continue
        if argument == "--file":
            argv += ["--file", f"{workdir}/{LOCK_CONTAINERFILE}"]
            skip = True
            continue
        argv.append(argument)
        if index == 1:  # after "podman build": juice's own mount first
            argv += ["-v", f"{workdir}:{PROJECT_DIR}"]
    argv.append(workdir)
    return argv


# uv starts a resolution failure with a multiplication sign ("x No solution found").
_UV_PROBLEM = "\u00d7"


def lock_request_key(
    containerfile: str,
    build: tuple[str, ...],
    pyproject: str,
    lock: str | None,
    uv_arguments: list[str],
) -> str:
    """Equal for lock requests that must give the same lock: the same project, the same
    lock to start from, the same uv arguments, and the same image and build options up
    to the Python packages (environments of one configuration, under any name)."""
    prefix = lock_containerfile(containerfile, "uv", uv_arguments, nonce="")
    lines = [line for line in prefix.splitlines() if not line.startswith("#")]
    parts = [*lines, *lock_build_argv(build, ""), pyproject, lock or "", *uv_arguments]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def uv_failure(output: str, limit: int = 12) -> str:
    """The part of uv's output that says why it failed (its error lines, else the tail)."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("warning:")]
    start = next(
        (
            index
            for index, line in enumerate(lines)
            if line.startswith("error:") or line.lstrip().startswith(_UV_PROBLEM)
        ),
        max(0, len(lines) - limit),
    )
    return "\n".join(lines[start : start + limit])
