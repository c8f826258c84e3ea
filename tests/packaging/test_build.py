"""What scripts/build-packages writes: contents, dependencies, no build paths, no .pyc,
reproducibility, lint, and a failing step that names itself."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from juice_packaging.targets import TARGETS, Target
from support import CACHE_DIR, REPO_ROOT
from support.packages import BuiltPackages, run_build

from orangeqs.juice.ownership import GENERATED_MARKER

VENV = "opt/orangeqs/juice/venv"


@pytest.fixture(scope="module", params=list(TARGETS))
def target_name(request: pytest.FixtureRequest) -> str:
    """Every test here runs for every target's packages."""
    return str(request.param)


def extract_deb(deb: Path, dest: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    return dest


def extract_rpm(rpm: Path, dest: Path) -> Path:
    # rpm2archive (from rpm) instead of rpm2cpio | cpio: cpio is not installed here.
    dest.mkdir(parents=True)
    with rpm.open("rb") as stdin:
        archive = subprocess.run(["rpm2archive", "-"], stdin=stdin, capture_output=True, check=True)
    subprocess.run(["tar", "-xz", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


@pytest.fixture(scope="module")
def payloads(v1: BuiltPackages, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("payloads")
    return {"deb": extract_deb(v1.deb, base / "deb"), "rpm": extract_rpm(v1.rpm, base / "rpm")}


def test_outputs_and_checksums(v1: BuiltPackages, target: Target) -> None:
    number, abi = target.version_id, target.python.replace(".", "")
    assert v1.deb.name == f"orangeqs-juice_0.9.0~rc1+deb{number}_amd64.deb"
    assert v1.rpm.name == f"orangeqs-juice-0.9.0~rc1-1.py{abi}.x86_64.rpm"
    assert v1.wheel.name == "orangeqs_juice_core-0.9.0rc1-py3-none-any.whl"
    lines = v1.checksums.read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((v1.checksums.parent / name).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("kind", ["deb", "rpm"])
def test_payload_layout(payloads: dict[str, Path], kind: str, target: Target) -> None:
    root = payloads[kind]
    python = f"/usr/bin/python{target.python}"
    assert (root / VENV / "bin" / "juice").is_file()
    assert (root / VENV / "bin" / "uv").is_file(), "image builds mount the venv's uv"
    assert (root / "usr/bin/juice").readlink() == Path("/opt/orangeqs/juice/venv/bin/juice")
    assert (root / VENV / f"bin/python{target.python}").readlink() == Path(python)
    assert (
        root / "opt/orangeqs/juice/dist/orangeqs_juice_core-0.9.0rc1-py3-none-any.whl"
    ).is_file()
    # The .deb ships its default outside /etc (postinst installs it once); the .rpm as
    # %config(noreplace). Either way: the source file, headed by the version.
    config = {
        "deb": "usr/share/orangeqs-juice/orchestration.toml",
        "rpm": "etc/juice/config/orchestration.toml",
    }
    shipped = [p for p in config.values() if (root / p).exists()]
    assert shipped == [config[kind]]
    text = (root / config[kind]).read_text()
    assert text.startswith("# The default configuration of orangeqs-juice 0.9.0rc1.\n")
    assert text.endswith((REPO_ROOT / "packaging/config/orchestration.toml").read_text())
    cfg = (root / VENV / "pyvenv.cfg").read_text()
    assert "home = /usr/bin\n" in cfg
    assert f"command = {python} -m venv /opt/orangeqs/juice/venv\n" in cfg
    assert not (root / VENV / ".gitignore").exists()


@pytest.mark.parametrize("kind", ["deb", "rpm"])
def test_no_bytecode_and_no_build_path(payloads: dict[str, Path], kind: str) -> None:
    root = payloads[kind]
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert len(files) > 500
    assert not [p for p in files if p.suffix in (".pyc", ".pyo")]
    assert not list(root.rglob("__pycache__"))
    # The build stages under .cache/package-build inside the repository: neither path
    # may appear in any file (shebangs, activate scripts, RECORD, direct_url.json, ...).
    needles = [str(REPO_ROOT).encode(), str(CACHE_DIR / "package-build").encode()]
    leaks = [str(p) for p in files if any(n in p.read_bytes() for n in needles)]
    assert leaks == []
    shebang = (root / VENV / "bin" / "juice").read_bytes().splitlines()[0]
    assert shebang == b"#!/opt/orangeqs/juice/venv/bin/python"


def test_deb_metadata(v1: BuiltPackages, target: Target) -> None:
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(v1.deb), "Package", "Version", "Architecture", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Version: 0.9.0~rc1+deb{target.version_id}\n" in fields
    assert "Architecture: amd64\n" in fields
    depends = fields.split("Depends: ")[1].strip().split(", ")
    assert depends[:2] == [f"python{target.python}", "podman"]
    control = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(v1.deb)], capture_output=True, check=True
    ).stdout
    members = subprocess.run(
        ["tar", "-t"], input=control, capture_output=True, check=True
    ).stdout.decode()
    # No conffile: dpkg could prompt about it on an upgrade (docs/packaging.md).
    assert "./conffiles" not in members.split()
    assert {"./postinst", "./postrm", "./prerm"} <= set(members.split())
    # The generated scripts, not the templates: fragments spliced in, the core's marker.
    postrm = subprocess.run(
        ["tar", "-xO", "./postrm"], input=control, capture_output=True, check=True
    ).stdout.decode()
    assert f"'{GENERATED_MARKER}'*)" in postrm and "\n#include" not in postrm


def test_rpm_metadata(v1: BuiltPackages, target: Target) -> None:
    def query(*args: str) -> str:
        return subprocess.run(
            ["rpm", "-qp", *args, str(v1.rpm)], capture_output=True, text=True, check=True
        ).stdout

    abi = target.python.replace(".", "")
    assert query("--qf", "%{VERSION}-%{RELEASE}") == f"0.9.0~rc1-1.py{abi}"
    requires = query("--requires").splitlines()
    assert f"python(abi) = {target.python}" in requires
    assert "podman" in requires
    flags = query("--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]")
    assert "cn /etc/juice/config/orchestration.toml" in flags  # %config(noreplace)
    scripts = query("--scripts")
    for slot in ("postinstall", "preuninstall", "postuninstall", "posttrans"):
        assert f"{slot} scriptlet" in scripts
    assert f"'{GENERATED_MARKER}'*)" in scripts and "\n#include" not in scripts


def test_deb_is_reproducible_and_rpm_too(
    v1: BuiltPackages, target_name: str, tmp_path: Path
) -> None:
    """A second build of the same sources and SOURCE_DATE_EPOCH gives the same bytes."""
    result = run_build(v1.version, tmp_path, target=target_name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / v1.deb.name).read_bytes() == v1.deb.read_bytes()
    assert (tmp_path / v1.rpm.name).read_bytes() == v1.rpm.read_bytes()
    assert (tmp_path / v1.wheel.name).read_bytes() == v1.wheel.read_bytes()


def test_lintian_and_rpmlint_pass(v1: BuiltPackages) -> None:
    """No errors or warnings beyond those overridden (with reasons) in the repository."""
    lintian = subprocess.run(
        ["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", str(v1.deb)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lintian.returncode == 0, lintian.stdout + lintian.stderr
    rpmlint = subprocess.run(
        [str(CACHE_DIR / "packaging-tools/bin/rpmlint"), "--config",
         str(REPO_ROOT / "rpm/rpmlint.toml"), str(v1.rpm)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert " 0 errors, 0 warnings" in rpmlint.stdout, rpmlint.stdout + rpmlint.stderr


def test_a_failing_step_says_which_and_why(tmp_path: Path) -> None:
    result = run_build("1.0+local", tmp_path)
    assert result.returncode == 1
    assert 'step "version" failed' in result.stderr
    assert "local version label" in result.stderr
    assert not list(tmp_path.iterdir())


def test_an_unknown_target_is_refused_with_a_close_match(tmp_path: Path) -> None:
    result = run_build("1.0.0", tmp_path, target="debian-13")
    assert result.returncode == 2
    assert "unknown target 'debian-13' (did you mean debian13?)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not tmp_path.exists() or not list(tmp_path.iterdir())
