"""`juice env build` without systemd (direct mode), with a fake podman on PATH.

The fake stands in at the adapter boundary only; tests/integration builds with real podman.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from juice_host import MINIMAL, JuiceHost

from orangeqs.juice.host import systemd
from orangeqs.juice.orchestration.building import Mode, choose_mode
from orangeqs.juice.paths import HostPaths

FAKE_PODMAN = r"""#!{python}
import json, os, sys, time
log = os.environ["FAKE_PODMAN_LOG"]
with open(log, "a") as handle:
    handle.write(json.dumps(sys.argv[1:]) + "\n")
args = sys.argv[1:]
def image_file(image):
    return log + "." + image.replace("/", "_")
if args[:2] == ["image", "exists"]:
    sys.exit(0 if os.path.exists(image_file(args[2])) else 1)
if args[:2] == ["image", "inspect"]:
    print(open(image_file(args[-1])).read())
    sys.exit(0)
if args[0] == "images":
    repository = args[-1].split("=", 1)[1]
    prefix = os.path.basename(image_file(repository + ":"))
    for name in sorted(os.listdir(os.path.dirname(log))):
        if name.startswith(prefix):
            print(repository + ":" + name[len(prefix):])
    sys.exit(0)
if args[0] == "untag":
    image, names = args[1], args[2:]
    if not names:  # as podman does: every tag of that image
        labels = open(image_file(image)).read()
        folder, stem = os.path.split(log)
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if name.startswith(stem + ".") and open(path).read() == labels:
                os.remove(path)
    for ref in names:
        os.remove(image_file(ref))
    sys.exit(0)
if args[0] == "build":
    context = args[-1]
    print("STEP 1/9: FROM base")
    time.sleep(float(os.environ.get("FAKE_PODMAN_SLEEP", "0")))
    if os.path.basename(context) in os.environ.get("FAKE_PODMAN_FAIL", "").split(","):
        print("error: dependency cannot be resolved", file=sys.stderr)
        sys.exit(1)
    labels = dict(a.split("=", 1) for a, p in zip(args[1:], args) if p == "--label")
    for tag in [a for a, p in zip(args[1:], args) if p == "--tag"]:
        with open(image_file(tag), "w") as out:
            out.write(json.dumps(labels))
"""


@pytest.fixture
def fake_podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    podman = bin_dir / "podman"
    podman.write_text(FAKE_PODMAN.replace("{python}", sys.executable))
    podman.chmod(podman.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "podman.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PODMAN_LOG", str(log))
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


TWO_SERVICES = MINIMAL + textwrap.dedent(
    """
    [services.good]
    [services.broken.environment]
    base_image = "docker.io/library/debian:bookworm-slim"
    dependencies = ["no-such-package-anywhere"]
    """
)


def test_without_systemd_builds_run_directly_and_say_so(host: JuiceHost, fake_podman: Path) -> None:
    host.write_config(MINIMAL)
    result = host.run("env", "build", "--all")
    assert result.exit_code == 0, result.output
    assert "direct mode" in result.output
    builds = [call for call in calls(fake_podman) if call[0] == "build"]
    assert len(builds) == 1
    unit = (host.paths.unit_dir / "juice-singleuser-build.service").read_text()
    # The same command as the unit's ExecStart (which has the absolute podman path).
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_start.split(" ", 1)[1].endswith(" ".join(builds[0]))
    assert exec_start.startswith("ExecStart=/usr/bin/flock --shared ")
    # And the prune after it, as the unit's ExecStopPost.
    assert [c for c in calls(fake_podman) if c[:2] == ["image", "prune"]][-1] == [
        "image",
        "prune",
        "-f",
        "--filter",
        "label=org.orangeqs.juice.digest",
    ]
    log = host.paths.build_log("singleuser").read_text()
    assert "STEP 1/9" in log


def test_the_image_of_an_older_core_version_is_untagged_and_pruned(
    host: JuiceHost, fake_podman: Path
) -> None:
    host.write_config(MINIMAL)
    old = "localhost/juice-singleuser:0.0.1"
    Path(f"{fake_podman}.{old.replace('/', '_')}").write_text("{}")
    assert host.run("env", "build", "--all").exit_code == 0
    untags = [call for call in calls(fake_podman) if call[0] == "untag"]
    assert untags == [["untag", old, old]]
    assert calls(fake_podman)[-1][:2] == ["image", "prune"]
    # The current version's tag and latest stay.
    tags = [c for c in calls(fake_podman) if c[0] == "images"]
    assert len(tags) == 1
    assert Path(f"{fake_podman}.localhost_juice-singleuser:latest").exists()


def test_one_failure_does_not_stop_the_others(
    host: JuiceHost, fake_podman: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host.write_config(TWO_SERVICES)
    monkeypatch.setenv("FAKE_PODMAN_FAIL", "broken")
    result = host.run("env", "build", "--all", "--jobs", "1")
    assert result.exit_code == 1
    built = {Path(call[-1]).name for call in calls(fake_podman) if call[0] == "build"}
    assert built == {"singleuser", "good", "broken"}
    assert "2 of 3 environment image(s) built" in result.output
    log = host.paths.build_log("broken")
    assert f"log:   {log}" in result.output
    assert "retry: juice env build broken" in result.output
    assert "dependency cannot be resolved" in log.read_text()


def test_without_names_only_what_changed_is_built(host: JuiceHost, fake_podman: Path) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    assert host.run("env", "status", "--check").exit_code == 0

    host.write_config(MINIMAL + "[services.new]\n")
    before = len(calls(fake_podman))
    result = host.run("env", "build")
    assert result.exit_code == 0, result.output
    assert "up to date, not rebuilt: singleuser" in result.output
    new_builds = [c for c in calls(fake_podman)[before:] if c[0] == "build"]
    assert [Path(c[-1]).name for c in new_builds] == ["new"]

    status = json.loads(host.run("env", "status", "--json").output)
    assert {row["name"]: row["state"] for row in status} == {
        "singleuser": "up to date",
        "new": "up to date",
    }


def test_a_config_change_makes_the_image_outdated(host: JuiceHost, fake_podman: Path) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    host.write_config(MINIMAL + "dependencies = ['numpy']\n")
    result = host.run("env", "status", "--check")
    assert result.exit_code == 1
    assert "outdated" in result.output


def test_a_bad_config_is_reported_before_podman_is_looked_for(
    host: JuiceHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    host.write_config(MINIMAL.replace("bookworm-slim", "Bad Image"))
    monkeypatch.setenv("PATH", "/nonexistent")
    result = host.run("env", "build", "--all")
    assert result.exit_code == 2
    assert "environments.default.base_image" in result.stderr
    # Only the lock file: it is taken before the configuration is read.
    assert host.generated() == []


def test_named_volumes_are_for_the_running_container_only(
    host: JuiceHost, fake_podman: Path
) -> None:
    host.write_config(
        MINIMAL + "container.volumes = ['scratch:/scratch', '/data:/data:ro']\n"
        "[services.svc]\ncommand = ['true']\n"
    )
    assert host.run("env", "build", "--all").exit_code == 0
    build = next(call for call in calls(fake_podman) if call[0] == "build")
    assert "/data:/data:ro" in build
    assert "scratch:/scratch" not in build
    run_unit = (host.paths.unit_dir / "juice-svc.service").read_text()
    assert "-v scratch:/scratch" in run_unit


def test_missing_podman_is_a_clear_error(host: JuiceHost, monkeypatch: pytest.MonkeyPatch) -> None:
    host.write_config(MINIMAL)
    monkeypatch.setenv("PATH", "/nonexistent")
    result = host.run("env", "build", "--all")
    assert result.exit_code == 1
    assert "podman is not installed" in result.stderr
    assert host.generated() == []


def test_mode_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_root = HostPaths.under(Path("/"))
    monkeypatch.setattr(systemd, "SYSTEMD_RUNTIME_DIR", tmp_path / "absent")
    assert choose_mode(Mode.AUTO, real_root)[0] is Mode.DIRECT
    with pytest.raises(RuntimeError, match="not booted with systemd"):
        choose_mode(Mode.SYSTEMD, real_root)

    monkeypatch.setattr(systemd, "SYSTEMD_RUNTIME_DIR", tmp_path)
    assert choose_mode(Mode.AUTO, real_root)[0] is Mode.SYSTEMD
    # Units under another root are invisible to the host's systemd.
    mode, reason = choose_mode(Mode.AUTO, HostPaths.under(tmp_path))
    assert mode is Mode.DIRECT
    assert str(tmp_path) in reason


def test_concurrent_builds_serialize_on_the_lock(
    host: JuiceHost, fake_podman: Path, tmp_path: Path
) -> None:
    host.write_config(MINIMAL)
    juice = Path(sys.executable).parent / "juice"
    env = {**os.environ, "FAKE_PODMAN_SLEEP": "1.5", "JUICE_ROOT": str(host.root)}
    first = subprocess.Popen(
        [juice, "env", "build", "--all"], env=env, stdout=subprocess.PIPE, text=True
    )
    # Wait until the first holds the lock (its build has started).
    for _ in range(100):
        if any(call[0] == "build" for call in calls(fake_podman)):
            break
        subprocess.run(["sleep", "0.05"], check=True)
    second = subprocess.run(
        [juice, "env", "build", "--all"], env=env, capture_output=True, text=True, check=False
    )
    first_out, _ = first.communicate(timeout=30)
    assert first.returncode == 0, first_out
    assert second.returncode == 0, second.stdout + second.stderr
    assert "waiting for it" in second.stdout
    # Strictly one build after the other: build, prune, build, prune.
    sequence = [call[0] for call in calls(fake_podman) if call[0] in ("build", "image")]
    assert sequence == ["build", "image", "build", "image"]
