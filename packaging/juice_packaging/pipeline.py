"""scripts/build-packages: the core wheel, the managed venv, the .deb and the .rpm.

Run through scripts/build-packages, which installs the pinned tools first; ``--help``
lists the options. Every step prints its number and name; a failure names the step and
the reason, and leaves the work directory in place for a look.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from juice_packaging import buildroot, lint, nfpm, scriptlets, shell_files, venv
from juice_packaging.publish.packages import sha256_file
from juice_packaging.steps import Progress, StepFailed, fail, run
from juice_packaging.targets import TARGETS, Target, UnknownTarget, by_name, host_target
from juice_packaging.versions import (
    PackageVersion,
    map_version,
    read_core_version,
    write_core_version,
)

REPO = Path(__file__).resolve().parents[2]
VERSION_FILE = Path("src/orangeqs/juice/_version.py")
LOCK = REPO / "packaging" / "requirements-runtime.txt"
BUILD_ROOTS = REPO / ".cache" / "build-roots"
# The build machine's CA bundle: uv's downloads from PyPI inside a build root trust it.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# dpkg architecture -> rpm architecture (nfpm maps the same way).
RPM_ARCH = {"amd64": "x86_64", "arm64": "aarch64", "ppc64el": "ppc64le", "s390x": "s390x"}


@dataclass(frozen=True)
class Outputs:
    """What one build wrote."""

    packages: dict[str, tuple[Path, Path]]  # target name -> (.deb, .rpm)
    wheel: Path
    checksums: Path


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH if set, else the last commit's time: the same sources, the same bytes."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "log", "-1", "--format=%ct"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return int(out)
    except (OSError, subprocess.CalledProcessError, ValueError):
        # No git (a copy of the sources): a fixed time. Not 1980 (the oldest a wheel's zip
        # holds): rpmlint warns about changelog dates before 1995.
        return 946684800  # 2000-01-01


def dpkg_arch() -> str:
    """The Debian architecture of this build machine (the venv holds its binaries)."""
    try:
        return run(["dpkg", "--print-architecture"], capture=True).strip()
    except (OSError, StepFailed):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def build_wheel(tools: Path, work: Path, version: PackageVersion, epoch: int) -> Path:
    """``python -m build --wheel`` on a copy of the sources, with the version applied."""
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    write_core_version(src / VERSION_FILE, version.pep440)
    out = work / "wheel"
    run(
        [tools / "bin" / "python", "-m", "build", "--wheel", "--outdir", out, src],
        env={"SOURCE_DATE_EPOCH": str(epoch)},
    )
    wheels = list(out.glob("orangeqs_juice_core-*.whl"))
    expected = f"orangeqs_juice_core-{version.pep440}-py3-none-any.whl"
    if [w.name for w in wheels] != [expected]:
        raise StepFailed(f"expected {expected}, build wrote {[w.name for w in wheels]}")
    return wheels[0]


def changelog(version: PackageVersion, epoch: int) -> str:
    """nfpm's changelog (chglog YAML): one entry, dated SOURCE_DATE_EPOCH."""
    return (
        f"- semver: {json.dumps(version.rpm_evr)}\n"
        f"  date: {rfc3339(epoch)}\n"
        "  packager: Orange Quantum Systems <juice@orangeqs.com>\n"
        "  changes:\n"
        f"    - note: orangeqs-juice-core {version.pep440} with its managed venv.\n"
    )


def debian_changelog(version: PackageVersion, epoch: int) -> bytes:
    """A one-entry Debian changelog, gzipped without file name or time (reproducible)."""
    text = (
        f"orangeqs-juice ({version.deb}) stable; urgency=medium\n\n"
        f"  * orangeqs-juice-core {version.pep440} with its managed venv.\n\n"
        f" -- Orange Quantum Systems <juice@orangeqs.com>  {formatdate(epoch)}\n"
    )
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def rfc3339(epoch: int) -> str:
    """UTC time in the form nfpm reads."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --- what the steps share ----------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """The inputs of one build and where its work goes; every step reads it, none changes it.

    What a step makes lives in files under `work` at paths named here, so a later step
    finds it there: no state is handed from step to step in memory.
    """

    tools: Path
    out_dir: Path
    work: Path
    epoch: int
    version: PackageVersion
    arch: str
    lint: bool

    @property
    def rpm_arch(self) -> str:
        """The RPM spelling of the architecture (x86_64)."""
        return RPM_ARCH.get(self.arch, self.arch)

    def wheel(self) -> Path:
        """The core wheel the wheel step built."""
        return next((self.work / "wheel").glob("*.whl"))


@dataclass(frozen=True)
class TargetBuild:
    """One target's part of a build: its root, its venv, its staging tree, its packages."""

    build: Build
    target: Target
    # The mounted root; closed by the take_out step, and by the build when a step fails.
    mounts: ExitStack = field(default_factory=ExitStack, compare=False)

    @property
    def work(self) -> Path:
        """This target's work directory."""
        return self.build.work / self.target.name

    @property
    def version(self) -> PackageVersion:
        """The version with the target's suffixes (+deb12, .py311)."""
        return self.build.version.for_target(self.target.deb_suffix, self.target.rpm_release_suffix)

    @property
    def root(self) -> Path:
        """The mounted build root of the target's release."""
        return self.work / "root" / "root"

    @property
    def stage(self) -> Path:
        """The staging directory nfpm reads (root/ is the installed tree)."""
        return self.work / "stage"

    @property
    def opt(self) -> Path:
        """/opt/orangeqs/juice in the staging tree."""
        return self.stage / "root" / INSTALLED_OPT.lstrip("/")

    @property
    def shell_out(self) -> Path:
        """Where the shell step writes (bound into the root at IN_ROOT_SHELL_OUT)."""
        return self.work / "shell"

    @property
    def scripts(self) -> scriptlets.Staged:
        """The maintainer scripts the stage step renders into the staging directory."""
        return scriptlets.staged(self.stage)

    @property
    def venv(self) -> Path:
        """The managed venv in the staging tree (after the relocate step)."""
        return self.opt / "venv"

    @property
    def deb(self) -> Path:
        """The .deb this target's build writes."""
        return self.build.out_dir / self.version.deb_filename(self.build.arch)

    @property
    def rpm(self) -> Path:
        """The .rpm this target's build writes."""
        return self.build.out_dir / self.version.rpm_filename(self.build.rpm_arch)

    def python_version(self) -> str:
        """The full Python version the venv was made with (its pyvenv.cfg says)."""
        cfg = (self.venv / "pyvenv.cfg").read_text(encoding="utf-8")
        line = next(line for line in cfg.splitlines() if line.startswith("version"))
        return line.partition("=")[2].strip()


INSTALLED_OPT = "/opt/orangeqs/juice"
IN_ROOT = "/root/juice-build"  # where the build's inputs are copied into a root (its own)
IN_ROOT_UV_CACHE = "/var/cache/juice-uv"  # the shared uv cache, bound into every root
IN_ROOT_SHELL_OUT = "/root/juice-shell"  # the shell step's output, bound out of the root


# --- the steps, in the order they run ------------------------------------------------------


def version_step(version_override: str | None) -> PackageVersion:
    """The package version: _version.py (or --version) mapped to dpkg and rpm spellings.

    Done first, because a version that cannot be a package version (a local label)
    must stop the build before anything is written.
    """
    return map_version(version_override or read_core_version(REPO / VERSION_FILE))


def wheel(b: Build) -> None:
    """Build the core wheel once: every target's venv and package bundle the same file.

    Built from a copy of the sources so that a --version override never touches the
    repository.
    """
    build_wheel(b.tools, b.work, b.version, b.epoch)


def enter_root(t: TargetBuild) -> None:
    """Mount a clean root of the target's release: its venv needs that release's Python.

    A venv only runs with the interpreter it was made with, so the release's own
    /usr/bin/python3.X must make it, on the release's own libraries. The root is
    debootstrapped once (cached under .cache/build-roots) and mounted as an overlay.
    """
    if os.geteuid() != 0:
        raise StepFailed("making a release's root needs root (debootstrap, mount, chroot)")
    lower = buildroot.cached_root(BUILD_ROOTS, t.target.suite)
    uv_cache = REPO / ".cache" / "uv"
    uv_cache.mkdir(parents=True, exist_ok=True)
    t.shell_out.mkdir(parents=True)
    binds = [(uv_cache, IN_ROOT_UV_CACHE), (t.shell_out, IN_ROOT_SHELL_OUT)]
    mount = buildroot.mounted(lower, t.work / "root", binds)
    t.mounts.enter_context(mount)
    minor, full = venv.system_python(t.root)
    if minor != t.target.python:
        raise StepFailed(
            f"{t.target.suite}'s system Python is {full}, the target names {t.target.python}"
        )
    print(f"    {t.target.suite}: python{minor} ({full})")


def create_venv(t: TargetBuild) -> None:
    """Create the venv at its installed path with the release's /usr/bin/python3.X.

    Made where it is installed, the venv records no build path; bin/python points at
    /usr/bin/python3.X, the file the package's dependency guarantees.
    """
    venv.create(t.root, t.target.python)


def install(t: TargetBuild) -> None:
    """Install the pinned runtime lock, then the core wheel, with uv inside the root.

    uv asks the release's Python which wheels fit it (ABI, glibc); --require-hashes
    makes every build install the same files.
    """
    b = t.build
    inputs = Path(IN_ROOT)
    venv.install(
        t.root,
        buildroot.copy_in(t.root, b.tools / "bin" / "uv", str(inputs / "uv")),
        buildroot.copy_in(t.root, LOCK, str(inputs / LOCK.name)),
        buildroot.copy_in(t.root, b.wheel(), str(inputs / b.wheel().name)),
        IN_ROOT_UV_CACHE,
        buildroot.copy_in(t.root, HOST_CA_BUNDLE, str(inputs / HOST_CA_BUNDLE.name)),
    )


def smoke_test(t: TargetBuild) -> None:
    """Run `juice --version` from the venv in the root: it works on that release."""
    out = buildroot.run_in(t.root, [f"{venv.INSTALLED_VENV}/bin/juice", "--version"], capture=True)
    print(f"    {out.splitlines()[0] if out else ''}")


def shell(t: TargetBuild) -> None:
    """Generate juice(1) and the bash/zsh/fish completions from the venv's own CLI.

    Run in the root, by the venv's own Python (another release's Python cannot run on
    this machine), so they describe exactly the packaged juice (juice_packaging.shell_files).
    """
    packaging = f"{IN_ROOT}/packaging"
    shutil.copytree(
        REPO / "packaging" / "juice_packaging",
        t.root / packaging.lstrip("/") / "juice_packaging",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    buildroot.run_in(
        t.root,
        shell_files.command(
            f"{venv.INSTALLED_VENV}/bin/python",
            packaging,
            IN_ROOT_SHELL_OUT,
            t.build.version.pep440,
            t.build.epoch,
        ),
    )


def take_out(t: TargetBuild) -> None:
    """Leave the root, move the venv into the staging tree, strip its build records.

    The venv's files are all in the overlay's upper layer; after unmounting, that
    directory moves into the staging tree. Made at its installed path, the venv needs
    no relocation: pyvenv.cfg, direct_url.json, RECORD and bytecode are what is left
    to rewrite or remove (the check step proves no build path remains).
    """
    t.mounts.close()
    t.opt.parent.mkdir(parents=True)
    (t.work / "root" / "upper" / INSTALLED_OPT.lstrip("/")).rename(t.opt)
    interpreter = Path(f"/usr/bin/python{t.target.python}")
    venv.strip_build_records(t.venv, interpreter, t.python_version())


def stage(t: TargetBuild) -> None:
    """Put the wheel, the maintainer scripts, the default configuration, the man page and
    completions, and the documentation beside the venv.

    The wheel is what environment images install the core from; the maintainer scripts
    are rendered from their shared fragments with the core's constants
    (juice_packaging.scriptlets); copyright and changelog are what Debian policy asks for.
    """
    b = t.build
    (t.opt / "dist").mkdir()
    shutil.copy2(b.wheel(), t.opt / "dist" / b.wheel().name)
    root = t.stage / "root"
    scriptlets.stage(t.stage, t.version.pep440)
    shutil.copytree(t.shell_out, root, dirs_exist_ok=True)
    doc = root / "usr" / "share" / "doc" / "orangeqs-juice"
    doc.mkdir(parents=True)
    shutil.copy2(REPO / "debian" / "copyright", doc / "copyright")
    shutil.copy2(REPO / "README.md", doc / "README.md")
    (doc / "changelog.gz").write_bytes(debian_changelog(t.version, b.epoch))
    (t.stage / "changelog.yaml").write_text(changelog(t.version, b.epoch), encoding="utf-8")
    overrides = root / "usr" / "share" / "lintian" / "overrides"
    overrides.mkdir(parents=True)
    shutil.copy2(REPO / "debian" / "lintian-overrides", overrides / "orangeqs-juice")


def check(t: TargetBuild) -> None:
    """Fail on any build path left in the staged files; fix every mode and time.

    A build path in a shebang or a record would break the installed venv or make the
    package differ between machines; fixed modes and SOURCE_DATE_EPOCH times make two
    builds of the same sources the same bytes.
    """
    needles = [str(t.build.work), str(REPO), IN_ROOT]
    leaks = venv.find_leaks(t.stage / "root", needles)
    if leaks:
        raise StepFailed(
            f"{len(leaks)} file(s) still contain a build path ({', '.join(needles)}): "
            f"{', '.join(leaks[:10])}"
        )
    epoch = t.build.epoch
    for path in [t.stage, *t.stage.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def deb(t: TargetBuild) -> None:
    """Write the .deb with nfpm; it depends on the exact python3.X the venv was made with."""
    make_package(t, "deb", t.deb)


def rpm(t: TargetBuild) -> None:
    """Write the .rpm from the same venv; it requires python(abi) = 3.X of its target."""
    make_package(t, "rpm", t.rpm)


def lint_step(t: TargetBuild) -> None:
    """shellcheck, lintian and rpmlint: no error or warning may pass unexplained."""
    if not t.build.lint:
        print("    skipped (--no-lint)")
        return
    lint.shellcheck(t.build.tools, t.scripts.scripts)
    lint.lintian(t.deb)
    lint.rpmlint(t.build.tools, t.rpm, REPO / "rpm" / "rpmlint.toml")


def checksums(b: Build, targets: list[TargetBuild]) -> None:
    """Copy the wheel out and write SHA256SUMS over every file the build wrote."""
    shutil.copy2(b.wheel(), b.out_dir / b.wheel().name)
    files = [path for t in targets for path in (t.deb, t.rpm)] + [b.out_dir / b.wheel().name]
    (b.out_dir / "SHA256SUMS").write_text(
        "".join(f"{sha256_file(p)}  {p.name}\n" for p in files), encoding="utf-8"
    )


# The step lists the progress counter and the loop read: one place to add a step.
PREPARE: tuple[Callable[[Build], None], ...] = (wheel,)
PER_TARGET: tuple[Callable[[TargetBuild], None], ...] = (
    enter_root, create_venv, install, smoke_test, shell, take_out, stage, check, deb, rpm,
    lint_step,
)  # fmt: skip


def step_name(function: Callable[..., object]) -> str:
    """A step's name: its function's, without a _step suffix."""
    return function.__name__.removesuffix("_step")


def step_summary(function: Callable[..., object]) -> str:
    """A step's one-line description: its docstring's first line."""
    return (function.__doc__ or "").strip().splitlines()[0].rstrip(".")


def dependencies(t: TargetBuild) -> tuple[list[str], list[str]]:
    """The .deb's Depends and the .rpm's Requires, from what the venv holds."""
    minor = t.target.python
    floor = venv.glibc_floor(t.venv)
    deb_depends = [f"python{minor}", "podman"]
    # findutils, coreutils: the scriptlets use find, head, install, rm (Essential on Debian).
    rpm_depends = [f"python(abi) = {minor}", "podman", "findutils", "coreutils"]
    if floor:
        deb_depends.append(f"libc6 (>= {floor[0]}.{floor[1]})")
        rpm_depends.append(f"glibc >= {floor[0]}.{floor[1]}")
    return deb_depends, rpm_depends


def make_package(t: TargetBuild, packager: str, target: Path) -> None:
    """Fill nfpm.yaml for `packager` and run nfpm; print the dependencies it declares."""
    deb_depends, rpm_depends = dependencies(t)
    version = t.version
    values: dict[str, str | list[str]] = {
        "ARCH": t.build.arch,
        "VERSION": version.deb_upstream if packager == "deb" else version.upstream,
        "RELEASE": "" if packager == "deb" else version.rpm_release,
        "EPOCH": str(version.epoch) if version.epoch else "",
        "MTIME": rfc3339(t.build.epoch),
        "DEPENDS": deb_depends,
        "RPM_DEPENDS": rpm_depends,
        "SCRIPTS": str(t.scripts.rpm),
        "DEB_SCRIPTS": str(t.scripts.deb),
        "CHANGELOG": "changelog.yaml" if packager == "rpm" else "",
    }
    print(f"    {target.name}: {', '.join(deb_depends if packager == 'deb' else rpm_depends)}")
    config = t.stage / f"nfpm-{packager}.yaml"
    config.write_text(nfpm.render_config(REPO / "packaging" / "nfpm.yaml", values), "utf-8")
    target.unlink(missing_ok=True)
    nfpm.package(t.build.tools / "bin" / "nfpm", config, packager, target, t.build.epoch)


def build(
    tools: Path,
    out_dir: Path,
    version_override: str | None,
    do_lint: bool,
    targets: list[Target],
) -> Outputs:
    """Run every step for every target; raise StepFailed naming the failing one."""
    progress = Progress(1 + len(PREPARE) + len(targets) * len(PER_TARGET) + 1)
    epoch = source_date_epoch()
    with progress.step("version", step_summary(version_step)):
        version = version_step(version_override)
        arch = dpkg_arch()
        print(
            f"    core {version.pep440} -> deb {version.deb}, rpm {version.rpm_evr}; "
            f"{arch}; targets {', '.join(t.name for t in targets)}; SOURCE_DATE_EPOCH={epoch}"
        )
    work_root = REPO / ".cache" / "package-build"
    work_root.mkdir(parents=True, exist_ok=True)
    # Short, unique per build: concurrent builds (tests) must not share a staging tree.
    work = Path(tempfile.mkdtemp(prefix="b", dir=work_root))
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as cleanup:
        b = Build(tools, out_dir, work, epoch, version, arch, do_lint)
        for step in PREPARE:
            with progress.step(step_name(step), step_summary(step)):
                step(b)
        parts = [TargetBuild(b, target) for target in targets]
        for part in parts:
            cleanup.callback(part.mounts.close)
        for part in parts:
            for target_step in PER_TARGET:
                name = f"{part.target.name} {step_name(target_step)}"
                with progress.step(name, step_summary(target_step)):
                    target_step(part)
        with progress.step("checksums", step_summary(checksums)):
            checksums(b, parts)
        outputs = Outputs(
            packages={t.target.name: (t.deb, t.rpm) for t in parts},
            wheel=out_dir / b.wheel().name,
            checksums=out_dir / "SHA256SUMS",
        )
    buildroot.remove(work)
    return outputs


def main(argv: list[str] | None = None) -> None:
    """Command line of scripts/build-packages."""
    parser = argparse.ArgumentParser(prog="scripts/build-packages", description=__doc__)
    parser.add_argument("--tools", type=Path, required=True, help=argparse.SUPPRESS)
    parser.add_argument(
        "--version",
        dest="version_override",
        help="PEP 440 version to build instead of _version.py's (tests: v1, v2)",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "dist", help="where the packages go (default: dist/)"
    )
    parser.add_argument("--no-lint", action="store_true", help="skip lintian and rpmlint")
    parser.add_argument(
        "--target",
        action="append",
        dest="targets",
        metavar="NAME",
        help=f"build for this Debian release (repeatable; {', '.join(TARGETS)}; "
        "default: this machine's release)",
    )
    parser.add_argument("--all-targets", action="store_true", help="build for every target")
    args = parser.parse_args(argv)
    try:
        if args.all_targets:
            targets = list(TARGETS.values())
        elif args.targets:
            targets = list(dict.fromkeys(by_name(name) for name in args.targets))
        else:
            targets = [host_target()]
    except UnknownTarget as exc:
        parser.error(str(exc))
    started = time.monotonic()
    try:
        outputs = build(
            args.tools, args.out.absolute(), args.version_override, not args.no_lint, targets
        )
    except StepFailed as exc:
        fail(str(exc))
    print(f"build-packages: done in {time.monotonic() - started:.1f}s")
    for deb_file, rpm_file in outputs.packages.values():
        print(f"  {deb_file}\n  {rpm_file}")
    print(f"  {outputs.wheel}\n  {outputs.checksums}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
