"""Options whose effect no other test would notice if the code ignored them (issue 13):
--progress=plain, --jobs, --config-dir and JUICE_CONFIG_DIR.

podman is the fake at the adapter boundary (tests/unit/test_building.py); the terminal
is a real pseudo-terminal, as apt gives maintainer scripts.
"""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from juice_host import MINIMAL, JuiceHost
from test_building import calls, fake_podman  # noqa: F401  (fixture)

JUICE = Path(sys.executable).parent / "juice"
ESCAPE = "\x1b"


def run_on_a_terminal(host: JuiceHost, *args: str, env: dict[str, str]) -> str:
    """Run juice with stdout and stderr on a pseudo-terminal; return all it wrote."""
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(JUICE), "--root", str(host.root), *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, **env},
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(timeout=60) == 0, output.decode(errors="replace")
    return output.decode(errors="replace")


@pytest.mark.parametrize(
    "env", [{"TERM": "xterm-256color"}, {"TERM": "xterm-256color", "FORCE_COLOR": "1"}]
)
def test_plain_progress_writes_no_escape_codes_on_a_terminal(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
    env: dict[str, str],
) -> None:
    host.write_config(MINIMAL + "[services.a]\n")
    build = ["env", "build", "--all", "--force", "--mode", "direct"]

    # The same build with the live display: the terminal does get escape codes, so
    # their absence below means something.
    assert ESCAPE in run_on_a_terminal(host, *build, "--progress", "auto", env=env)
    plain = run_on_a_terminal(host, *build, "--progress", "plain", env=env)

    assert ESCAPE not in plain, repr(plain)
    assert "juice: building a ..." in plain
    assert "built a" in plain


CONCURRENCY_PODMAN = r"""#!{python}
# Counts the image builds running at once (not juice's lock steps, which run one at a
# time in a ".work" folder), then hands over to the fake podman.
import os, sys, time
if sys.argv[1:2] == ["build"] and not sys.argv[-1].endswith(".work"):
    running = os.environ["RUNNING_DIR"]
    mine = os.path.join(running, str(os.getpid()))
    open(mine, "w").close()
    # Wait (bounded) until as many builds run as --jobs should allow, so that a build
    # started beyond the limit would be seen running alongside them.
    expected = int(os.environ["EXPECTED_JOBS"])
    for _ in range(60):
        if len(os.listdir(running)) >= expected:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    with open(os.environ["CONCURRENCY_LOG"], "a") as log:
        log.write(f"{len(os.listdir(running))}\n")
    os.remove(mine)
os.execv({fake}, [{fake}, *sys.argv[1:]])
"""


@pytest.mark.parametrize("jobs", [1, 3])
def test_jobs_bounds_the_builds_running_at_once(
    host: JuiceHost,
    fake_podman: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    jobs: int,
) -> None:
    fake = next(Path(d) / "podman" for d in os.environ["PATH"].split(os.pathsep))
    wrapper_dir = tmp_path / "concurrency-bin"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "podman"
    script = CONCURRENCY_PODMAN.replace("{python}", sys.executable)
    wrapper.write_text(script.replace("{fake}", repr(str(fake))))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    running = tmp_path / "running"
    running.mkdir()
    log = tmp_path / "concurrency.log"
    monkeypatch.setenv("PATH", f"{wrapper_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RUNNING_DIR", str(running))
    monkeypatch.setenv("CONCURRENCY_LOG", str(log))
    monkeypatch.setenv("EXPECTED_JOBS", str(jobs))
    # Six environments of different configurations (identical ones share one build): with
    # 3 jobs, two full rounds; a limit ignored shows up as more.
    host.write_config(
        MINIMAL
        + "".join(
            f"[services.s{i}.environment]\nbase_image = 'debian:12'\ndependencies = ['p{i}']\n"
            for i in range(5)
        )
    )

    result = host.run("env", "build", "--all", "--mode", "direct", "--jobs", str(jobs))

    assert result.exit_code == 0, result.output
    seen = [int(line) for line in log.read_text().split()]
    assert len(seen) == 6, "every environment was built"
    assert max(seen) == jobs, f"builds running at once: {seen}"
    assert len([c for c in calls(fake_podman) if c[0] == "build"]) == 6


def config_with(service: str) -> str:
    return MINIMAL + f"[services.{service}]\n"


def listed(output: str) -> list[str]:
    return [row["name"] for row in json.loads(output)]


@pytest.fixture
def other_config(
    host: JuiceHost,
    tmp_path: Path,
    fake_podman: Path,  # noqa: F811  (env list asks podman: the fake, not the machine's)
) -> Path:
    """The host's own config names service `here`; another directory names `elsewhere`."""
    host.write_config(config_with("here"))
    other = tmp_path / "other-config"
    other.mkdir()
    (other / "orchestration.toml").write_text(textwrap.dedent(config_with("elsewhere")))
    return other


def test_config_dir_option_is_read_instead_of_the_hosts(
    host: JuiceHost, other_config: Path
) -> None:
    assert listed(host.run("env", "list", "--json").stdout) == ["singleuser", "here"]
    result = host.run("--config-dir", str(other_config), "env", "list", "--json")
    assert listed(result.stdout) == ["singleuser", "elsewhere"]


def test_juice_config_dir_is_read_instead_of_the_hosts(host: JuiceHost, other_config: Path) -> None:
    result = host.run("env", "list", "--json", env={"JUICE_CONFIG_DIR": str(other_config)})
    assert listed(result.stdout) == ["singleuser", "elsewhere"]
    rendered = host.run("env", "render", env={"JUICE_CONFIG_DIR": str(other_config)})
    assert rendered.exit_code == 0
    assert host.paths.env_dir("elsewhere").is_dir()
    assert not host.paths.env_dir("here").exists()


def test_the_option_wins_over_the_environment_variable(
    host: JuiceHost, other_config: Path, tmp_path: Path
) -> None:
    third = tmp_path / "third"
    third.mkdir()
    (third / "orchestration.toml").write_text(textwrap.dedent(config_with("third")))
    result = host.run(
        "--config-dir", str(third), "env", "list", "--json",
        env={"JUICE_CONFIG_DIR": str(other_config)},
    )  # fmt: skip
    assert listed(result.stdout) == ["singleuser", "third"]
