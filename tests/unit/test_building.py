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
from typing import Any

import pytest
from juice_host import MINIMAL, JuiceHost

from orangeqs.juice import __version__
from orangeqs.juice.host import systemd
from orangeqs.juice.orchestration.building import Mode, choose_mode
from orangeqs.juice.paths import HostPaths

FAKE_PODMAN = r"""#!{python}
import fcntl, hashlib, json, os, re, sys, time
log = os.environ["FAKE_PODMAN_LOG"]
args = sys.argv[1:]
with open(log, "a") as handle:
    handle.write(json.dumps(args) + "\n")

# The image store: a JSON list of images as `podman images --format json` prints them.
lock = open(log + ".lock", "w")
fcntl.flock(lock, fcntl.LOCK_EX)
store_file = log + ".store"
images = json.load(open(store_file)) if os.path.exists(store_file) else []
def save():
    with open(store_file, "w") as out:
        json.dump(images, out)
def find(ref):
    return next((i for i in images if ref in i["Names"] or i["Id"] == ref), None)
def name(image, ref):
    for other in images:
        if ref in other["Names"]:
            other["Names"].remove(ref)
    image["Names"].append(ref)
if args[:2] == ["image", "exists"]:
    sys.exit(0 if find(args[2]) else 1)
if args[0] == "images":
    key = args[-1].split("=", 1)[1]
    print(json.dumps([i for i in images if key in (i["Labels"] or {})]))
    sys.exit(0)
if args[0] == "tag":
    if os.environ.get("FAKE_PODMAN_TAG_FAIL"):
        print("Error: tag refused", file=sys.stderr)
        sys.exit(125)
    image = find(args[1])
    for ref in args[2:]:
        name(image, ref)
    save()
    sys.exit(0)
if args[0] == "rmi":
    # juice must never let podman prune parents: they are the build cache.
    if "--no-prune" not in args:
        print("fake podman: rmi without --no-prune", file=sys.stderr)
        sys.exit(125)
    image = find([arg for arg in args[1:] if not arg.startswith("-")][0])
    if image["Containers"]:
        print("image is in use by a container", file=sys.stderr)
        sys.exit(2)
    images.remove(image)
    save()
    sys.exit(0)
if args[0] == "pull":
    # A registry that has every identity juice asks for, unless FAKE_PODMAN_PULL_MISSING.
    ref = args[-1]
    if os.environ.get("FAKE_PODMAN_PULL_MISSING"):
        print(f"Error: reading manifest {ref.rsplit(':', 1)[1]}: manifest unknown",
              file=sys.stderr)
        sys.exit(125)
    image = {
        "Id": hashlib.sha256(ref.encode()).hexdigest(), "Names": [],
        "Labels": {"org.orangeqs.juice.digest": ref.rsplit(":id-", 1)[1]}, "Size": 1000,
        "Containers": 0, "Created": 1,
        "Digest": "sha256:" + hashlib.sha256(f"manifest {ref}".encode()).hexdigest(),
    }
    images.append(image)
    name(image, ref)
    save()
    print(image["Id"])
    sys.exit(0)
if args[:2] == ["image", "inspect"]:
    print(json.dumps([find(args[2])]))
    sys.exit(0)
if args[0] == "build" and args[args.index("--file") + 1].endswith("Containerfile.lock"):
    # juice's lock step: uv would write the lock into the project folder it mounts.
    project = next(v.split(":")[0] for v in args if v.endswith(":/opt/juice-build/lock"))
    with open(os.path.join(project, "uv.lock"), "w") as out:
        out.write('version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n[[package]]\n'
                  'name = "juice-environment"\nversion = "0"\nsource = { virtual = "." }\n')
    if os.environ.get("FAKE_PODMAN_LOCK_FAIL"):
        print("Error: building at STEP: exit status 1", file=sys.stderr)
        sys.exit(1)
    status = os.environ.get("FAKE_UV_LOCK_STATUS", "0")
    with open(os.path.join(project, "uv-lock.out"), "w") as out:
        if status != "0":
            out.write("error: The lockfile at `uv.lock` needs to be updated\n")
    with open(os.path.join(project, "uv-lock.status"), "w") as out:
        out.write(status + "\n")
    sys.exit(0)
if args[0] == "build":
    fcntl.flock(lock, fcntl.LOCK_UN)  # builds run in parallel
    context = args[-1]
    print("STEP 1/9: FROM base")
    time.sleep(float(os.environ.get("FAKE_PODMAN_SLEEP", "0")))
    if os.path.basename(context) in os.environ.get("FAKE_PODMAN_FAIL", "").split(","):
        print("error: dependency cannot be resolved", file=sys.stderr)
        sys.exit(1)
    fcntl.flock(lock, fcntl.LOCK_EX)
    images = json.load(open(store_file)) if os.path.exists(store_file) else []
    # The labels are on the Containerfile's LABEL line.
    containerfile = open(args[args.index("--file") + 1]).read()
    label_line = [line for line in containerfile.splitlines() if line.startswith("LABEL ")][-1]
    labels = dict(re.findall(r'([\w.-]+)="([^"]*)"', label_line))
    image = {
        "Id": hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest(),
        "Names": [], "Labels": labels, "Size": 1000, "Containers": 0,
        "Created": max([i["Created"] for i in images] + [0]) + 1,
    }
    images = [i for i in images if i["Id"] != image["Id"]] + [image]
    for tag in [a for a, p in zip(args[1:], args) if p == "--tag"]:
        name(image, tag)
    save()
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


def calls(log: Path, lock_steps: bool = False) -> list[list[str]]:
    """The fake's podman calls; without juice's lock steps (builds in a lock work folder)
    unless `lock_steps`."""
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [call for call in found if lock_steps or not _lock_step(call)]


def _lock_step(call: list[str]) -> bool:
    return call[0] == "build" and call[-1].endswith(".work")


TWO_SERVICES = MINIMAL + textwrap.dedent(
    """
    [services.good]
    [services.broken.environment]
    base_image = "docker.io/library/debian:bookworm-slim"
    dependencies = ["no-such-package-anywhere"]
    """
)


def store(log: Path) -> list[dict[str, Any]]:
    """The fake's images."""
    images: list[dict[str, Any]] = json.loads(Path(f"{log}.store").read_text())
    return images


def builds(log: Path) -> list[str]:
    """The environments podman build was called for, in order."""
    return [Path(call[-1]).name for call in calls(log) if call[0] == "build"]


def test_without_systemd_builds_run_directly_and_say_so(host: JuiceHost, fake_podman: Path) -> None:
    host.write_config(MINIMAL)
    result = host.run("env", "build", "--all")
    assert result.exit_code == 0, result.output
    assert "direct mode" in result.output
    assert builds(fake_podman) == ["singleuser"]
    build = next(call for call in calls(fake_podman) if call[0] == "build")
    unit = (host.paths.unit_dir / "juice-singleuser-build.service").read_text()
    # The same command as the unit's ExecStart (which has the absolute podman path).
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_start.split(" ", 1)[1].endswith(" ".join(build))
    # No prune after a build: juice removes superseded images itself.
    assert "ExecStopPost" not in unit
    assert not [call for call in calls(fake_podman) if "prune" in call]
    log = host.paths.build_log("singleuser").read_text()
    assert "STEP 1/9" in log


def test_an_unchanged_environment_is_not_built_again(host: JuiceHost, fake_podman: Path) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    before = store(fake_podman)
    result = host.run("env", "build", "--all")
    assert result.exit_code == 0, result.output
    assert builds(fake_podman) == ["singleuser"]
    assert "singleuser: up to date (localhost/juice-singleuser:" in result.output
    assert store(fake_podman) == before
    # --force runs podman build anyway.
    assert host.run("env", "build", "--force").exit_code == 0
    assert builds(fake_podman) == ["singleuser", "singleuser"]


def test_one_failure_does_not_stop_the_others_and_names_the_ways_out(
    host: JuiceHost, fake_podman: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host.write_config(TWO_SERVICES)
    monkeypatch.setenv("FAKE_PODMAN_FAIL", "broken")
    result = host.run("env", "build", "--all", "--jobs", "1")
    assert result.exit_code == 1
    # good has singleuser's configuration: one build makes the image of both.
    assert set(builds(fake_podman)) == {"singleuser", "broken"}
    assert "2 of 3 environment image(s) built" in result.output
    log = host.paths.build_log("broken")
    assert f"log:   {log}" in result.output
    assert "retry: juice env build broken" in result.output
    assert "dependency cannot be resolved" in log.read_text()
    assert f"no image for orangeqs-juice-core {__version__}: broken;" in result.output
    assert "install the previous orangeqs-juice package again" in result.output
    status = json.loads(host.run("env", "status", "--json").output)
    assert {row["name"]: row["state"] for row in status} == {
        "singleuser": "up to date",
        "good": "up to date",
        "broken": "not built",
    }


def test_without_names_only_what_changed_is_built(host: JuiceHost, fake_podman: Path) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    assert host.run("env", "status", "--check").exit_code == 0

    host.write_config(
        MINIMAL + "[services.new]\n[services.own.environment]\nbase_image = 'debian:12'\n"
    )
    result = host.run("env", "build", "--json")
    assert result.exit_code == 0, result.output
    assert builds(fake_podman) == ["singleuser", "own"]
    report = json.loads(result.stdout)
    # new has singleuser's configuration: it gets singleuser's image, no build.
    assert {row["name"]: row["outcome"] for row in report["results"]} == {
        "singleuser": "up to date",
        "new": "reused",
        "own": "built",
    }
    images = {image["Id"]: image["Names"] for image in store(fake_podman)}
    assert sorted(map(sorted, images.values())) == [
        sorted(
            f"localhost/juice-{name}:{tag}"
            for name in ("new", "singleuser")
            for tag in (__version__, f"id-{report['results'][0]['digest']}")
        ),
        sorted(
            f"localhost/juice-own:{tag}"
            for tag in (__version__, f"id-{report['results'][2]['digest']}")
        ),
    ]
    assert report["core_version"] == __version__


def test_a_config_change_builds_and_going_back_reuses(host: JuiceHost, fake_podman: Path) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    first = store(fake_podman)[0]["Id"]
    host.write_config(MINIMAL + "dependencies = ['numpy']\n")
    result = host.run("env", "status", "--check")
    assert result.exit_code == 1
    assert "outdated" in result.output
    assert host.run("env", "build").exit_code == 0
    assert host.run("env", "status", "--check").exit_code == 0

    history = json.loads(host.run("env", "history", "--json").output)
    assert [entry["in_use"] for entry in history] == [True, False]
    rolled = host.run("env", "rollback", "singleuser")
    assert rolled.exit_code == 0, rolled.output
    assert json.loads(host.run("env", "status", "--json").output)[0]["state"] == "rolled back"
    # Back to the first configuration: its image is kept, so no build.
    host.write_config(MINIMAL)
    result = host.run("env", "build")
    assert result.exit_code == 0, result.output
    assert builds(fake_podman) == ["singleuser", "singleuser"]
    version_ref = f"localhost/juice-singleuser:{__version__}"
    assert version_ref in next(i for i in store(fake_podman) if i["Id"] == first)["Names"]


def test_gc_keeps_the_configured_generations(host: JuiceHost, fake_podman: Path) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    for dependency in ("numpy", "six"):
        host.write_config(MINIMAL + f"dependencies = ['{dependency}']\n")
        assert host.run("env", "build").exit_code == 0
    # One core version built all three: its newest, and one step back to roll back to.
    assert len(store(fake_podman)) == 2
    assert json.loads(host.run("env", "gc", "--json").output) == []


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
    # The second waited for the first's image, and so needs no build of its own.
    assert builds(fake_podman) == ["singleuser"]
    assert "singleuser: up to date" in second.stdout


def test_push_without_a_registry_is_bad_input(host: JuiceHost, fake_podman: Path) -> None:
    path = host.write_config(MINIMAL)

    result = host.run("env", "push", "--all")

    assert result.exit_code == 2, result.output
    assert f"no registry to push to: set [images] registry = 'HOST[:PORT]/PATH' in {path}" in (
        result.stderr
    )
    assert calls(fake_podman) == []


def test_push_of_an_environment_not_built_names_the_build_to_run(
    host: JuiceHost, fake_podman: Path
) -> None:
    host.write_config(MINIMAL + "[images]\nregistry = 'registry.lab.example:5000/juice'\n")

    result = host.run("env", "push", "singleuser", "--json")

    assert result.exit_code == 1, result.output
    (row,) = json.loads(result.stdout)
    assert row["pushed"] is False
    assert "run 'juice env build singleuser' first" in row["detail"]
    assert row["references"][0].startswith("registry.lab.example:5000/juice/juice-singleuser:id-")
    assert "singleuser: not pushed: no image built from the files rendered now" in result.stderr
    assert not [call for call in calls(fake_podman) if call[0] == "push"]


def test_a_failed_tag_of_a_shared_image_fails_only_that_environment(
    host: JuiceHost, fake_podman: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host.write_config(MINIMAL + "[services.twin]\n[services.own.environment]\nbase_image = 'x'\n")
    assert host.run("env", "build", "singleuser", "own").exit_code == 0
    monkeypatch.setenv("FAKE_PODMAN_TAG_FAIL", "1")

    # twin has singleuser's configuration: juice names singleuser's image for it.
    result = host.run("env", "build", "--all", "--json")

    assert result.exit_code == 1, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)["results"]}
    assert {name: row["outcome"] for name, row in rows.items()} == {
        "singleuser": "up to date",
        "own": "up to date",
        "twin": "failed",
    }
    assert "tag refused" in rows["twin"]["detail"]
    assert builds(fake_podman) == ["singleuser", "own"]


def test_a_build_removes_juices_unnamed_image_and_never_an_administrators(
    host: JuiceHost, fake_podman: Path
) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "build").exit_code == 0
    (built,) = store(fake_podman)
    # Both carry juice's labels and no name; podman's names history tells them apart:
    # juice's own image whose names moved on, and one an administrator built FROM it.
    leftover = {**built, "Id": "7a042182b16e" + "0" * 52, "Names": [], "Created": 0,
                "History": list(built["Names"])}  # fmt: skip
    theirs = {**built, "Id": "ad" * 32, "Names": [], "Created": 0,
              "History": ["localhost/lab-tools:1"]}  # fmt: skip
    Path(f"{fake_podman}.store").write_text(json.dumps([built, leftover, theirs]))

    history = json.loads(host.run("env", "history", "--json").output)
    assert [(entry["environment"], entry["image_id"]) for entry in history] == [
        ("singleuser", built["Id"])
    ]
    result = host.run("env", "build")

    assert result.exit_code == 0, result.output
    assert (
        f"juice: removed an unnamed image juice built (core {__version__}, 7a042182b16e)"
    ) in result.output
    assert "image of  " not in result.output
    assert [image["Id"] for image in store(fake_podman)] == [built["Id"], theirs["Id"]]


REGISTRY = "registry.lab.example:5000/juice"


def test_every_environment_sharing_a_pulled_image_says_where_it_came_from(
    host: JuiceHost, fake_podman: Path
) -> None:
    host.write_config(
        MINIMAL + f"[services.twin]\n[images]\nregistry = '{REGISTRY}'\nsource = 'pull-or-build'\n"
    )
    # twin has singleuser's configuration: one pull, and juice names that image for twin.
    assert host.run("env", "build", "--all").exit_code == 0
    (pull,) = [call for call in calls(fake_podman) if call[0] == "pull"]
    (image,) = store(fake_podman)
    origin = f"{pull[-1].rsplit(':', 1)[0]}@{image['Digest']}"

    status = json.loads(host.run("env", "status", "--json").output)
    history = json.loads(host.run("env", "history", "--json").output)
    table = host.run("env", "status").output

    assert {row["name"]: row["pulled_from"] for row in status} == {
        "singleuser": origin,
        "twin": origin,
    }
    assert {entry["environment"]: entry["pulled_from"] for entry in history} == {
        "singleuser": origin,
        "twin": origin,
    }
    assert "built here" not in table
    assert table.count(f"pulled {origin[: origin.index('@sha256:') + 20]}") == 2


def test_pull_or_build_with_locks_made_here_says_once_why_nothing_was_pulled(
    host: JuiceHost, fake_podman: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host.write_config(
        MINIMAL + "[services.twin]\n[services.own.environment]\nbase_image = 'x'\n"
        f"[images]\nregistry = '{REGISTRY}'\nsource = 'pull-or-build'\n"
    )
    monkeypatch.setenv("FAKE_PODMAN_PULL_MISSING", "1")

    # No locks from a build host: this host locks on its own, so no identity it asks
    # the registry for was ever pushed.
    result = host.run("env", "build", "--all")

    assert result.exit_code == 0, result.output
    assert set(builds(fake_podman)) == {"singleuser", "own"}
    hints = [line for line in result.output.splitlines() if "hint" in line]
    assert hints == [
        "juice: hint: nothing in the registry for singleuser, own, twin, whose locks this "
        "host made in this run: an image's identity includes its lock, so this host asked "
        "for images the build host never built. Give this host the build host's locks "
        f"({host.paths.locks_dir}/<name>/; docs/locks.md, a second host) and run 'juice env "
        "build' again to pull them"
    ]

    # The locks are there before the run (as if copied): a miss is the registry's, no hint.
    Path(f"{fake_podman}.store").unlink()
    result = host.run("env", "build", "--all", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hint"] == ""
    assert "is not in the registry" in result.stderr
    assert "hint" not in result.stderr
