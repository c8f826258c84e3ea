"""The ``juice`` command line: parse, call one verb, print."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import tomli_w
from click.shell_completion import CompletionItem
from rich.console import Console

from orangeqs.juice import versioning
from orangeqs.juice.environments.spec import plan_environments
from orangeqs.juice.host.files import HostError, exclusive_lock, host_error
from orangeqs.juice.host.podman import PodmanError
from orangeqs.juice.host.systemd import SystemctlError
from orangeqs.juice.host.tools import ToolMissingError, WheelError, render_tools
from orangeqs.juice.orchestration.building import BuildRequest, Mode, ModeError, build
from orangeqs.juice.orchestration.planning import make_plan
from orangeqs.juice.orchestration.status import ImageState, image_status
from orangeqs.juice.orchestration.writing import survey, write_plan
from orangeqs.juice.paths import HostPaths
from orangeqs.juice.reporting import ConsoleReporter, summarize
from orangeqs.juice.settings import ConfigError, load_settings

# Exit statuses: 0 success, 1 an operation failed (a build, podman, systemd), 2 the
# configuration or the command line is wrong (nothing was written).
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn known failures into one message on stderr and the right exit status."""
    try:
        yield
    except (ConfigError, ModeError) as error:
        err.print(f"juice: {error}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except (ToolMissingError, WheelError, SystemctlError, PodmanError, HostError) as error:
        err.print(f"juice: {error}", markup=False)
        sys.exit(EXIT_FAILED)
    except OSError as error:
        # A host problem no adapter anticipated: still one line naming the path.
        err.print(f"juice: {host_error(error)}", markup=False)
        sys.exit(EXIT_FAILED)


def _finite_seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> Any:
    """nan or inf would wait without limit, though a limit was asked for: refuse them."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number of seconds", ctx, param)
    return value


def _lock_timeout_option(command: F) -> F:
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        callback=_finite_seconds,
        envvar="JUICE_LOCK_TIMEOUT",
        default=None,
        help="Give up (exit 1, nothing written) when another juice process holds the lock "
        "this many seconds [default: wait without limit; env JUICE_LOCK_TIMEOUT].",
    )(command)


def _complete_environment_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """<TAB> after ``juice env build`` etc.: the configured environments' names.

    Completion runs before any callback, so the paths come from the parsed options; a
    configuration that cannot be read completes to nothing rather than an error.
    """
    options = ctx.find_root().params
    paths = HostPaths.from_environment(options.get("root"), options.get("config_dir"))
    try:
        specs = plan_environments(load_settings(paths.config_dir).settings)
    except (ConfigError, OSError):
        return []
    given = set(ctx.params.get(param.name or "") or ())
    return [
        CompletionItem(spec.name)
        for spec in specs
        if spec.name.startswith(incomplete) and spec.name not in given
    ]


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False),
    envvar="JUICE_CONFIG_DIR",
    help="Directory with orchestration.toml and orchestration.d/ "
    "[default: /etc/juice/config; env JUICE_CONFIG_DIR].",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    envvar="JUICE_ROOT",
    help="Move every host path under this directory (tests, unprivileged use) [env JUICE_ROOT].",
)
@click.option(
    "--version",
    "show_version",
    is_flag=True,
    help="Show the version, where it is installed and where environments get it from.",
)
@click.pass_context
def main(ctx: click.Context, config_dir: str | None, root: str | None, show_version: bool) -> None:
    """Manage the container environments of an OrangeQS Juice host.

    Every service and the JupyterHub user container ("singleuser") get an environment:
    an image juice-<name> built from /var/juice/envs/<name>/ by the systemd unit
    juice-<name>-build.service. The configuration is /etc/juice/config/orchestration.toml
    plus drop-ins in /etc/juice/config/orchestration.d/.

    \b
    Typical use:
      juice config validate      check the configuration
      juice env list             the environments and their state
      juice env build            rebuild what changed
      juice env build --all      rebuild everything (e.g. after an upgrade)

    Exit status: 0 success, 1 a build, a host command or the host failed (a read-only
    or full disk, permissions, the lock not free within --lock-timeout), 2 bad
    configuration or usage. Juice touches only what it created and marked; anything
    else in its directories is left alone (a warning when it stands where juice writes).
    """
    ctx.obj = HostPaths.from_environment(root, config_dir)
    if show_version:
        for line in versioning.version_report(ctx.obj):
            click.echo(line)
        ctx.exit()
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(EXIT_BAD_INPUT)


@main.group()
def env() -> None:
    """Render, build and inspect environment images."""


@env.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def env_list(paths: HostPaths, as_json: bool) -> None:
    """List the environments: name, image, whose config, image state."""
    with _errors():
        tools = render_tools()
        plan = make_plan(paths, tools)
        rows = []
        for environment in plan.environments:
            status = image_status(environment, tools)
            rows.append(
                {
                    "name": environment.spec.name,
                    "image": status.image,
                    "config": "default" if environment.spec.uses_default else "own",
                    "core_source": environment.core.describe(),
                    "state": status.state.value,
                }
            )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _table(rows, ["name", "image", "config", "state"])


@env.command("render")
@click.argument("names", nargs=-1, shell_complete=_complete_environment_names)
@click.option("--all", "render_all", is_flag=True, help="Render every environment (the default).")
@_lock_timeout_option
@click.pass_obj
def env_render(
    paths: HostPaths, names: tuple[str, ...], render_all: bool, lock_timeout: float | None
) -> None:
    """Write the files and units of the environments NAMES (default: all) without building.

    Files go to /var/juice/envs/<name>/ (pyproject.toml, Containerfile), units to
    /etc/systemd/system. Unchanged files are not touched.
    """
    if names and render_all:
        raise click.UsageError("give environment names or --all, not both")
    # The lock is held from before reading the configuration until the last write: a
    # build under way must not see its files change beneath it, and a render that read
    # an older configuration must not write over a newer one's files.
    with (
        _errors(),
        exclusive_lock(paths.lock_file, lambda: _say_waiting(paths), lock_timeout),
    ):
        plan = make_plan(paths, render_tools(), list(names) or None)
        report = write_plan(plan, plan.paths)
    for path, why in report.left_alone:
        err.print(f"juice: warning: left alone {path}: {why}", markup=False)
    for path in report.changed:
        click.echo(f"wrote {path}")
    for path in report.removed:
        click.echo(f"removed {path} (its environment is no longer configured)")
    click.echo(
        f"rendered {len(plan.environments)} environment(s): "
        f"{len(report.changed)} file(s) changed, {len(report.unchanged)} unchanged"
    )
    if report.units_changed:
        click.echo("units changed: 'juice env build' reloads systemd before building")
    for error in report.removal_failed:
        err.print(f"juice: could not remove {error} (the new files are in place)", markup=False)
    if report.removal_failed:
        sys.exit(EXIT_FAILED)


@env.command("build")
@click.argument("names", nargs=-1, shell_complete=_complete_environment_names)
@click.option("--all", "build_all", is_flag=True, help="Build every environment.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="How many images to build at once.",
)
@click.option(
    "--mode",
    type=click.Choice([mode.value for mode in Mode]),
    default=Mode.AUTO.value,
    show_default=True,
    help="systemd: start the juice-<name>-build.service units; direct: run podman "
    "here; auto: systemd when it is running.",
)
@click.option(
    "--progress",
    type=click.Choice(["auto", "plain"]),
    default="auto",
    show_default=True,
    help="plain: one line per event, no live display (logs, maintainer scripts); "
    "auto: a live display too on an interactive terminal.",
)
@_lock_timeout_option
@click.pass_obj
def env_build(
    paths: HostPaths,
    names: tuple[str, ...],
    build_all: bool,
    jobs: int,
    mode: str,
    progress: str,
    lock_timeout: float | None,
) -> None:
    """Render and build environment images.

    With NAMES, build those; with --all, every environment; with neither, those whose
    image is missing or was built from other files than are rendered now.
    Builds run to their end even when one fails. Logs: `journalctl -u
    juice-<name>-build.service`, or /var/log/juice/build-<name>.log without systemd.
    Exit status 1 when any build failed.
    """
    if names and build_all:
        raise click.UsageError("give environment names or --all, not both")
    request = BuildRequest(list(names), build_all, jobs, Mode(mode), lock_timeout)
    with _errors():
        # plain: no live display and no colour codes, also on the pty apt gives dpkg.
        console = out if progress == "auto" else Console(force_terminal=False, soft_wrap=True)
        reporter = ConsoleReporter(console, live=console.is_interactive)
        results = build(paths, request, reporter)
    if not summarize(results, console):
        sys.exit(EXIT_FAILED)


@env.command("status")
@click.argument("names", nargs=-1, shell_complete=_complete_environment_names)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--check", is_flag=True, help="Exit with status 1 unless all are up to date.")
@click.pass_obj
def env_status(paths: HostPaths, names: tuple[str, ...], as_json: bool, check: bool) -> None:
    """Whether each image exists and was built from the files rendered now."""
    with _errors():
        tools = render_tools()
        plan = make_plan(paths, tools, list(names) or None)
        statuses = [image_status(environment, tools) for environment in plan.environments]
    rows = [
        {"name": status.name, "image": status.image, "state": status.state.value}
        for status in statuses
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _table(rows, ["name", "image", "state"])
    if check and any(status.state is not ImageState.UP_TO_DATE for status in statuses):
        sys.exit(EXIT_FAILED)


@main.group()
def config() -> None:
    """Check and show the orchestration configuration."""


@config.command("validate")
@click.pass_obj
def config_validate(paths: HostPaths) -> None:
    """Check the configuration; exit status 2 and the reasons if it is not usable.

    Exit status 1 when the host is in the way (a file where a directory should be, an
    unreadable configuration file, a path juice must write that is not juice's).
    """
    with _errors():
        plan = make_plan(paths, render_tools())
        # The host too: what render would leave alone, or refuse to write into.
        found = survey(plan, plan.paths)
    for path, why in found.left_alone:
        err.print(f"juice: warning: left alone {path}: {why}", markup=False)
    for blocked, why in found.blocked:
        err.print(f"juice: render will refuse: {blocked}: {why}", markup=False)
    files = ", ".join(str(path) for path in plan.loaded.files)
    click.echo(f"configuration is valid: {len(plan.all_names)} environment(s) from {files}")
    if found.blocked:
        err.print("juice: the host is not ready: render and build would fail", markup=False)
        sys.exit(EXIT_FAILED)


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def config_show(paths: HostPaths, as_json: bool) -> None:
    """Print the resolved configuration (all files merged, defaults filled in).

    A service or the user container without an environment of its own shows the one it
    uses: that of [environments.default].
    """
    with _errors():
        loaded = load_settings(paths.config_dir)
    resolved = loaded.settings.with_environments_resolved()
    data = resolved.model_dump(mode="json", exclude_none=True)
    if as_json:
        click.echo(json.dumps({"files": [str(p) for p in loaded.files], **data}, indent=2))
        return
    click.echo("# Resolved from: " + ", ".join(str(path) for path in loaded.files))
    click.echo(tomli_w.dumps(data), nl=False)


def _say_waiting(paths: HostPaths) -> None:
    err.print(f"juice: another juice process holds {paths.lock_file}; waiting for it")


def _table(rows: list[dict[str, str]], columns: list[str]) -> None:
    widths = {col: max([len(col), *(len(row[col]) for row in rows)]) for col in columns}
    click.echo("  ".join(col.upper().ljust(widths[col]) for col in columns).rstrip())
    for row in rows:
        click.echo("  ".join(row[col].ljust(widths[col]) for col in columns).rstrip())


if __name__ == "__main__":  # pragma: no cover
    main()
