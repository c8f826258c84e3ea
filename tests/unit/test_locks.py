"""The pure parts of locking: what changed between two locks, when a build must lock,
the lock step's Containerfile and command, and rendering from a lock.

tests/integration/test_podman_locks.py runs them with real uv and real podman.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from juice_host import MINIMAL, JuiceHost
from test_building import builds, calls, fake_podman  # noqa: F401  (fixture)

from orangeqs.juice.environments.core_source import BundledWheel, CoreSource, resolve_core_source
from orangeqs.juice.environments.locks import (
    Change,
    Locked,
    LockFormatError,
    Pin,
    StoredLock,
    core_required_by_packages,
    diff_locks,
    export_header,
    holds_core,
    kept_export,
    lock_build_argv,
    lock_containerfile,
    lock_needed,
    lock_request_key,
    locked_versions,
    uv_failure,
    uv_lock_arguments,
)
from orangeqs.juice.environments.rendering import RenderedEnvironment, render_environment
from orangeqs.juice.environments.spec import EnvironmentSpec, plan_environments
from orangeqs.juice.environments.units import Tools
from orangeqs.juice.host.locks import read_stored_lock
from orangeqs.juice.paths import HostPaths
from orangeqs.juice.settings import OrchestrationSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXPECTED = Path(__file__).parent / "expected" / "locked"
UPDATE = os.environ.get("JUICE_UPDATE_EXPECTED") == "1"
PATHS = HostPaths.under(Path("/"))
TOOLS = Tools(podman=Path("/usr/bin/podman"), uv=Path("/opt/orangeqs/juice/venv/bin/uv"))
WHEEL = BundledWheel(
    Path("/opt/orangeqs/juice/dist/orangeqs_juice_core-1.2.0-py3-none-any.whl"), "ab" * 32
)


def lock_text(*packages: tuple[str, str]) -> str:
    """A uv.lock with the environment's virtual project and `packages` (name, version)."""
    text = textwrap.dedent(
        """\
        version = 1
        revision = 3
        requires-python = ">=3.11"

        [[package]]
        name = "juice-environment"
        version = "0"
        source = { virtual = "." }
        """
    )
    for name, version in packages:
        text += (
            f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
            'source = { registry = "http://127.0.0.1:8080/simple" }\n'
        )
    return text


def test_the_diff_names_added_removed_and_changed_packages() -> None:
    old = lock_text(("six", "1.16.0"), ("idna", "3.10"), ("attrs", "24.1.0"))
    new = lock_text(("six", "1.17.0"), ("attrs", "24.1.0"), ("numpy", "2.1.0"))
    diff = diff_locks(old, new)
    assert diff.added == [Pin("numpy", "2.1.0")]
    assert diff.removed == [Pin("idna", "3.10")]
    assert diff.changed == [Change("six", "1.16.0", "1.17.0")]
    assert diff.lines() == ["+ numpy 2.1.0", "- idna 3.10", "six 1.16.0 → 1.17.0"]


def test_a_first_lock_adds_everything_and_the_environment_itself_is_no_package() -> None:
    diff = diff_locks(None, lock_text(("six", "1.16.0")))
    assert diff.lines() == ["+ six 1.16.0"]
    assert diff_locks(lock_text(("six", "1.16.0")), lock_text(("six", "1.16.0"))).empty


def test_a_package_locked_at_two_versions_for_different_markers_is_one_entry() -> None:
    text = lock_text(("numpy", "2.2.0"), ("numpy", "1.26.4"))
    assert locked_versions(text) == {"numpy": "1.26.4, 2.2.0"}


@pytest.mark.parametrize(
    "text", ["this is [not a lock", "package = 3\n", "[[package]]\nversion = '1'\n"]
)
def test_a_lock_that_is_not_uv_lock_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(LockFormatError):
        locked_versions(text)


def test_a_build_locks_when_there_is_no_lock_or_the_configuration_changed() -> None:
    assert lock_needed(StoredLock(), "p") == "no lock yet"
    assert lock_needed(StoredLock("lock", "p", "req"), "p") == ""
    assert lock_needed(StoredLock("lock", "old", "req"), "p") == "its configuration changed"
    # Only uv.lock copied from another host: lock again (uv keeps its pins).
    assert lock_needed(StoredLock("lock", None, None), "p") == "its configuration changed"


def test_only_a_usable_lock_is_rendered_from() -> None:
    assert StoredLock("lock", "p", "req").usable() == Locked("lock", "req")
    assert StoredLock("lock", "p", None, "uv export failed").usable() is None
    assert StoredLock().usable() is None


def test_a_kept_export_is_used_only_with_the_lock_it_came_from() -> None:
    lock = lock_text(("six", "1.16.0"))
    kept = export_header(lock) + HASHED
    assert kept_export(lock, kept) == HASHED
    assert kept_export(lock_text(("six", "1.17.0")), kept) is None
    assert kept_export(lock, HASHED) is None and kept_export(lock, None) is None


def test_uv_lock_arguments_keep_pins_unless_asked() -> None:
    assert uv_lock_arguments() == ["lock"]
    assert uv_lock_arguments(upgrade=True) == ["lock", "--upgrade"]
    assert uv_lock_arguments(upgrade_packages=("six", "idna")) == [
        "lock", "--upgrade-package", "six", "--upgrade-package", "idna",
    ]  # fmt: skip
    assert uv_lock_arguments(check=True) == ["lock", "--check"]


SYSTEM = """
[environments.default]
type = "uv"
base_image = "localhost/base:bookworm"
python_source = "system"
dependencies = ["six"]
system_packages = ["git"]

[environments.default.build]
volumes = ["/srv/wheels:/wheels:ro"]
environment = { UV_HTTP_RETRIES = "8" }
podman_args = ["--network=none"]
"""


def render(lock: Locked | None) -> RenderedEnvironment:
    settings = OrchestrationSettings.model_validate(tomllib.loads(SYSTEM))
    (spec,) = plan_environments(settings)
    core = resolve_core_source(spec.config, "1.2.0", WHEEL)
    return render_environment(spec, core, PATHS, TOOLS, lock)


HASHED = "six==1.16.0 \\\n    --hash=sha256:" + "1" * 64 + "\n"
LOCKED = Locked(lock_text(("six", "1.16.0")), HASHED)


def test_a_locked_render_is_exactly_as_expected() -> None:
    rendered = render(LOCKED)
    assert sorted(rendered.files) == [
        "Containerfile", "pyproject.toml", "third-party.pyproject.toml",
        "third-party.requirements.txt", "uv.lock",
    ]  # fmt: skip
    assert rendered.files["uv.lock"] == LOCKED.lock
    assert rendered.locked
    expected = EXPECTED / "Containerfile"
    if UPDATE:
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(rendered.files["Containerfile"])
    assert rendered.files["Containerfile"] == expected.read_text()


def test_the_lock_is_part_of_the_identity() -> None:
    other = Locked(lock_text(("six", "1.17.0")), LOCKED.third_party)
    assert render(LOCKED).digest != render(other).digest
    assert render(LOCKED).digest == render(LOCKED).digest
    assert render(None).digest != render(LOCKED).digest
    assert not render(None).locked


def spec_of(extra: str = "") -> EnvironmentSpec:
    settings = OrchestrationSettings.model_validate(tomllib.loads(SYSTEM + extra))
    (spec,) = plan_environments(settings)
    return spec


CORE_LOCK = lock_text(("six", "1.16.0"), ("orangeqs-juice-core", "1.2.0"))


def test_a_lock_without_the_core_is_made_for_the_file_without_it_and_installs_the_wheel() -> None:
    wheel = replace(WHEEL, requirements=("click>=8",))
    core = CoreSource("wheel", "1.2.0", wheel)
    # No lock yet: the first lock is made for the project with the core.
    fresh = render_environment(spec_of(), core, PATHS, TOOLS, None)
    assert fresh.core_separable and fresh.core_in_lock
    assert fresh.lock_project == fresh.full_project
    # A lock without the core: made for the third-party file (the core's requirements
    # in it), and the core layer installs the wheel alone.
    alone = render_environment(spec_of(), core, PATHS, TOOLS, LOCKED)
    assert not alone.core_in_lock
    assert tomllib.loads(alone.lock_project)["project"]["dependencies"] == ["six", "click>=8"]
    assert f"pip install --no-deps --offline {WHEEL.path}" in alone.files["Containerfile"]
    newer = CoreSource("wheel", "1.3.0", replace(wheel, sha256="cd" * 32))
    upgraded = render_environment(spec_of(), newer, PATHS, TOOLS, LOCKED)
    assert upgraded.lock_project == alone.lock_project, "a new core, the same requirements"
    assert upgraded.digest != alone.digest
    # A lock that holds the core (a lab package requires it): made for the project with
    # the core, and installed from the lock as it is.
    held = render_environment(spec_of(), core, PATHS, TOOLS, Locked(CORE_LOCK, HASHED))
    assert held.core_in_lock and held.lock_project == held.full_project
    assert "uv sync --frozen --offline" in held.files["Containerfile"]
    assert str(WHEEL.path) not in held.files["Containerfile"].split("COPY pyproject.toml")[1]


@pytest.mark.parametrize(
    "extra",
    [
        # The configuration names the core itself: its extras, version or source count.
        "",
        'sources = { orangeqs-juice-core = { git = "https://127.0.0.1/core.git" } }\n',
    ],
    ids=["dependency line", "source"],
)
def test_a_core_the_configuration_names_stays_in_the_lock(extra: str) -> None:
    text = SYSTEM.replace(
        'dependencies = ["six"]', 'dependencies = ["six", "orangeqs-juice-core[host]"]'
    )
    if extra:
        text = SYSTEM.replace(
            "[environments.default.build]", extra + "[environments.default.build]"
        )
    settings = OrchestrationSettings.model_validate(tomllib.loads(text))
    (spec,) = plan_environments(settings)
    rendered = render_environment(spec, CoreSource("wheel", "1.2.0", WHEEL), PATHS, TOOLS, LOCKED)
    assert not rendered.core_separable and rendered.core_in_lock
    assert rendered.lock_project == rendered.full_project
    assert "uv sync --frozen --offline" in rendered.files["Containerfile"]


def test_a_core_from_an_index_stays_in_the_lock() -> None:
    registry = render_environment(spec_of(), CoreSource("registry", "1.2.0"), PATHS, TOOLS, LOCKED)
    assert not registry.core_separable and registry.core_in_lock
    dependencies = tomllib.loads(registry.lock_project)["project"]["dependencies"]
    assert "orangeqs-juice-core==1.2.0" in dependencies


def test_a_package_that_requires_the_core_keeps_it_in_the_lock() -> None:
    assert not core_required_by_packages(CORE_LOCK)
    plugin = CORE_LOCK + (
        '\n[[package]]\nname = "labplugin"\nversion = "0.1"\n'
        'source = { registry = "http://127.0.0.1:8080/simple" }\n'
        'dependencies = [\n    { name = "orangeqs-juice-core" },\n]\n'
    )
    assert core_required_by_packages(plugin)
    assert holds_core(CORE_LOCK) and not holds_core(LOCKED.lock)
    assert holds_core("not [a lock"), "unreadable: uv decides, with the core in"


def test_the_lock_step_is_the_image_up_to_its_python_packages_then_uv_lock() -> None:
    rendered = render(LOCKED)
    containerfile = rendered.files["Containerfile"]
    text = lock_containerfile(containerfile, "/opt/juice-build/bin/uv", ["lock"], "n0nce")
    prefix = containerfile.split("COPY third-party.pyproject.toml")[0]
    assert text.startswith(prefix)
    last = text.splitlines()[-1]
    assert last.startswith("RUN --mount=type=cache,target=/var/cache/juice-uv,id=juice-uv")
    project = "/opt/juice-build/lock"
    assert (
        f': "n0nce" && cd {project} && (/opt/juice-build/bin/uv lock > {project}/uv-lock.out'
        in last
    )
    assert "LABEL" not in text and "third-party" not in text


def test_the_lock_step_runs_with_the_builds_options_and_no_tags() -> None:
    build = render(LOCKED).build.build
    argv = lock_build_argv(build, "/var/lib/juice/locks/.x.work")
    mount = "/var/lib/juice/locks/.x.work:/opt/juice-build/lock"
    assert argv[:4] == ["/usr/bin/podman", "build", "-v", mount]
    assert "--tag" not in argv
    assert argv[argv.index("--file") + 1] == "/var/lib/juice/locks/.x.work/Containerfile.lock"
    assert argv[-1] == "/var/lib/juice/locks/.x.work"
    for option in ("--network=none", "/srv/wheels:/wheels:ro", "UV_HTTP_RETRIES=8"):
        assert option in argv
    assert build.count("-v") + 1 == argv.count("-v")


def test_one_configuration_is_one_lock_request_whatever_the_names() -> None:
    settings = OrchestrationSettings.model_validate(tomllib.loads(SYSTEM + "[services.a]\n"))
    keys = []
    for spec in plan_environments(settings):
        core = resolve_core_source(spec.config, "1.2.0", WHEEL)
        env = render_environment(spec, core, PATHS, TOOLS, LOCKED)
        files = env.files
        keys.append(
            lock_request_key(
                files["Containerfile"], env.build.build, files["pyproject.toml"], LOCKED.lock, []
            )
        )
        other_project = files["pyproject.toml"].replace('"six"', '"six", "idna"')
        assert keys[-1] != lock_request_key(
            files["Containerfile"], env.build.build, other_project, LOCKED.lock, []
        )
        assert keys[-1] != lock_request_key(
            files["Containerfile"], env.build.build, files["pyproject.toml"], None, []
        )
    assert len(keys) == 2 and keys[0] == keys[1]


def test_uv_failure_is_uvs_own_error_lines() -> None:
    output = (
        "warning: something harmless\nUsing CPython 3.11\n"
        "  \u00d7 No solution found when resolving dependencies:\n"
        "  ╰─▶ Because six was not found in the package registry, we can conclude...\n"
    )
    assert uv_failure(output).splitlines() == [
        "  \u00d7 No solution found when resolving dependencies:",
        "  ╰─▶ Because six was not found in the package registry, we can conclude...",
    ]
    assert uv_failure("error: Failed to parse `uv.lock`\n") == "error: Failed to parse `uv.lock`"


# `juice env lock` itself, against the fake podman of test_building (its lock step writes
# a lock with only the environment's own project).


def test_lock_creates_then_checks_and_prints_one_json_shape(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    host.write_config(MINIMAL + "[services.analysis]\n")
    missing = host.run("env", "lock", "--check", "--json")
    assert missing.exit_code == 1, missing.output
    assert {row["outcome"] for row in json.loads(missing.stdout)} == {"missing"}
    assert not host.paths.locks_dir.exists(), "a check writes nothing"

    made = host.run("env", "lock", "--json")
    assert made.exit_code == 0, made.output
    rows = json.loads(made.stdout)
    assert [(row["name"], row["outcome"]) for row in rows] == [
        ("singleuser", "created"),
        ("analysis", "created"),
    ]
    assert set(rows[0]) == {"name", "lock", "outcome", "added", "removed", "changed", "detail"}
    lock = host.paths.lock_dir("singleuser") / "uv.lock"
    assert rows[0]["lock"] == str(lock) and lock.is_file()
    assert (host.paths.lock_dir("singleuser") / "pyproject.toml").is_file()
    # One configuration, one lock step: the second environment took the same lock.
    lock_steps = [call for call in calls(fake_podman, lock_steps=True) if call[0] == "build"]
    assert len(lock_steps) == 1, lock_steps
    # The work folders are gone; only the lock folders stay.
    assert sorted(p.name for p in host.paths.locks_dir.iterdir()) == ["analysis", "singleuser"]

    # Reading the lock needs no uv while its export is the one juice kept beside it.
    no_uv = Path("/nonexistent/uv")
    stored = read_stored_lock(host.paths.lock_dir("singleuser"), no_uv)
    assert stored.problem == "" and stored.third_party is not None, stored
    lock.write_text(lock.read_text() + "\n")  # edited by hand: uv must export it again
    stored = read_stored_lock(host.paths.lock_dir("singleuser"), no_uv)
    assert stored.problem.startswith("could not run uv export"), stored

    checked = host.run("env", "lock", "--check", "singleuser")
    assert checked.exit_code == 0, checked.output
    assert f"singleuser: lock current ({lock})" in checked.output
    again = host.run("env", "lock", "analysis")
    assert again.exit_code == 0 and "analysis: lock unchanged" in again.output


def test_a_render_keeps_the_locks_and_a_build_renders_from_them(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    host.write_config(MINIMAL)
    built = host.run("env", "build")
    assert built.exit_code == 0, built.output
    assert "singleuser: lock created" in built.output
    host.write_config(MINIMAL + "[services.other]\n")
    (row,) = json.loads(host.run("env", "build", "other", "--json").stdout)["locks"]
    assert (row["name"], row["outcome"]) == ("other", "created")
    host.write_config(MINIMAL)
    env_dir = host.paths.env_dir("singleuser")
    lock = host.paths.lock_dir("singleuser") / "uv.lock"
    assert (env_dir / "uv.lock").read_text() == lock.read_text()
    assert (env_dir / "third-party.requirements.txt").is_file()
    assert "uv sync --frozen --offline" in (env_dir / "Containerfile").read_text()
    host.write_config(MINIMAL + "[services.other]\n")
    assert host.run("env", "render").exit_code == 0
    assert lock.is_file()
    rebuilt = host.run("env", "build", "singleuser")
    assert "singleuser: lock" not in rebuilt.output, "nothing asked for a new lock"


def test_going_back_to_the_configuration_before_takes_its_lock_again_without_uv(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    lock_dir = host.paths.lock_dir("singleuser")
    first = {p.name: p.read_text() for p in lock_dir.iterdir()}
    host.write_config(MINIMAL + "dependencies = ['six']\n")
    changed = host.run("env", "build")
    assert changed.exit_code == 0, changed.output
    assert "singleuser: lock unchanged" in changed.output  # the fake's uv keeps its lock
    assert (lock_dir / "previous.pyproject.toml").read_text() == first["pyproject.toml"]
    steps = len([c for c in calls(fake_podman, lock_steps=True) if c[-1].endswith(".work")])

    host.write_config(MINIMAL)
    back = host.run("env", "build")
    assert back.exit_code == 0, back.output
    assert "singleuser: lock restored" in back.output
    as_json = json.loads(host.run("env", "build", "--json").stdout)
    assert as_json["locks"] == [], "nothing to lock: the lock is this configuration's"
    assert {p.name: p.read_text() for p in lock_dir.iterdir() if "previous" not in p.name} == first
    assert len([c for c in calls(fake_podman, lock_steps=True) if c[-1].endswith(".work")]) == steps
    assert "singleuser: reused" in back.output, "its image of that lock was kept"


def test_check_tells_a_stale_lock_from_a_lock_step_that_could_not_run(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "lock").exit_code == 0
    monkeypatch.setenv("FAKE_UV_LOCK_STATUS", "1")
    stale = host.run("env", "lock", "--check", "--json")
    assert stale.exit_code == 1
    (row,) = json.loads(stale.stdout)
    assert row["outcome"] == "stale"
    assert row["detail"] == "error: The lockfile at `uv.lock` needs to be updated"
    monkeypatch.setenv("FAKE_PODMAN_LOCK_FAIL", "1")
    failed = host.run("env", "lock", "--check", "--json")
    assert failed.exit_code == 1
    (row,) = json.loads(failed.stdout)
    assert row["outcome"] == "failed"
    assert row["detail"].startswith("podman build of the lock step exited with 1:")
    # A build whose lock step cannot run fails that environment, naming its lock.
    host.write_config(MINIMAL + "dependencies = ['six']\n")
    build = host.run("env", "build")
    assert build.exit_code == 1, build.output
    lock = host.paths.lock_dir("singleuser") / "uv.lock"
    assert f"✗ singleuser: lock {lock}: podman build of the lock step exited" in build.output
    assert builds(fake_podman) == [], "no image from a lock of another configuration"
    # Its files are the new configuration's, resolving in the build, not the old lock's.
    containerfile = (host.paths.env_dir("singleuser") / "Containerfile").read_text()
    assert "--frozen" not in containerfile and "uv sync" in containerfile


@pytest.mark.parametrize(
    "args", [("--check", "--upgrade"), ("--check", "--package", "six"), ("a", "--all")]
)
def test_lock_refuses_contradicting_options(host: JuiceHost, args: tuple[str, ...]) -> None:
    host.write_config(MINIMAL)
    result = host.run("env", "lock", *args)
    assert result.exit_code == 2, result.output


def test_uvs_words_in_a_failure_are_printed_as_they_are() -> None:
    from rich.console import Console

    from orangeqs.juice.orchestration.building import BuildReport, BuildResult, Outcome
    from orangeqs.juice.reporting import summarize

    detail = "lock /x/uv.lock: error: [tool.uv] in `pyproject.toml` is not valid"
    failed = BuildResult("lab", Outcome.FAILED, "img", "d", "", "juice env build lab", detail, 0)
    console = Console(record=True, width=200)
    assert not summarize(BuildReport("1.0", [failed], [], {}), console)
    text = console.export_text()
    assert f"✗ lab: {detail}" in text
    assert "log:" not in text  # it failed before any build: no log to name


def test_a_host_that_pulls_its_images_does_not_resolve(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
) -> None:
    host.write_config(MINIMAL + '[images]\nregistry = "127.0.0.1:5000/juice"\nsource = "pull"\n')

    refused = host.run("env", "lock")
    built = host.run("env", "build", "--all")

    assert refused.exit_code == 2
    assert "images.source" in refused.stderr and "copy the locks" in refused.stderr
    # The build names the lock to copy, and neither locks, pulls nor builds.
    lock = host.paths.lock_dir("singleuser") / "uv.lock"
    assert built.exit_code == 1
    assert f"lock {lock}: no lock for this configuration" in built.output
    assert "give this host the build host's locks" in built.output
    assert [call[0] for call in calls(fake_podman) if call[0] in ("build", "pull")] == []
    assert not lock.exists()
