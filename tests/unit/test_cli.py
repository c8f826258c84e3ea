"""The CLI's read-only commands and its generated units under systemd-analyze."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from click.testing import CliRunner
from juice_host import MINIMAL, JuiceHost
from test_building import fake_podman  # noqa: F401  (fixture)

from orangeqs.juice import __version__
from orangeqs.juice.cli import main
from orangeqs.juice.environments.core_source import wheel_filename


def test_version_names_the_bundled_wheel_when_there_is_one(host: JuiceHost) -> None:
    result = host.run("--version")
    assert result.exit_code == 0
    assert f"juice (orangeqs-juice-core) {__version__}" in result.output
    assert "installed in:" in result.output
    assert f"package registry (orangeqs-juice-core=={__version__})" in result.output

    host.paths.dist_dir.mkdir(parents=True)
    wheel = host.paths.dist_dir / wheel_filename(__version__)
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("orangeqs/juice/__init__.py", "")
        archive.writestr(
            f"orangeqs_juice_core-{__version__}.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: orangeqs-juice-core\nVersion: {__version__}\n",
        )
    result = host.run("--version")
    assert f"core source for environments: bundled wheel {wheel}" in result.output
    # The root applies whatever the order of the options.
    runner = CliRunner()
    late = runner.invoke(main, ["--version", "--root", str(host.root)])
    assert f"bundled wheel {wheel}" in late.output


def test_a_wheel_that_is_not_a_zip_is_refused(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    host.paths.dist_dir.mkdir(parents=True)
    (host.paths.dist_dir / wheel_filename(__version__)).write_bytes(b"truncated download")
    result = host.run("env", "render")
    assert result.exit_code == 1
    assert "is not a wheel" in result.stderr
    assert host.generated() == []


def test_a_wheel_without_its_metadata_is_refused(host: JuiceHost) -> None:
    # Its requirements are what the third-party layer installs: none found is no answer.
    host.write_config(MINIMAL)
    host.paths.dist_dir.mkdir(parents=True)
    with zipfile.ZipFile(host.paths.dist_dir / wheel_filename(__version__), "w") as archive:
        archive.writestr("orangeqs/juice/__init__.py", "")
    result = host.run("env", "render")
    assert result.exit_code == 1
    assert "has no single .dist-info/METADATA" in result.stderr
    assert host.generated() == []


def test_unreadable_wheel_is_an_error_not_a_broken_build(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    host.paths.dist_dir.mkdir(parents=True)
    (host.paths.dist_dir / wheel_filename(__version__)).mkdir()  # unreadable as a file
    result = host.run("env", "render")
    assert result.exit_code == 1
    assert "cannot be read" in result.stderr
    assert host.generated() == []


def test_list_shows_whose_config_each_environment_uses_and_its_image_state(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811  (podman at the adapter boundary, not the machine's)
) -> None:
    config = MINIMAL + "[services.a]\n[services.b.environment]\nbase_image = 'debian:12'\n"
    host.write_config(config)
    rows = json.loads(host.run("env", "list", "--json").output)
    assert [(row["name"], row["config"], row["image"], row["state"]) for row in rows] == [
        ("singleuser", "default", f"localhost/juice-singleuser:{__version__}", "not built"),
        ("a", "default", f"localhost/juice-a:{__version__}", "not built"),
        ("b", "own", f"localhost/juice-b:{__version__}", "not built"),
    ]
    assert host.run("env", "build", "a", "b", "--mode", "direct").exit_code == 0
    host.write_config(config.replace("debian:12", "debian:13"))

    rows = json.loads(host.run("env", "list", "--json").output)

    assert [(row["name"], row["state"]) for row in rows] == [
        ("singleuser", "not built"),
        ("a", "up to date"),
        ("b", "outdated"),
    ]
    table = host.run("env", "list").output.splitlines()
    assert table[0].split() == ["NAME", "IMAGE", "CONFIG", "STATE"]


def test_config_show_json_is_the_resolved_config(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    host.write_config("[services.x]\n", name="orchestration.d/x.toml")
    data = json.loads(host.run("config", "show", "--json").output)
    assert len(data["files"]) == 2
    assert data["environments"]["default"]["python_source"] == "managed"
    assert "x" in data["services"]


def test_render_twice_changes_nothing(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    first = host.run("env", "render")
    assert "4 file(s) changed" in first.output
    tree = host.tree()
    second = host.run("env", "render")
    assert "0 file(s) changed, 4 unchanged" in second.output
    assert host.tree() == tree


def test_generated_units_pass_systemd_analyze_verify(host: JuiceHost) -> None:
    # Never a skip: CI must verify the units (scripts/setup-host installs systemd).
    assert shutil.which("systemd-analyze"), "systemd-analyze is needed: run scripts/setup-host"
    host.write_config(
        MINIMAL
        + "container.environment = { A = 'quote \" and $dollar and 100%' }\n"
        + "[services.svc]\ncommand = ['sh', '-c', 'echo \"$HOME\" 50%']\n"
    )
    assert host.run("env", "render").exit_code == 0
    units = sorted(host.paths.unit_dir.glob("*.service"))
    assert len(units) == 3
    # verify requires the executables to exist; podman is installed by scripts/setup-host.
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


def test_render_all_is_explicit_and_exclusive_with_names(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "render", "--all").exit_code == 0
    result = host.run("env", "render", "--all", "singleuser")
    assert result.exit_code == 2
    assert "not both" in result.output


def test_plain_progress_never_draws_a_live_display() -> None:
    from io import StringIO

    from rich.console import Console

    from orangeqs.juice.orchestration.building import BuildResult, Outcome
    from orangeqs.juice.reporting import ConsoleReporter

    buffer = StringIO()
    # force_terminal: as under apt, which gives maintainer scripts a pseudo-terminal.
    console = Console(file=buffer, force_terminal=True, force_interactive=True, width=200)
    reporter = ConsoleReporter(console, live=False)
    reporter.planned(["a"], [])
    reporter.started("a")
    reporter.finished(BuildResult("a", Outcome.BUILT, "image", "digest", "log", "retry", "", 1.0))
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2
    assert "building a" in lines[0]
    assert "built" in lines[1]


def test_files_of_a_removed_service_are_removed_and_nothing_else(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "[services.old]\ncommand = ['true']\n[services.kept]\n")
    assert host.run("env", "render").exit_code == 0
    admins_unit = host.paths.unit_dir / "juice-custom.service"
    admins_unit.write_text("[Service]\nExecStart=/bin/true\n")
    host.paths.lock_file.write_text("")

    host.write_config(MINIMAL + "[services.kept]\n")
    result = host.run("env", "render", "kept")  # also when rendering only some

    assert result.exit_code == 0
    units = host.paths.unit_dir
    assert not (units / "juice-old-build.service").exists()
    assert not (units / "juice-old.service").exists()
    assert not host.paths.env_dir("old").exists()
    assert f"removed {units / 'juice-old.service'}" in result.output
    assert (units / "juice-kept-build.service").exists()
    assert host.paths.env_dir("singleuser").exists()
    assert admins_unit.exists()
    assert host.paths.lock_file.exists()


def test_version_imports_neither_pydantic_nor_rich_nor_jinja2() -> None:
    # `juice --version` runs in every maintainer script: it must stay cheap to start.
    probe = (
        "import sys; from orangeqs.juice import cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pydantic', 'rich', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == "[]"


def test_status_renders_no_template(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    # `juice env status` compares identities (computed from the templates' values) with
    # the images; it writes nothing, so it needs no template engine, and starts faster.
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    probe = (
        "import sys; from orangeqs.juice import cli\n"
        f"try:\n    cli.main(['--root', {str(host.root)!r}, 'env', 'status', '--json'])\n"
        "except SystemExit:\n    pass\n"
        "print('jinja2' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    *status, imported = out.splitlines()
    assert json.loads("\n".join(status))[0]["state"] == "up to date"
    assert imported == "False"
