"""A field configuration builds with real podman: the container user has the host ids
of [data_folder], editable sources resolve under shared_lib_path (the lab package in
OrangeQS Juice's shared folder among them), a wheel source under /dist installs from the
host's wheels folder, and extra_dockerfile_lines see the real template's build arguments
and continue across items.

The configuration is the one a new OrangeQS Juice host has, with its juice_data_user.toml
drop-in (tests/unit/field_configs/data-user), and two changes this machine needs: the
local base image (no registry is reachable) with its own python3, and the host CA bundle
for the build. An editable source from an absolute host path is added, to see it mounted
under shared_lib_path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.podman import BUILD_SETTINGS

from orangeqs.juice import __version__

pytestmark = pytest.mark.podman

JUICE = Path(sys.executable).parent / "juice"
FIELD_CONFIG = Path(__file__).parents[1] / "unit/field_configs/data-user"
# What the services of this core version run (one tag per core version).
IMAGE = f"localhost/juice-singleuser:{__version__}"


def python_package(folder: Path, name: str) -> Path:
    """A minimal installable package `name` in `folder`."""
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text("")
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "{name}"
            version = "0.1"
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"
            [tool.setuptools]
            packages = ["{name}"]
            """
        )
    )
    return folder


def podman(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_field_config_builds_with_the_data_users_ids_and_editable_sources(
    tmp_path: Path, core_wheel: Path, base_image: str, podman_env: dict[str, str]
) -> None:
    root = tmp_path / "root"
    config_dir = root / "etc/juice/config"
    shutil.copytree(FIELD_CONFIG, config_dir)
    main = config_dir / "orchestration.toml"
    field = main.read_text()
    lab = 'sources = { lab = { editable = true, path = "~/shared/lib/lab" }}'
    assert lab in field
    # The absolute host path: mounted at <shared_lib_path>/drivers.
    drivers = python_package(tmp_path / "src/drivers", "drivers")
    # OrangeQS Juice's wheels folder, mounted at /dist as on its hosts.
    wheels = root / "var/lib/juice/dist"
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "build", "--wheel", "--out-dir", str(wheels)],
        cwd=python_package(tmp_path / "src/labwheel", "labwheel"),
        check=True,
        capture_output=True,
        # The same bytes every run: the build's layer cache does not see mounted files,
        # and uv refuses an installed labwheel 0.1 whose hash differs.
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
    )
    (wheel,) = wheels.glob("labwheel-*.whl")
    extra_lines = (
        "extra_dockerfile_lines = ['RUN mkdir -p $SHARED_DIR \\', "
        "'  && echo $USERNAME $USER_UID $USER_GID $HOME_DIR $SHARED_DIR $ENV_DIR "
        "> /etc/juice-args']\n"
        # Two values in one ENV instruction: quotes and a dollar sign stay as written.
        "container.environment = { LAB_NAME = 'Delft \"QL\" $1', TZ = 'Europe/Amsterdam' }\n"
    )
    main.write_text(
        field.replace(
            'type = "uv"\n',
            f'type = "uv"\nbase_image = "{base_image}"\npython_source = "system"\n' + extra_lines,
        )
        .replace('dependencies = ["lab"]', 'dependencies = ["lab", "drivers", "labwheel"]')
        .replace(
            lab,
            lab[:-1] + f', drivers = {{ editable = true, path = "{drivers}" }}, '
            f'labwheel = {{ path = "/dist/{wheel.name}" }} }}',
        )
        + f"\n[environments.default.build]\n{BUILD_SETTINGS}"
    )
    # ~/shared is the host's shared folder, OrangeQS Juice's: the lab source is there.
    shared = root / "var/lib/juice/user/shared"
    python_package(shared / "lib/lab", "lab")
    dist = root / "opt/orangeqs/juice/dist"
    dist.mkdir(parents=True)
    shutil.copy(core_wheel, dist)
    env = {**podman_env, "PATH": f"{JUICE.parent}{os.pathsep}{podman_env['PATH']}"}
    subprocess.run(["podman", "rmi", "--force", IMAGE], env=env, capture_output=True)

    build = subprocess.run(
        [str(JUICE), "--root", str(root), "env", "build", "--all"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = root / "var/log/juice/build-singleuser.log"
    assert build.returncode == 0, (
        build.stdout + build.stderr + (log.read_text() if log.exists() else "")
    )

    ids = podman(env, "run", "--rm", IMAGE, "sh", "-c", "id -un; id -u; id -g; echo ~")
    assert ids.splitlines() == ["user", "991", "985", "/home/user"]
    arguments = podman(env, "run", "--rm", IMAGE, "cat", "/etc/juice-args")
    assert arguments == "user 991 985 /home/user /home/user/shared /env"
    values = podman(env, "run", "--rm", IMAGE, "sh", "-c", 'echo "$LAB_NAME|$TZ"')
    assert values == 'Delft "QL" $1|Europe/Amsterdam'
    # Installed from the wheel in the wheels folder: no mount needed to import it.
    assert podman(env, "run", "--rm", IMAGE, "python", "-c", "import labwheel") == ""
    # Run with the mounts the environment's containers get: both sources resolve there.
    found = podman(
        env,
        "run",
        "--rm",
        "-v",
        f"{shared}:/home/user/shared",
        "-v",
        f"{drivers}:/home/user/shared/lib/drivers",
        IMAGE,
        "python",
        "-c",
        "import lab, drivers; print(lab.__file__); print(drivers.__file__)",
    )
    assert found.splitlines() == [
        "/home/user/shared/lib/lab/lab/__init__.py",
        "/home/user/shared/lib/drivers/drivers/__init__.py",
    ]
