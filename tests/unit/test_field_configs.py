"""Configurations as OrangeQS Juice hosts have them: they validate and render unchanged.

The configurations are test data (field_configs/<case>/, each a config directory with
its drop-ins); the exact renders are under expected/field-<case>/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from juice_host import JuiceHost

from orangeqs.juice.environments.core_source import BundledWheel, resolve_core_source
from orangeqs.juice.environments.rendering import RenderedEnvironment, render_environment
from orangeqs.juice.environments.spec import plan_environments
from orangeqs.juice.environments.units import Tools
from orangeqs.juice.paths import HostPaths
from orangeqs.juice.settings import load_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).parent
CONFIGS = HERE / "field_configs"
EXPECTED = HERE / "expected"
CASES = sorted(path.name for path in CONFIGS.iterdir() if path.is_dir())
# Set to regenerate the expected files after an intended change; review the diff.
UPDATE = os.environ.get("JUICE_UPDATE_EXPECTED") == "1"

PATHS = HostPaths.under(Path("/"))
TOOLS = Tools(podman=Path("/usr/bin/podman"), uv=Path("/opt/orangeqs/juice/venv/bin/uv"))
WHEEL = BundledWheel(
    Path("/opt/orangeqs/juice/dist/orangeqs_juice_core-1.2.0-py3-none-any.whl"), "ab" * 32
)


def render_case(case: str) -> list[RenderedEnvironment]:
    settings = load_settings(CONFIGS / case).settings
    rendered = []
    for spec in plan_environments(settings):
        core = resolve_core_source(spec.config, "1.2.0", WHEEL)
        rendered.append(render_environment(spec, core, PATHS, TOOLS))
    return rendered


def test_the_cases_are_the_ones_the_field_has() -> None:
    assert CASES == ["data-user", "full", "new-host", "service", "singleuser"]


@pytest.mark.parametrize("case", CASES)
def test_field_config_renders_exactly_as_expected(case: str) -> None:
    seen = set()
    for environment in render_case(case):
        for name, text in {**environment.files, **environment.units}.items():
            expected = EXPECTED / f"field-{case}" / environment.spec.name / name
            seen.add(expected)
            if UPDATE:
                expected.parent.mkdir(parents=True, exist_ok=True)
                expected.write_text(text)
            assert text == expected.read_text(), f"{expected} differs"
    # An expected file that is no longer rendered is a change too.
    assert {p for p in (EXPECTED / f"field-{case}").rglob("*") if p.is_file()} == seen


def test_a_new_hosts_config_gets_the_real_defaults() -> None:
    (singleuser,) = render_case("new-host")
    config = singleuser.spec.config
    assert config.base_image == "quay.io/almalinuxorg/almalinux:10"
    assert config.python_version == "3.12"
    assert (config.home_path, config.shared_path, config.shared_lib_path) == (
        "/home/user",
        "/home/user/shared",
        "/home/user/shared/lib",
    )
    pyproject = tomllib.loads(singleuser.files["pyproject.toml"])
    assert pyproject["tool"]["uv"]["sources"]["lab"] == {
        "path": "/home/user/shared/lib/lab",
        "editable": True,
    }
    assert (
        "useradd --non-unique --uid 1000 --gid 1000 --home-dir /home/user"
        in (singleuser.files["Containerfile"])
    )


def test_the_data_user_drop_in_gives_the_container_user_its_ids() -> None:
    (singleuser,) = render_case("data-user")
    assert (singleuser.spec.user_id, singleuser.spec.group_id) == (991, 985)
    containerfile = singleuser.files["Containerfile"]
    assert "useradd --non-unique --uid 991 --gid 985" in containerfile
    assert "chown 991:985 /home/user /home/user/shared /home/user/shared/lib" in containerfile


def test_home_and_shared_paths_follow_the_environment() -> None:
    # The full case's user container uses the default environment, which moves them all.
    singleuser = render_case("full")[0]
    assert singleuser.spec.uses_default
    config = singleuser.spec.config
    assert (config.home_path, config.shared_path, config.shared_lib_path) == (
        "/home/lab",
        "/home/lab/data",
        "/opt/lab-src",
    )
    sources = tomllib.loads(singleuser.files["pyproject.toml"])["tool"]["uv"]["sources"]
    assert sources["lab"]["path"] == "/home/lab/shared/lib/lab"
    assert sources["drivers"]["path"] == "/opt/lab-src/drivers"
    build = singleuser.build.build
    assert "/srv/lab/drivers:/opt/lab-src/drivers" in build
    assert "/var/lib/juice/user/shared:/home/lab/data" in build
    assert "WORKDIR /home/lab" in singleuser.files["Containerfile"]


def test_runtime_keys_reach_the_run_unit_and_never_the_build() -> None:
    instruments = {env.spec.name: env for env in render_case("full")}["instruments"]
    run = instruments.units["juice-instruments.service"]
    for option in (
        "-p 8090:8080",
        "-p 5555:5555",
        "--device /dev/ttyUSB0",
        "--device /dev/dri:/dev/dri:rw",
        "-v /dev:/dev",
        '--device-cgroup-rule "c 166:* rwm"',
        '--device-cgroup-rule "c 188:* rwm"',
        "--group-add video --group-add plugdev --group-add dialout",
        "--memory 2G",
    ):
        assert option in run
    build = " ".join(instruments.build.build) + instruments.files["Containerfile"]
    for runtime_only in ("8090", "ttyUSB0", "/dev/dri", "cgroup", "group-add", "--memory"):
        assert runtime_only not in build


def test_usb_passthrough_adds_dialout_once() -> None:
    from orangeqs.juice.environments.units import runtime_args
    from orangeqs.juice.settings.models import ContainerSettings

    args = runtime_args(ContainerSettings(usb_passthrough=True, group_add=["dialout"]))
    assert args.count("dialout") == 1
    assert "--device-cgroup-rule" not in runtime_args(ContainerSettings())


def copy_case(case: str, host: JuiceHost) -> None:
    shutil.copytree(CONFIGS / case, host.paths.config_dir)


@pytest.mark.parametrize("case", CASES)
def test_juice_config_validate_accepts_the_field_config(case: str, host: JuiceHost) -> None:
    copy_case(case, host)
    result = host.run("config", "validate")
    assert result.exit_code == 0, result.output + result.stderr


def test_config_show_prints_every_effective_value(host: JuiceHost) -> None:
    copy_case("new-host", host)
    result = host.run("config", "show")
    assert result.exit_code == 0, result.stderr
    shown = tomllib.loads(result.output)
    default = shown["environments"]["default"]
    assert default["base_image"] == "quay.io/almalinuxorg/almalinux:10"
    assert default["python_version"] == "3.12"
    assert default["home_path"] == "/home/user"
    assert default["shared_lib_path"] == "/home/user/shared/lib"
    assert default["container"]["port_forwarding"] == []
    assert default["container"]["usb_passthrough"] is False
    assert shown["data_folder"] == {
        "user_id": 1000,
        "group_id": 1000,
        "user_data_shared": "/var/lib/juice/user/shared",
        "dist_data": "/var/lib/juice/dist",
    }
    # What the user container uses when it has no environment of its own: the default.
    assert shown["jupyterhub"]["singleuser"]["environment"] == default


@pytest.mark.parametrize("as_json", [False, True])
def test_config_show_prints_the_environment_each_service_uses(
    host: JuiceHost, as_json: bool
) -> None:
    copy_case("service", host)
    host.write_config("[services.plain]\ncommand = 'sleep 1'\n", name="orchestration.d/p.toml")
    result = host.run("config", "show", *(["--json"] if as_json else []))
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.output) if as_json else tomllib.loads(result.output)
    default = shown["environments"]["default"]
    assert shown["services"]["plain"]["environment"] == default
    assert shown["services"]["plain"]["command"] == ["sleep", "1"]
    own = shown["services"]["my-service"]["environment"]
    assert own != default
    assert "matplotlib" in own["dependencies"]
    assert shown["jupyterhub"]["singleuser"]["environment"] == default


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is needed")
def test_a_run_unit_with_every_runtime_key_passes_systemd_analyze_verify(
    host: JuiceHost,
) -> None:
    copy_case("full", host)
    assert host.run("env", "render").exit_code == 0
    unit = host.paths.unit_dir / "juice-instruments.service"
    assert "--device-cgroup-rule" in unit.read_text()
    # verify requires the executables to exist; podman is installed by scripts/setup-host.
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
