"""Shell completion of the juice CLI through click's own protocol (what the scripts call).

The packaged bash script runs ``_JUICE_COMPLETE=bash_complete juice`` with COMP_WORDS
and COMP_CWORD set, and reads ``type,value`` lines back; these tests run the same.
"""

from __future__ import annotations

from click.testing import CliRunner
from juice_host import MINIMAL, JuiceHost

from orangeqs.juice.cli import main


def complete(line: str, env: dict[str, str] | None = None) -> list[str]:
    """What <TAB> offers at the end of ``line`` (bash's protocol, as the script uses it)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    result = CliRunner().invoke(
        main,
        [],
        prog_name="juice",
        env={
            "_JUICE_COMPLETE": "bash_complete",
            "COMP_WORDS": line,
            "COMP_CWORD": str(cword),
            **(env or {}),
        },
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # type,value per line; nothing to offer is one empty line.
    return [row.split(",", 1)[1] for row in result.stdout.splitlines() if row]


def test_commands_and_subcommands_complete() -> None:
    assert complete("juice ") == ["config", "env"]
    assert complete("juice env b") == ["build"]
    assert complete("juice env ") == [
        "build", "gc", "history", "list", "lock", "push", "render", "rollback", "status",
    ]  # fmt: skip
    assert complete("juice config v") == ["validate"]
    assert "--jobs" in complete("juice env build --")
    assert complete("juice env build --mode ") == ["auto", "systemd", "direct"]


def test_environment_names_complete_from_the_configuration(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "[services.analysis]\n[services.control]\n")
    root = str(host.root)
    assert complete(f"juice --root {root} env build ") == ["singleuser", "analysis", "control"]
    assert complete(f"juice --root {root} env status a") == ["analysis"]
    # A name already on the line is not offered again.
    assert complete(f"juice --root {root} env render control ") == ["singleuser", "analysis"]
    # The environment variable reaches completion as it reaches the commands.
    assert complete("juice env build c", env={"JUICE_ROOT": root}) == ["control"]


def test_a_broken_configuration_completes_to_nothing(host: JuiceHost) -> None:
    host.write_config("[environments.default]\ntype = 'conda'\n")
    assert complete(f"juice --root {host.root} env build ") == []
    # No configuration at all: the same.
    assert complete(f"juice --root {host.root}/missing env build ") == []
