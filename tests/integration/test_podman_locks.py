"""Locked environments with real uv and real podman, against a package index on 127.0.0.1.

The index (PEP 503, served by the test) holds the six wheels the test gives it; the
builds reach it with --network=host (build.podman_args) and find it first through uv's
extra-index-url (pyproject_toml_extra). Everything else, orangeqs-juice-core's own
dependencies, comes from PyPI through the host's CA bundle (BUILD_SETTINGS).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib
from support import CACHE_DIR, file_lock
from support.core_versions import REPO, build_wheel, checkout_as_version
from support.http import serve_directory
from support.podman import BUILD_SETTINGS, CA_IN_BUILDS, HOST_CA_BUNDLE, private_store
from support.wheels import download, fetch_wheels, write_index

from orangeqs.juice import __version__

pytestmark = pytest.mark.podman

JUICE = Path(sys.executable).parent / "juice"
SIX = ["six==1.16.0", "six==1.17.0"]
V2 = "99.0.0"
# Every installed distribution as name==version, sorted: a `pip freeze` of the image.
FREEZE = (
    "import importlib.metadata as m; "
    "print('\\n'.join(sorted(f\"{d.metadata['Name'].lower()}=={d.version}\" "
    "for d in m.distributions())))"
)


class Lab:
    """A juice root with the core wheel, run against one podman store."""

    def __init__(self, root: Path, env: dict[str, str], core_wheel: Path) -> None:
        self.root, self.env = root, env
        (root / "etc/juice/config").mkdir(parents=True, exist_ok=True)
        dist = root / "opt/orangeqs/juice/dist"
        dist.mkdir(parents=True, exist_ok=True)
        shutil.copy(core_wheel, dist)

    def configure(self, text: str) -> None:
        (self.root / "etc/juice/config/orchestration.toml").write_text(text)

    def juice(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(JUICE), "--root", str(self.root), *args],
            env=self.env, capture_output=True, text=True, check=False, timeout=1200,
        )  # fmt: skip

    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *args], env=self.env, capture_output=True, text=True, check=check,
            timeout=600,
        )  # fmt: skip

    def lock_file(self, name: str) -> Path:
        return self.root / "var/lib/juice/locks" / name / "uv.lock"

    def freeze(self, name: str) -> list[str]:
        image = f"localhost/juice-{name}:{__version__}"
        ran = self.podman("run", "--rm", "--network=none", image, "python", "-c", FREEZE)
        return ran.stdout.split()

    def six(self, name: str) -> str:
        return next(line for line in self.freeze(name) if line.startswith("six=="))

    def build_as(self, core: Path) -> subprocess.CompletedProcess[str]:
        """`juice env build` of the core version whose source tree is `core` (its wheel
        in `core`/wheel, which this root's dist folder gets): a package upgrade."""
        shutil.copy(next((core / "wheel").glob("*.whl")), self.root / "opt/orangeqs/juice/dist")
        return subprocess.run(
            [sys.executable, "-m", "orangeqs.juice.cli", "--root", str(self.root), "env", "build"],
            env={**self.env, "PYTHONPATH": str(core / "src")},
            capture_output=True, text=True, check=False, timeout=1200,
        )  # fmt: skip

    def remove_images(self, *names: str) -> None:
        for name in names:
            listed = self.podman("images", "-q", "--filter", f"reference=localhost/juice-{name}")
            for image in set(listed.stdout.split()):
                self.podman("rmi", "--force", image, check=False)


def environment(section: str, base_image: str, extra: str, podman_args: list[str]) -> str:
    head = textwrap.dedent(
        f"""
        [{section}]
        type = "uv"
        base_image = "{base_image}"
        python_source = "system"
        dependencies = ["six"]
        pyproject_toml_extra = {extra}
        [{section}.build]
        """
    )
    return head + BUILD_SETTINGS + f"podman_args = {json.dumps(podman_args)}\n"


def index_config(base_image: str, url: str, services: tuple[str, ...] = ()) -> str:
    extra = f'{{ tool = {{ uv = {{ extra-index-url = ["{url}/simple"] }} }} }}'
    text = environment("environments.default", base_image, extra, ["--network=host"])
    for service in services:
        text += f"\n[services.{service}]\n"
    return text


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The index directory (six 1.16.0 only, to begin with) and its URL."""
    directory = tmp_path / "index"
    write_index(directory, [fetch_wheels(SIX)["six==1.16.0"]])
    with serve_directory(directory) as url:
        yield directory, url


@pytest.fixture
def lab(
    tmp_path: Path, core_wheel: Path, base_image: str, podman_env: dict[str, str]
) -> Iterator[Lab]:
    lab = Lab(tmp_path / "root", podman_env, core_wheel)
    names = ["singleuser", "nonsense", "badhash", "airgapped"]
    lab.remove_images(*names)
    yield lab
    lab.remove_images(*names)


def test_the_lock_keeps_six_until_upgraded_and_a_second_host_gets_the_same(
    lab: Lab, index: tuple[Path, str], base_image: str, tmp_path: Path
) -> None:
    directory, url = index
    lab.configure(index_config(base_image, url))
    first = lab.juice("env", "build", "singleuser")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "singleuser: lock created" in first.stdout
    assert "+ six 1.16.0" in first.stdout
    assert lab.six("singleuser") == "six==1.16.0"
    lock = lab.lock_file("singleuser").read_text()
    assert f'registry = "{url}/simple"' in lock

    # 1.17.0 appears; images and their layers go: the rebuild still installs the lock.
    write_index(directory, fetch_wheels(SIX).values())
    lab.remove_images("singleuser")
    again = lab.juice("env", "build", "singleuser")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "singleuser: lock" not in again.stdout, again.stdout  # nothing asked for one
    assert lab.six("singleuser") == "six==1.16.0"
    assert lab.lock_file("singleuser").read_text() == lock
    check = lab.juice("env", "lock", "--check", "singleuser")
    assert check.returncode == 0, check.stdout + check.stderr

    # A second host (its own root and podman store) with the same locks: the same packages.
    second = second_host(lab, tmp_path, base_image)
    second.configure(index_config(base_image, url))
    shutil.copytree(lab.root / "var/lib/juice/locks", second.root / "var/lib/juice/locks")
    built = second.juice("env", "build", "singleuser")
    assert built.returncode == 0, built.stdout + built.stderr
    assert second.freeze("singleuser") == lab.freeze("singleuser")

    # An upgrade on purpose, and the diff says what moved.
    upgrade = lab.juice("env", "lock", "--upgrade", "singleuser")
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert "singleuser: lock updated" in upgrade.stdout
    assert "six 1.16.0 → 1.17.0" in upgrade.stdout
    rebuilt = lab.juice("env", "build", "singleuser")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert lab.six("singleuser") == "six==1.17.0"


@pytest.fixture(scope="module")
def core_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's package as version V2 (nothing else changed): its source tree,
    with its wheel in `wheel/`."""
    tree = checkout_as_version(tmp_path_factory.mktemp("core-v2"), V2)
    build_wheel(tree, tree / "wheel")
    return tree


def test_a_new_core_keeps_the_lock_and_the_third_party_layer(
    lab: Lab, index: tuple[Path, str], base_image: str, core_v2: Path
) -> None:
    _, url = index
    lab.configure(index_config(base_image, url))
    first = lab.juice("env", "build")
    assert first.returncode == 0, first.stdout + first.stderr
    before = lab.freeze("singleuser")
    lock = lab.lock_file("singleuser").read_bytes()

    upgrade = lab.build_as(core_v2)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    # The lock holds the third-party packages only (the package pins its own wheel): the
    # same requirements, the same lock, and no uv run before the build.
    assert "singleuser: lock" not in upgrade.stdout, upgrade.stdout
    assert lab.lock_file("singleuser").read_bytes() == lock
    assert "orangeqs-juice-core" not in lock.decode()
    # The third-party layer came from the build cache.
    log = (lab.root / "var/log/juice/build-singleuser.log").read_text().splitlines()
    step = next(i for i, line in enumerate(log) if "uv pip install" in line)
    assert log[step + 1].startswith("--> Using cache"), "\n".join(log[step - 2 : step + 4])
    after = subprocess.run(
        ["podman", "run", "--rm", f"localhost/juice-singleuser:{V2}", "python", "-c", FREEZE],
        env=lab.env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert [line for line in after if line not in before] == [f"orangeqs-juice-core=={V2}"]


def second_host(lab: Lab, tmp_path: Path, base_image: str) -> Lab:
    """Another root with its own podman store, holding only the base image."""
    store = private_store(tmp_path / "host2", base_image)
    core_wheel = next((lab.root / "opt/orangeqs/juice/dist").glob("*.whl"))
    return Lab(tmp_path / "root2", store.env, core_wheel)


def lab_package_requiring_the_core(folder: Path) -> Path:
    """The wheel of a lab package that requires orangeqs-juice-core (as a service package
    that imports orangeqs.juice does)."""
    (folder / "labplugin").mkdir(parents=True)
    (folder / "labplugin/__init__.py").write_text("")
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [project]
            name = "labplugin"
            version = "0.1"
            dependencies = ["orangeqs-juice-core"]
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"
            [tool.setuptools]
            packages = ["labplugin"]
            """
        )
    )
    uv = Path(sys.executable).parent / "uv"
    subprocess.run([str(uv), "build", "--wheel", "--out-dir", str(folder / "dist")], cwd=folder,
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    return next((folder / "dist").glob("labplugin-*.whl"))


def test_a_lab_package_that_requires_the_core_keeps_the_core_in_the_lock(
    lab: Lab, index: tuple[Path, str], base_image: str, core_v2: Path, tmp_path: Path
) -> None:
    directory, url = index
    write_index(directory, [lab_package_requiring_the_core(tmp_path / "labplugin")])
    config = index_config(base_image, url).replace(
        'dependencies = ["six"]', 'dependencies = ["six", "labplugin"]'
    )
    lab.configure(config)
    first = lab.juice("env", "build")
    assert first.returncode == 0, first.stdout + first.stderr
    # Resolved against the package's own wheel (no index has orangeqs-juice-core).
    packages = tomllib.loads(lab.lock_file("singleuser").read_text())["package"]
    (core,) = [package for package in packages if package["name"] == "orangeqs-juice-core"]
    assert core["source"]["path"].endswith(".whl"), core

    upgrade = lab.build_as(core_v2)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert f"orangeqs-juice-core {__version__} → {V2}" in upgrade.stdout, upgrade.stdout
    after = subprocess.run(
        ["podman", "run", "--rm", f"localhost/juice-singleuser:{V2}", "python", "-c", FREEZE],
        env=lab.env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert f"orangeqs-juice-core=={V2}" in after and "labplugin==0.1" in after


def test_a_bad_lock_fails_its_environment_only(
    lab: Lab, index: tuple[Path, str], base_image: str
) -> None:
    _, url = index
    lab.configure(index_config(base_image, url, services=("nonsense", "badhash")))
    first = lab.juice("env", "build", "--all")
    assert first.returncode == 0, first.stdout + first.stderr

    nonsense = lab.lock_file("nonsense")
    nonsense.write_text("this is [not a lock\n")
    badhash = lab.lock_file("badhash")
    # Every hash of six (its sdist's and its wheel's) no longer matches its files.
    text = badhash.read_text()
    start = text.index('[[package]]\nname = "six"')
    end = text.find("[[package]]", start + 1)
    end = len(text) if end < 0 else end
    six = re.sub("sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, text[start:end])
    assert six != text[start:end]
    badhash.write_text(text[:start] + six + text[end:])

    result = lab.juice("env", "build", "--all")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"nonsense: lock failed ({nonsense})" in result.stdout, output
    assert f"✗ nonsense: lock {nonsense}:" in result.stdout, output
    assert "✗ badhash:" in result.stdout and str(badhash) in result.stdout, output
    assert "hash" in result.stdout.split("✗ badhash:")[1].lower(), output
    assert "singleuser: up to date" in result.stdout, output
    assert lab.six("singleuser") == "six==1.16.0"
    check = lab.juice("env", "lock", "--check", "--json")
    assert check.returncode == 1
    outcomes = {row["name"]: row["outcome"] for row in json.loads(check.stdout)}
    assert outcomes["nonsense"] == "stale" and outcomes["singleuser"] == "current"


def test_no_network_builds_from_a_wheelhouse_and_names_what_is_missing(
    lab: Lab, base_image: str, core_wheel: Path, tmp_path: Path
) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    shutil.copytree(wheelhouse_cache(core_wheel), wheelhouse)
    section = "environments.default"
    extra = '{ tool = { uv = { find-links = ["/wheels"], no-index = true } } }'
    text = environment(section, base_image, extra, ["--network=none"])
    text = text.replace(
        f'volumes = ["{HOST_CA_BUNDLE}:{CA_IN_BUILDS}:ro"]',
        f'volumes = ["{HOST_CA_BUNDLE}:{CA_IN_BUILDS}:ro", "{wheelhouse}:/wheels:ro"]',
    )
    lab.configure(text)
    built = lab.juice("env", "build")
    assert built.returncode == 0, built.stdout + built.stderr
    assert lab.six("singleuser") == "six==1.16.0"

    # The same build with six missing from the wheelhouse: the failure names it.
    for wheel in wheelhouse.glob("six-*.whl"):
        wheel.unlink()
    lab.remove_images("singleuser")
    failed = lab.juice("env", "build")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    reason = failed.stdout.split("✗ singleuser:")[1]
    assert f"installing from the lock {lab.lock_file('singleuser')}" in reason, failed.stdout
    assert "six was not found in the provided package locations" in reason, failed.stdout


def wheelhouse_cache(core_wheel: Path) -> Path:
    """six 1.16.0 and every wheel orangeqs-juice-core needs, for Debian 12's Python 3.11
    (fetched once into the suite cache, per set of core requirements)."""
    requirements = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:12]
    cache = CACHE_DIR / f"wheelhouse-py311-{requirements}"
    with file_lock(CACHE_DIR / "wheelhouse.lock"):
        if not (cache / ".complete").exists():
            cache.mkdir(parents=True, exist_ok=True)
            download(["--python-version", "3.11", str(core_wheel), "six==1.16.0"], cache)
            for wheel in cache.glob("orangeqs_juice_core-*.whl"):
                wheel.unlink()  # the core comes from the host's dist folder
            (cache / ".complete").write_text("")
    return cache
