"""Rendering: exact expected text for representative configs, and its properties."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from orangeqs.juice.environments.containerfile import CONTAINERFILE_TEMPLATE
from orangeqs.juice.environments.core_source import BundledWheel, CoreSource, resolve_core_source
from orangeqs.juice.environments.rendering import RenderedEnvironment, render_environment
from orangeqs.juice.environments.spec import plan_environments
from orangeqs.juice.environments.templating import template_source
from orangeqs.juice.environments.units import Tools
from orangeqs.juice.host.tools import find_bundled_wheel
from orangeqs.juice.paths import HostPaths
from orangeqs.juice.settings import OrchestrationSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXPECTED = Path(__file__).parent / "expected"
# Set to regenerate the expected files after an intended change; review the diff.
UPDATE = os.environ.get("JUICE_UPDATE_EXPECTED") == "1"

# Rendering is pure: these paths are only written into the text, never touched.
PATHS = HostPaths.under(Path("/"))
TOOLS = Tools(podman=Path("/usr/bin/podman"), uv=Path("/opt/orangeqs/juice/venv/bin/uv"))
WHEEL = BundledWheel(
    Path("/opt/orangeqs/juice/dist/orangeqs_juice_core-1.2.0-py3-none-any.whl"), "ab" * 32
)

# Every field key that exists in the field today, plus the new ones.
FULL = """
[environments.default]
type = "uv"
base_image = "docker.io/library/debian:bookworm-slim"
python_version = "3.12"
dependencies = ["numpy>=2", "qcodes"]
system_packages = ["git", "libhdf5-dev"]
extra_dockerfile_lines = ["RUN echo 'lab specific' > /etc/motd"]
arch = "amd64"
pyproject_toml_extra = '''
[[tool.uv.index]]
name = "lab"
url = "http://127.0.0.1:8080/simple"
'''

[environments.default.sources]
labtools = { path = "/srv/dev/labtools", editable = true }
notebooks = { path = "~/shared/lib/notebooks", editable = true }
qcodes = [
  { git = "http://127.0.0.1:9000/qcodes.git", rev = "v1", marker = "sys_platform == 'linux'" },
  { index = "lab", marker = "sys_platform != 'linux'" },
]

[environments.default.container]
volumes = ["/data:/data:ro", "scratch:/scratch"]
environment = { LAB_NAME = "Delft \\"QL\\" $1", TZ = "Europe/Amsterdam" }

[environments.default.build]
volumes = ["/etc/ssl/certs/ca-certificates.crt:/etc/juice-host-ca.crt:ro"]
environment = { SSL_CERT_FILE = "/etc/juice-host-ca.crt", UV_NATIVE_TLS = "1" }
podman_args = ["--network=host", "--pull=never"]

[services.analysis]
command = ["python", "-m", "analysis", "--label", "50% done"]
"""

SYSTEM = """
[environments.default]
type = "uv"
base_image = "localhost/base:bookworm"
python_source = "system"
system_packages = ["python3"]

[services.control.environment]
base_image = "localhost/base:bookworm"
python_source = "system"
dependencies = ["tomli-w"]
core_source = "registry"
"""


def settings(text: str) -> OrchestrationSettings:
    return OrchestrationSettings.model_validate(tomllib.loads(text))


def render_all(text: str, wheel: BundledWheel | None) -> list[RenderedEnvironment]:
    rendered = []
    for spec in plan_environments(settings(text)):
        core = resolve_core_source(spec.config, "1.2.0", wheel)
        rendered.append(render_environment(spec, core, PATHS, TOOLS))
    return rendered


def all_files(environment: RenderedEnvironment) -> dict[str, str]:
    return {**environment.files, **environment.units}


@pytest.mark.parametrize(
    ("case", "config", "wheel"), [("full", FULL, WHEEL), ("system", SYSTEM, None)]
)
def test_rendered_text_is_exactly_as_expected(
    case: str, config: str, wheel: BundledWheel | None
) -> None:
    seen = set()
    for environment in render_all(config, wheel):
        for name, text in all_files(environment).items():
            expected = EXPECTED / case / environment.spec.name / name
            seen.add(expected)
            if UPDATE:
                expected.parent.mkdir(parents=True, exist_ok=True)
                expected.write_text(text)
            assert text == expected.read_text(), f"{expected} differs"
    # An expected file that is no longer rendered is a change too.
    assert {path for path in (EXPECTED / case).rglob("*") if path.is_file()} == seen


def test_same_inputs_same_bytes() -> None:
    first = [all_files(env) for env in render_all(FULL, WHEEL)]
    second = [all_files(env) for env in render_all(FULL, WHEEL)]
    assert first == second
    assert [env.digest for env in render_all(FULL, WHEEL)] == [
        env.digest for env in render_all(FULL, WHEEL)
    ]


def test_every_service_and_the_user_container_get_their_own_image() -> None:
    specs = plan_environments(settings(SYSTEM + "[services.db]\nport = 1\n"))
    assert [(s.name, s.image, s.uses_default) for s in specs] == [
        ("singleuser", "localhost/juice-singleuser", True),
        ("control", "localhost/juice-control", False),
        ("db", "localhost/juice-db", True),
    ]


def test_environments_of_one_configuration_have_one_identity() -> None:
    singleuser, control, db = render_all(SYSTEM + "[services.db]\nport = 1\n", WHEEL)
    # db uses the default, like singleuser: the same files and build options.
    assert db.digest == singleuser.digest
    assert db.files == singleuser.files
    assert db.build.build != singleuser.build.build  # its own --file, --tag and context
    assert control.digest != singleuser.digest


def test_third_party_layer_comes_before_the_core_layer() -> None:
    environment = render_all(SYSTEM, WHEEL)[0]
    files, digest = environment.files, environment.digest
    containerfile = files["Containerfile"]
    third_party = containerfile.index("COPY third-party.pyproject.toml /env/pyproject.toml")
    core = containerfile.index("COPY pyproject.toml /env/pyproject.toml")
    marker = containerfile.index(f"sha256:{WHEEL.sha256}")
    assert third_party < core < marker
    assert "orangeqs-juice-core" not in files["third-party.pyproject.toml"].split("\n", 1)[1]
    # Nothing after the core layer but switching to the user and, last, the labels,
    # which name no environment (environments of one configuration share the image).
    tail = containerfile[marker:].splitlines()[1:]
    assert [line for line in tail if line.strip() and not line.startswith("#")] == [
        "    UV_COMPILE_BYTECODE=0 /opt/juice-build/bin/uv sync && "
        "(python -m compileall -q /env/.venv/lib || :)",
        "USER user",
        "WORKDIR /home/user",
        f'LABEL org.orangeqs.juice.core-version="1.2.0" org.orangeqs.juice.digest="{digest}"',
    ]
    # Two environments of the same configuration: the same files but for that line.
    rendered = {env.spec.name: env for env in render_all(SYSTEM + "[services.twin]\n", WHEEL)}
    first, second = rendered["singleuser"], rendered["twin"]
    for name in ("pyproject.toml", "third-party.pyproject.toml"):
        assert first.files[name] == second.files[name]
    assert (
        first.files["Containerfile"].splitlines()[1:-1]
        == (second.files["Containerfile"].splitlines()[1:-1])
    )


def third_party_part(containerfile: str) -> str:
    """The Containerfile up to and including the third-party dependency layer."""
    end = containerfile.index("COPY pyproject.toml /env/pyproject.toml")
    return containerfile[:end]


def test_a_new_wheel_changes_only_the_core_layer() -> None:
    old = render_all(SYSTEM, WHEEL)[0].files
    new = render_all(SYSTEM, BundledWheel(WHEEL.path, "cd" * 32))[0].files
    assert old["pyproject.toml"] == new["pyproject.toml"]
    assert old["third-party.pyproject.toml"] == new["third-party.pyproject.toml"]
    changed = [
        (a, b)
        for a, b in zip(
            old["Containerfile"].splitlines(), new["Containerfile"].splitlines(), strict=True
        )
        if a != b
    ]
    # The core layer, and the last line's label that names the new digest.
    assert len(changed) == 2
    assert "orangeqs-juice-core" in changed[0][0]
    assert changed[1][0].startswith("LABEL ") and changed[1][0].endswith('"')
    assert new["Containerfile"].splitlines()[-1] == changed[1][1]


@pytest.mark.parametrize("wheel", [WHEEL, None], ids=["bundled wheel", "registry"])
def test_a_new_core_version_keeps_the_third_party_layer(wheel: BundledWheel | None) -> None:
    def render(version: str) -> dict[str, str]:
        spec = plan_environments(settings(FULL))[0]
        new_wheel = wheel and BundledWheel(Path(f"/dist/core-{version}.whl"), version * 8)
        core = resolve_core_source(spec.config, version, new_wheel)
        return render_environment(spec, core, PATHS, TOOLS).files

    old, new = render("1.2.0"), render("1.3.0")
    assert old["third-party.pyproject.toml"] == new["third-party.pyproject.toml"]
    assert third_party_part(old["Containerfile"]) == third_party_part(new["Containerfile"])
    assert old["pyproject.toml"] != new["pyproject.toml"]


def test_rendering_is_the_same_in_another_process() -> None:
    """No dependence on hash seeds or anything else a process picks at random."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_rendering as t; "
        "print(repr([(e.files, e.units, e.digest) for e in t.render_all(t.FULL, t.WHEEL)]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, str(Path(__file__).parent)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_core_sources() -> None:
    config = settings(SYSTEM).environments.default
    assert resolve_core_source(config, "1.2.0", WHEEL).kind == "wheel"
    assert resolve_core_source(config, "1.2.0", None).requirement() == "orangeqs-juice-core==1.2.0"
    editable = config.model_copy(
        update={
            "sources": settings(
                SYSTEM.replace(
                    'system_packages = ["python3"]',
                    'system_packages = ["python3"]\n'
                    'sources = { orangeqs-juice-core = { path = "/src/juice", editable = true } }',
                )
            ).environments.default.sources
        }
    )
    source = resolve_core_source(editable, "1.2.0", WHEEL)
    assert source.kind == "editable"
    assert source.requirement() == "orangeqs-juice-core"


def test_editable_core_is_mounted_and_installed_from_the_mount() -> None:
    text = SYSTEM.replace(
        'system_packages = ["python3"]',
        'system_packages = ["python3"]\n'
        'sources = { orangeqs-juice-core = { path = "/src/juice-core", editable = true } }',
    )
    singleuser = render_all(text, WHEEL)[0]
    pyproject = tomllib.loads(singleuser.files["pyproject.toml"])
    assert pyproject["tool"]["uv"]["sources"]["orangeqs-juice-core"] == {
        "path": "/home/user/shared/lib/juice-core",
        "editable": True,
    }
    assert "/src/juice-core:/home/user/shared/lib/juice-core" in singleuser.build.build
    assert not any(WHEEL.path.name in arg for arg in singleuser.build.build)


def test_registry_core_is_pinned_to_this_version() -> None:
    control = render_all(SYSTEM, WHEEL)[1]
    assert control.core == CoreSource("registry", "1.2.0")
    assert "orangeqs-juice-core==1.2.0" in control.files["pyproject.toml"]


def test_run_unit_only_for_services_with_a_command() -> None:
    rendered = {env.spec.name: env for env in render_all(FULL, WHEEL)}
    assert set(rendered["analysis"].units) == {
        "juice-analysis-build.service",
        "juice-analysis.service",
    }
    assert set(rendered["singleuser"].units) == {"juice-singleuser-build.service"}


def test_the_core_wheels_requirements_go_into_the_third_party_layer(tmp_path: Path) -> None:
    wheel_path = tmp_path / "orangeqs_juice_core-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel_path, "w") as wheel:
        wheel.writestr(
            "orangeqs_juice_core-1.2.0.dist-info/METADATA",
            "Name: orangeqs-juice-core\nRequires-Dist: click>=8\n"
            "Requires-Dist: uv; extra == 'host'\n",
        )
    found = find_bundled_wheel(tmp_path, "1.2.0")
    assert found is not None and found.requirements == ("click>=8",)
    files = render_all(SYSTEM, found)[0].files
    assert '"click>=8"' in files["third-party.pyproject.toml"]
    # A new core with the same requirements keeps the third-party layer.
    newer = render_all(SYSTEM, BundledWheel(found.path, "cd" * 32, found.requirements))[0]
    assert newer.files["third-party.pyproject.toml"] == files["third-party.pyproject.toml"]


def test_the_containerfile_template_is_one_file() -> None:
    # An image's identity covers the template's text and values, not the rendered file:
    # a template it included, imported or extended would be outside the identity.
    source = template_source(CONTAINERFILE_TEMPLATE)
    assert not re.search(r"{%-?\s*(include|import|from|extends)\b", source)
