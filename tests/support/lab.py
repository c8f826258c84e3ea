"""A booted host set up like a lab host, and what systemd and journald say about units.

`provision_site(host)` does what a lab's provisioning tool does before it installs
orangeqs-juice: a site drop-in for the orchestration config, and the CA bundle builds
need. The other helpers read unit state and the journal of one boot.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # the suite runs on the system Python (3.11 on Debian 12); 3.10 for the type check
    import tomli as tomllib

from support import REPO_ROOT
from support.nspawn import BootedHost
from support.podman import BASE_IMAGE, BUILD_SETTINGS, HOST_CA_BUNDLE
from support.roots import RootCommandError

SHIPPED_CONFIG = REPO_ROOT / "packaging/config/orchestration.toml"
CONFIG_DIR = "/etc/juice/config"
DROP_IN_DIR = f"{CONFIG_DIR}/orchestration.d"
SITE_DROP_IN = f"{DROP_IN_DIR}/20-test-site.toml"
DIST_DIR = "/opt/orangeqs/juice/dist"
PACKAGE = "orangeqs-juice"
# The package's maintainer scripts append their name and arguments here (tests only).
SCRIPTLET_LOG = "/var/log/juice-scriptlets.log"

# Why the site drop-in exists at all (shared by every system test):
# - no container registry is reachable from this machine, so the shipped base image
#   (a registry image) cannot be pulled: builds start from the local test base image;
# - builds need this machine's CA bundle (see support.podman.BUILD_SETTINGS).
SITE_CONFIG = (
    "# Written by the system tests as a lab's provisioning tool would.\n"
    f'[environments.default]\nbase_image = "{BASE_IMAGE}"\n\n'
    f"[environments.default.build]\n{BUILD_SETTINGS}"
)


def shipped_environments() -> list[str]:
    """The environments of the shipped default config: singleuser, then its services."""
    data = tomllib.loads(SHIPPED_CONFIG.read_text())
    return ["singleuser", *sorted(data.get("services", {}))]


def service_environment(name: str, dependencies: list[str]) -> str:
    """A drop-in adding service `name` with an environment of its own.

    A service's environment replaces the default one, so it repeats this machine's base
    image and build settings (see BUILD_SETTINGS).
    """
    section = f"services.{name}.environment"
    return (
        f"[{section}]\n"
        f'base_image = "{BASE_IMAGE}"\npython_source = "system"\n'
        f"dependencies = {json.dumps(dependencies)}\n\n"
        f"[{section}.build]\n{BUILD_SETTINGS}"
    )


def provision_site(host: BootedHost) -> None:
    """The site drop-in and this machine's CA bundle (with the TLS-inspecting CA)."""
    host.copy_in(Path(HOST_CA_BUNDLE), HOST_CA_BUNDLE)
    write_file(host, SITE_DROP_IN, SITE_CONFIG)
    # PID 1 then logs every command it starts for a unit ("About to execute ..."): the
    # journal shows the build unit's podman build.
    host.run(["systemd-analyze", "set-log-level", "debug"])


def package_manager(host: BootedHost, argv: list[str]) -> str:
    """Run apt-get or dnf in the host with the scriptlet log on; stdout and stderr
    together (maintainer scripts write to both). Raises with the output on failure."""
    result = host.run(argv, env={"JUICE_SCRIPTLET_LOG": SCRIPTLET_LOG}, check=False, timeout=1200)
    if result.returncode != 0:
        raise RootCommandError(result.returncode, argv, result.stdout, result.stderr)
    return result.stdout + result.stderr


def write_file(host: BootedHost, path: str, text: str) -> None:
    """Write `text` to `path` inside the booted host (parents created)."""
    host.run(f"mkdir -p \"$(dirname '{path}')\" && cat > '{path}'", input=text)


def build_unit(name: str) -> str:
    """The build unit juice generates for environment `name`."""
    return f"juice-{name}-build.service"


@dataclass(frozen=True)
class UnitState:
    """What `systemctl show` says about a unit now.

    Not its last run: systemd unloads a finished oneshot unit that succeeded, and loads
    it afresh from its file when asked; the journal keeps its runs.
    """

    load_state: str
    fragment: str
    active_state: str
    result: str


def unit_state(host: BootedHost, unit: str) -> UnitState:
    """`systemctl show` of `unit`."""
    keys = ("LoadState", "FragmentPath", "ActiveState", "Result")
    out = host.run(["systemctl", "show", "-p", ",".join(keys), unit]).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return UnitState(*(values.get(key, "") for key in keys))


def journal_cursor(host: BootedHost) -> str:
    """The cursor of the newest journal entry: read later entries with `entries_after`."""
    host.run(["journalctl", "--sync"])
    out = host.run(["journalctl", "--no-pager", "-o", "json", "-n", "1"]).stdout
    cursor: str = json.loads(out.splitlines()[-1])["__CURSOR"]
    return cursor


def unit_entries(host: BootedHost, unit: str, after: str | None = None) -> list[dict[str, Any]]:
    """The journal entries of `unit` (its processes' output and systemd's messages)."""
    host.run(["journalctl", "--sync"])
    argv = ["journalctl", "--no-pager", "-b", "-o", "json", "-u", unit]
    if after:
        argv.append(f"--after-cursor={after}")
    out = host.run(argv, check=False).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def messages(entries: list[dict[str, Any]]) -> list[str]:
    """The MESSAGE of each entry (journald stores non-UTF-8 ones as byte lists)."""
    result = []
    for entry in entries:
        message = entry.get("MESSAGE", "")
        if isinstance(message, list):
            message = bytes(message).decode(errors="replace")
        result.append(str(message))
    return result


def invocations(entries: list[dict[str, Any]]) -> list[str]:
    """The distinct runs of a unit among `entries`, in order (by invocation ID)."""
    seen: dict[str, None] = {}
    for entry in entries:
        invocation = entry.get("_SYSTEMD_INVOCATION_ID") or entry.get("INVOCATION_ID")
        if invocation:
            seen[str(invocation)] = None
    return list(seen)


def image_id(host: BootedHost, name: str, version: str) -> str | None:
    """The ID of localhost/juice-<name>:<version> (what the services of that core version
    run) inside the host, None if it is missing."""
    result = host.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", f"localhost/juice-{name}:{version}"],
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def core_in_image(host: BootedHost, name: str, version: str) -> tuple[str, str]:
    """(`juice --version`, the core's direct_url.json) inside environment `name`'s image.

    The bundled wheel is mounted as the run units mount it, so `juice --version` can name
    it; direct_url.json is what uv recorded about where it installed the core from.
    """
    wheel = f"{DIST_DIR}/orangeqs_juice_core-{version}-py3-none-any.whl"
    image = f"localhost/juice-{name}:{version}"
    mount = ["-v", f"{wheel}:{wheel}:ro"]
    version_out = host.run(["podman", "run", "--rm", *mount, image, "juice", "--version"]).stdout
    origin = host.run(
        [
            "podman", "run", "--rm", image, "python", "-c",
            "import importlib.metadata as m; "
            "print(m.distribution('orangeqs-juice-core').read_text('direct_url.json'))",
        ]
    ).stdout  # fmt: skip
    return version_out, origin


def unit_journal(host: BootedHost, name: str) -> str:
    return host.journal("-u", build_unit(name))


def assert_built_once_since(host: BootedHost, name: str, cursor: str | None) -> str:
    """The environment's build unit ran exactly once after `cursor` and succeeded:
    systemd started the podman build (and nothing after it: no prune), it exited 0; the
    image exists.

    Read from the journal: systemd unloads a finished oneshot unit ("Collecting."), so
    `systemctl show` no longer knows its last run. Returns the run's invocation ID.
    """
    unit = build_unit(name)
    entries = unit_entries(host, unit, after=cursor)
    runs = invocations(entries)
    journal = unit_journal(host, name)
    assert len(runs) == 1, f"{unit} ran {len(runs)} time(s) since the cursor:\n{journal}"
    text = messages(entries)
    # PID 1 logs each command it starts (the host runs systemd at debug log level):
    # "About to execute /usr/bin/..." (systemd 252), "About to execute: ..." (257).
    started = [i for i, m in enumerate(text) if m.startswith(f"{unit}: About to execute")]
    # /usr/bin/podman, or /bin/podman when juice ran with rpm's scriptlet PATH.
    build = [i for i in started if "/podman build " in text[i]]
    assert len(build) == 1 and len(started) == 1, journal
    # podman build's own output went to the unit's journal; it names the image first by
    # its identity tag.
    commits = [m.split()[1] for m in text if m.startswith(f"COMMIT localhost/juice-{name}:id-")]
    assert len(commits) == 1, journal
    exits = [m for m in text if " process exited, code=" in m]
    assert [m.split(": ", 1)[1].split(",")[0] for m in exits] == ["Main process exited"], journal
    assert "status=0/SUCCESS" in exits[0], journal
    jobs = [e["JOB_RESULT"] for e in entries if e.get("JOB_TYPE") == "start" and "JOB_RESULT" in e]
    assert jobs == ["done"], journal
    exists = host.run(["podman", "image", "exists", commits[0]], check=False)
    assert exists.returncode == 0, f"no image for {name}:\n{journal}"
    return runs[0]


def daemon_reloads_since(host: BootedHost, cursor: str) -> list[int]:
    """Monotonic times (µs) of PID 1's "Reloading." (a daemon-reload) after `cursor`.

    systemd 252 (Debian 12) logs "Reloading.", systemd 257 (Debian 13) "Reloading...".
    """
    host.run(["journalctl", "--sync"])
    out = host.run(
        ["journalctl", "--no-pager", "-o", "json", "_PID=1", f"--after-cursor={cursor}"]
    ).stdout
    entries = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [
        int(entry["__MONOTONIC_TIMESTAMP"])
        for entry, message in zip(entries, messages(entries), strict=True)
        if message in ("Reloading.", "Reloading...")
    ]
