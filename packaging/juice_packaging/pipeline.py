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
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from juice_packaging import lint, nfpm, scriptlets, shell_files, venv
from juice_packaging.publish.packages import sha256_file
from juice_packaging.steps import Progress, StepFailed, fail, run
from juice_packaging.versions import (
    PackageVersion,
    map_version,
    read_core_version,
    write_core_version,
)

REPO = Path(__file__).resolve().parents[2]
VERSION_FILE = Path("src/orangeqs/juice/_version.py")
SYSTEM_PYTHON = Path("/usr/bin/python3")
# dpkg architecture -> rpm architecture (nfpm maps the same way).
RPM_ARCH = {"amd64": "x86_64", "arm64": "aarch64", "ppc64el": "ppc64le", "s390x": "s390x"}
STEPS = 11


@dataclass(frozen=True)
class Outputs:
    """What one build wrote."""

    deb: Path
    rpm: Path
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


def build(tools: Path, out_dir: Path, version_override: str | None, do_lint: bool) -> Outputs:
    """Run every step; raise StepFailed naming the failing one."""
    progress = Progress(STEPS)
    epoch = source_date_epoch()
    work_root = REPO / ".cache" / "package-build"
    work_root.mkdir(parents=True, exist_ok=True)
    # Short, unique per build: concurrent builds (tests) must not share a staging tree.
    work = Path(tempfile.mkdtemp(prefix="b", dir=work_root))
    stage = work / "stage"
    opt = stage / "root" / "opt" / "orangeqs" / "juice"
    venv_dir = opt / "venv"

    with progress.step("version", "the package version from the core's _version.py"):
        pep440 = version_override or read_core_version(REPO / VERSION_FILE)
        version = map_version(pep440)
        arch = dpkg_arch()
        rpm_arch = RPM_ARCH.get(arch, arch)
        print(
            f"    core {version.pep440} -> deb {version.deb}, rpm {version.rpm_evr}; "
            f"{arch}; SOURCE_DATE_EPOCH={epoch}"
        )

    with progress.step("wheel", "python -m build --wheel (orangeqs-juice-core)"):
        wheel = build_wheel(tools, work, version, epoch)

    with progress.step("venv", f"create the managed venv with the system Python {SYSTEM_PYTHON}"):
        if not SYSTEM_PYTHON.exists():
            raise StepFailed(f"{SYSTEM_PYTHON} is missing (apt-get install python3 python3-venv)")
        minor = venv.system_python_minor(SYSTEM_PYTHON)
        interpreter = venv.create(venv_dir, minor)
        full_version = run(
            [interpreter, "-c", "import platform; print(platform.python_version())"], capture=True
        ).strip()
        print(f"    python{minor} ({full_version}) -> {venv.INSTALLED_VENV}")

    with progress.step("install", "the pinned runtime lock and the core wheel into the venv"):
        venv.install(
            tools / "bin" / "uv",
            venv_dir,
            REPO / "packaging" / "requirements-runtime.txt",
            wheel,
            REPO / ".cache" / "uv",
        )

    with progress.step("relocate", f"rewrite the staging path to {venv.INSTALLED_VENV}"):
        venv.relocate(tools / "bin" / "virtualenv-tools", venv_dir, interpreter, full_version)

    # --- man page and shell completions (juice_packaging.shell_files) ---
    with progress.step("shell", "juice(1) and bash/zsh/fish completions from the staged juice"):
        shell_files.stage(venv_dir, stage / "root", version.pep440, epoch)

    with progress.step("stage", "wheel, maintainer scripts, default configuration, docs"):
        (opt / "dist").mkdir()
        shutil.copy2(wheel, opt / "dist" / wheel.name)
        # Maintainer scripts from the shared fragments, and the default configuration.
        maintainer = scriptlets.stage(stage, version.pep440)
        doc = stage / "root" / "usr" / "share" / "doc" / "orangeqs-juice"
        doc.mkdir(parents=True)
        shutil.copy2(REPO / "debian" / "copyright", doc / "copyright")
        shutil.copy2(REPO / "README.md", doc / "README.md")
        (doc / "changelog.gz").write_bytes(debian_changelog(version, epoch))
        (stage / "changelog.yaml").write_text(changelog(version, epoch), encoding="utf-8")
        overrides = stage / "root" / "usr" / "share" / "lintian" / "overrides"
        overrides.mkdir(parents=True)
        shutil.copy2(REPO / "debian" / "lintian-overrides", overrides / "orangeqs-juice")
        leaks = venv.find_leaks(stage / "root", [str(work), str(REPO)])
        if leaks:
            raise StepFailed(
                f"{len(leaks)} file(s) still contain the build path {work}: {', '.join(leaks[:10])}"
            )
        # Fixed modes, and every file and link at SOURCE_DATE_EPOCH, whatever the nfpm defaults.
        for path in [stage, *stage.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
            os.utime(path, (epoch, epoch), follow_symlinks=False)

    floor = venv.glibc_floor(venv_dir)
    deb_depends = [f"python{minor}", "podman"]
    # util-linux: the generated build units run flock (Essential on Debian, so no
    # Depends there).
    rpm_depends = [f"python(abi) = {minor}", "podman", "findutils", "coreutils", "util-linux"]
    if floor:
        deb_depends.append(f"libc6 (>= {floor[0]}.{floor[1]})")
        rpm_depends.append(f"glibc >= {floor[0]}.{floor[1]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / version.deb_filename(arch)
    rpm = out_dir / version.rpm_filename(rpm_arch)

    values: dict[str, str | list[str]] = {
        "ARCH": arch,
        "VERSION": version.upstream,
        "EPOCH": str(version.epoch) if version.epoch else "",
        "MTIME": rfc3339(epoch),
        "DEPENDS": deb_depends,
        "RPM_DEPENDS": rpm_depends,
        "SCRIPTS": str(maintainer.rpm),
        "DEB_SCRIPTS": str(maintainer.deb),
    }

    def make(packager: str, target: Path, changelog_file: str) -> None:
        """nfpm's config for ``packager`` (``changelog_file``: "" for none), then the package."""
        nfpm_config = stage / f"nfpm-{packager}.yaml"
        nfpm_config.write_text(
            nfpm.render_config(
                REPO / "packaging" / "nfpm.yaml", {**values, "CHANGELOG": changelog_file}
            ),
            encoding="utf-8",
        )
        target.unlink(missing_ok=True)
        nfpm.package(tools / "bin" / "nfpm", nfpm_config, packager, target, epoch)

    with progress.step("deb", f"nfpm -> {deb.name} (depends: {', '.join(deb_depends)})"):
        make("deb", deb, "")

    with progress.step("rpm", f"nfpm -> {rpm.name} (requires: {', '.join(rpm_depends)})"):
        make("rpm", rpm, "changelog.yaml")

    with progress.step(
        "lint", "shellcheck, lintian and rpmlint" if do_lint else "skipped (--no-lint)"
    ):
        if do_lint:
            lint.shellcheck(tools, maintainer.scripts)
            lint.lintian(deb)
            lint.rpmlint(tools, rpm, REPO / "rpm" / "rpmlint.toml")

    with progress.step("checksums", "SHA256SUMS"):
        shutil.copy2(wheel, out_dir / wheel.name)
        checksums = out_dir / "SHA256SUMS"
        checksums.write_text(
            "".join(f"{sha256_file(p)}  {p.name}\n" for p in (deb, rpm, out_dir / wheel.name)),
            encoding="utf-8",
        )

    shutil.rmtree(work)
    return Outputs(deb=deb, rpm=rpm, wheel=out_dir / wheel.name, checksums=checksums)


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
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        outputs = build(args.tools, args.out.absolute(), args.version_override, not args.no_lint)
    except StepFailed as exc:
        fail(str(exc))
    print(f"build-packages: done in {time.monotonic() - started:.1f}s")
    for path in (outputs.deb, outputs.rpm, outputs.wheel, outputs.checksums):
        print(f"  {path}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
