"""The ``juice`` command line: parse, call one verb, print."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import click

from orangeqs.juice.paths import HostPaths

# Everything else is imported where it is used: `juice --version` and `juice env status`
# run in every maintainer script and admin command, and pydantic, rich and jinja2 cost
# more to import than those commands take.
if TYPE_CHECKING:
    from click.shell_completion import CompletionItem
    from rich.console import Console

# Exit statuses: 0 success, 1 an operation failed (a build, podman, systemd), 2 the
# configuration or the command line is wrong (nothing was written).
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])


def _console(stderr: bool = False, plain: bool = False) -> Console:
    from rich.console import Console

    if plain:  # no live display and no colour codes, also on the pty apt gives dpkg
        return Console(stderr=stderr, force_terminal=False, soft_wrap=True)
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _fail(message: str, status: int) -> None:
    click.echo(f"juice: {message}", err=True)
    sys.exit(status)


def _warn(message: str) -> None:
    click.echo(f"juice: {message}", err=True)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn known failures into one message on stderr and the right exit status."""
    try:
        yield
    except Exception as error:  # anything but a known failure is raised again
        failure = _known_failure(error)
        if failure is None:
            raise
        _fail(*failure)


def _known_failure(error: Exception) -> tuple[str, int] | None:
    """The message and exit status of a known failure (None for any other error).

    The error types are imported here, once one was raised: importing them up front
    loads the configuration models, before `juice env status` has started podman.
    """
    from orangeqs.juice.host.files import HostError, host_error
    from orangeqs.juice.host.podman import PodmanError
    from orangeqs.juice.host.systemd import SystemctlError
    from orangeqs.juice.host.tools import ToolMissingError, WheelError
    from orangeqs.juice.orchestration.building import ModeError
    from orangeqs.juice.settings import ConfigError

    if isinstance(error, (ConfigError, ModeError)):
        return str(error), EXIT_BAD_INPUT
    if isinstance(error, (ToolMissingError, WheelError, SystemctlError, PodmanError, HostError)):
        return str(error), EXIT_FAILED
    if isinstance(error, OSError):
        # A host problem no adapter anticipated: still one line naming the path.
        return str(host_error(error)), EXIT_FAILED
    return None


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


def _environment_selection(command: F) -> F:
    """NAMES and --all, of the commands that take every environment when given neither."""
    every = click.option("--all", "every", is_flag=True, help="Every environment (the default).")
    names = click.argument("names", nargs=-1, shell_complete=_complete_environment_names)
    return names(every(command))


def _results_options(command: F) -> F:
    """--json and --lock-timeout, of the commands that report progress, then results."""
    as_json = click.option(
        "--json", "as_json", is_flag=True, help="Progress on stderr; the results as JSON."
    )
    return as_json(_lock_timeout_option(command))


def _complete_environment_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """<TAB> after ``juice env build`` etc.: the configured environments' names.

    Completion runs before any callback, so the paths come from the parsed options; a
    configuration that cannot be read completes to nothing rather than an error.
    """
    from click.shell_completion import CompletionItem

    from orangeqs.juice.environments.spec import plan_environments
    from orangeqs.juice.settings import ConfigError, load_settings

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


def _to_json(value: object) -> str:
    """One stable JSON shape: dataclass fields by name, enums by value."""

    def plain(item: Any) -> Any:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return {
                field.name: plain(getattr(item, field.name)) for field in dataclasses.fields(item)
            }
        if isinstance(item, Enum):
            return item.value
        if isinstance(item, (list, tuple)):
            return [plain(element) for element in item]
        if isinstance(item, dict):
            return {str(key): plain(element) for key, element in item.items()}
        return item

    return json.dumps(plain(value), indent=2)


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
        from orangeqs.juice import versioning

        for line in versioning.version_report(ctx.obj):
            click.echo(line)
        ctx.exit()
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(EXIT_BAD_INPUT)


@main.group()
def env() -> None:
    """Render, build and inspect environment images."""


@dataclasses.dataclass(frozen=True)
class ListEntry:
    """One row of `juice env list` (its --json prints a list of these)."""

    name: str
    image: str
    config: str
    core_source: str
    state: str


@env.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def env_list(paths: HostPaths, as_json: bool) -> None:
    """List the environments: name, image, whose config, image state."""
    from orangeqs.juice.orchestration.status import survey

    with _errors():
        plan, found = survey(paths)
        rows = [
            ListEntry(
                name=environment.spec.name,
                image=status.image,
                config="default" if environment.spec.uses_default else "own",
                core_source=environment.core.describe(),
                state=status.state.value,
            )
            for environment, status in zip(plan.environments, found, strict=True)
        ]
    if as_json:
        click.echo(_to_json(rows))
        return
    _table([dataclasses.asdict(row) for row in rows], ["name", "image", "config", "state"])


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
    from orangeqs.juice.host.files import exclusive_lock
    from orangeqs.juice.host.tools import render_tools
    from orangeqs.juice.orchestration.planning import make_plan
    from orangeqs.juice.orchestration.writing import write_plan

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
        _warn(f"warning: left alone {path}: {why}")
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
        _warn(f"could not remove {error} (the new files are in place)")
    if report.removal_failed:
        sys.exit(EXIT_FAILED)


@env.command("build")
@_environment_selection
@click.option(
    "--force",
    is_flag=True,
    help="Run podman build even when an image built from the same files exists "
    "(it comes from the layer cache).",
)
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
    type=click.Choice(["auto", "systemd", "direct"]),
    default="auto",
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
@_results_options
@click.pass_obj
def env_build(
    paths: HostPaths,
    names: tuple[str, ...],
    every: bool,
    force: bool,
    jobs: int,
    mode: str,
    progress: str,
    as_json: bool,
    lock_timeout: float | None,
) -> None:
    """Render environments and make sure each has its image (NAMES, or all).

    First an environment with no lock, or whose configuration changed, is locked
    (uv.lock in /var/lib/juice/locks/<name>; existing pins kept; the changes printed);
    builds install exactly the lock. An environment whose image was built from exactly
    the files and lock of now (same configuration, same core wheel) is not built
    again: it is `up to date`, or `reused` when services named another image (or only
    an environment of the same configuration had it: they share one image). Other
    environments are built; builds run to their end even when one fails. With [images]
    source = "pull" they are pulled from [images] registry instead ("pull-or-build":
    built when not pulled; see docs/registry.md). Afterwards juice removes the images
    beyond the last [images] keep core versions (default 2), never one a container uses.
    Logs: `journalctl -u juice-<name>-build.service`, or /var/log/juice/build-<name>.log
    without systemd. Exit status 1 when any build failed.
    """
    if names and every:
        raise click.UsageError("give environment names or --all, not both")
    from orangeqs.juice.orchestration.building import BuildRequest, Mode, build
    from orangeqs.juice.reporting import ConsoleReporter, summarize

    request = BuildRequest(list(names), every, jobs, Mode(mode), lock_timeout, force)
    with _errors():
        console = _console(stderr=as_json, plain=progress == "plain")
        reporter = ConsoleReporter(console, live=console.is_interactive)
        report = build(paths, request, reporter)
    succeeded = summarize(report, console)
    if as_json:
        click.echo(_to_json(report))
    if not succeeded:
        sys.exit(EXIT_FAILED)


@env.command("lock")
@_environment_selection
@click.option(
    "--upgrade", is_flag=True, help="Let every package move to its newest allowed version."
)
@click.option(
    "--upgrade-package",
    "--package",
    "upgrade_packages",
    multiple=True,
    metavar="PACKAGE",
    help="Let this package (and only what it needs) move; repeat for more.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing: exit 1 when a lock is missing or no longer satisfies its "
    "configuration (for an administrator's CI).",
)
@_results_options
@click.pass_obj
def env_lock(
    paths: HostPaths,
    names: tuple[str, ...],
    every: bool,
    upgrade: bool,
    upgrade_packages: tuple[str, ...],
    check: bool,
    as_json: bool,
    lock_timeout: float | None,
) -> None:
    """Resolve the Python packages of NAMES (default: all) into their uv.lock.

    Locks live in /var/lib/juice/locks/<name>/ (uv.lock and the pyproject.toml it was
    made for); renders and package upgrades keep them, purge removes them. Without
    options uv keeps every pin the configuration still allows; builds install exactly
    the lock. Prints what changed (+ added, - removed, old → new). uv runs in the
    environment's own build (its base image, volumes, build environment and podman
    options), so it sees the index, proxy or wheelhouse the build sees.
    """
    if names and every:
        raise click.UsageError("give environment names or --all, not both")
    if check and (upgrade or upgrade_packages):
        raise click.UsageError("--check changes nothing: give it without --upgrade")
    from orangeqs.juice.orchestration.locking import LockRequest, lock
    from orangeqs.juice.reporting import lock_lines

    request = LockRequest(list(names), upgrade, upgrade_packages, check, lock_timeout)

    def show(result: Any) -> None:
        for line in lock_lines(result):
            click.echo(line, err=as_json)

    with _errors():
        results = lock(paths, request, lambda: _say_waiting(paths), show)
    if as_json:
        click.echo(_to_json(results))
    if not all(result.succeeded for result in results):
        sys.exit(EXIT_FAILED)


@env.command("status")
@click.argument("names", nargs=-1, shell_complete=_complete_environment_names)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--check", is_flag=True, help="Exit with status 1 unless all are up to date.")
@click.pass_obj
def env_status(paths: HostPaths, names: tuple[str, ...], as_json: bool, check: bool) -> None:
    """Whether each environment has the image of the installed core version built from
    the files rendered now, and whether its services name it."""
    from orangeqs.juice.orchestration.status import ImageState, survey

    with _errors():
        _, found = survey(paths, names)
    if as_json:
        click.echo(_to_json(found))
    else:
        rows = [
            {
                "name": status.name,
                "image": status.image,
                "state": status.state.value,
                "from": _origin(status.pulled_from, status.serving_digest is not None),
            }
            for status in found
        ]
        _table(rows, ["name", "image", "state", "from"])
    if check and any(status.state is not ImageState.UP_TO_DATE for status in found):
        sys.exit(EXIT_FAILED)


@env.command("history")
@click.argument("names", nargs=-1, shell_complete=_complete_environment_names)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def env_history(paths: HostPaths, names: tuple[str, ...], as_json: bool) -> None:
    """Each environment's kept images (generations), the one it got last first (the
    order rollback and gc use): core version, identity digest, when built, since when
    the environment has it, size, which one its services run, and where it came from
    (built here, or pulled from a registry: repository@manifest digest)."""
    from orangeqs.juice.orchestration.generation_commands import history

    with _errors():
        entries = history(paths, list(names))
    if as_json:
        click.echo(_to_json(entries))
        return
    import datetime

    def utc(seconds: int | None) -> str:
        if seconds is None:
            return ""
        moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    rows = [
        {
            "name": entry.environment,
            "core": entry.core_version,
            "digest": entry.digest[:12],
            "built": utc(entry.created),
            "since": utc(entry.since),
            "size": f"{entry.size / 1e6:.0f} MB",
            "use": ", ".join(
                word
                for word, flag in (
                    ("services", entry.in_use),
                    ("current files", entry.current),
                    (f"{entry.containers} container(s)", entry.containers > 0),
                )
                if flag
            ),
            "from": _origin(entry.pulled_from, True),
        }
        for entry in entries
    ]
    _table(rows, ["name", "core", "digest", "built", "since", "size", "use", "from"])


@env.command("rollback")
@click.argument("names", nargs=-1, shell_complete=_complete_environment_names)
@click.option("--all", "rollback_all", is_flag=True, help="Every environment.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def env_rollback(
    paths: HostPaths, names: tuple[str, ...], rollback_all: bool, as_json: bool
) -> None:
    """Point the services of NAMES (or --all) at their previous image, without building.

    The installed version's tag (what the units run) moves to the image the environment
    had before its current one (the second row of `juice env history`); restart a
    service to run it. A second rollback goes back to where the first started (like
    `cd -`). `juice env build` points them back at the image of the files rendered now
    (again without a build when it is kept).
    """
    if bool(names) == rollback_all:
        raise click.UsageError("give environment names or --all")
    from orangeqs.juice.orchestration.generation_commands import rollback

    with _errors():
        results = rollback(paths, list(names), lambda: _say_waiting(paths))
    if as_json:
        click.echo(_to_json(results))
    else:
        for result in results:
            if result.rolled_back:
                click.echo(
                    f"{result.name}: {result.image} now names the image of core "
                    f"{result.core_version} ({(result.image_id or '')[:12]}); {result.detail}"
                )
            else:
                click.echo(f"{result.name}: not rolled back: {result.detail}")
    if not all(result.rolled_back for result in results):
        sys.exit(EXIT_FAILED)


@env.command("gc")
@click.option(
    "--keep",
    type=click.IntRange(1, 100),
    default=None,
    help="Core versions whose images stay [default: [images] keep, else 2].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def env_gc(paths: HostPaths, keep: int | None, as_json: bool) -> None:
    """Remove environment images beyond the last KEEP core versions.

    Kept always: the images the installed version's services run, the one each
    environment had before (what rollback goes to), those built from the files rendered
    now, and any image a container uses. `juice env build` does this
    after every build.
    """
    from orangeqs.juice.orchestration.generation_commands import gc

    with _errors():
        removed = gc(
            paths,
            keep,
            lambda: _say_waiting(paths),
            lambda path, problem: click.echo(f"juice: warning: {problem}", err=True),
        )
    if as_json:
        click.echo(_to_json(removed))
        return
    from orangeqs.juice.reporting import removed_image_line

    for image in removed:
        click.echo(removed_image_line(image))
    click.echo(f"removed {len(removed)} image(s)")


@env.command("push")
@click.argument("names", nargs=-1, shell_complete=_complete_environment_names)
@click.option("--all", "push_all", is_flag=True, help="Every environment.")
@click.option(
    "--sign-by",
    metavar="KEY",
    help="Sign each image's identity tag (what lab hosts pull) with this GPG key "
    "(fingerprint or e-mail; podman push --sign-by): lab hosts whose policy.json "
    "requires it refuse anything else.",
)
@click.option("--json", "as_json", is_flag=True, help="Progress on stderr; the results as JSON.")
@click.pass_obj
def env_push(
    paths: HostPaths, names: tuple[str, ...], push_all: bool, sign_by: str | None, as_json: bool
) -> None:
    """Push the images of NAMES (or --all) to [images] registry, for lab hosts to pull.

    Each environment's image built from the files rendered now goes up as
    REGISTRY/juice-<name>:id-<digest> (what a host with the same configuration and core
    version pulls in [images] source = "pull" or "pull-or-build") and
    REGISTRY/juice-<name>:<core version>. Credentials, TLS and signature storage are
    podman's own configuration (podman login, /etc/containers/certs.d, registries.d);
    see docs/registry.md. Exit status 2 without a registry configured, 1 when an
    image is not built or a push failed.
    """
    if bool(names) == push_all:
        raise click.UsageError("give environment names or --all")
    from orangeqs.juice.orchestration.pushing import NoRegistryError, push_images

    def say_pushing(name: str, reference: str) -> None:
        click.echo(f"juice: pushing {name} to {reference} ...", err=as_json)

    with _errors():
        try:
            results = push_images(
                paths, list(names), sign_by, lambda: _say_waiting(paths), say_pushing
            )
        except NoRegistryError as error:
            _fail(str(error), EXIT_BAD_INPUT)
    if as_json:
        click.echo(_to_json(results))
    else:
        for result in results:
            if result.pushed:
                signed = f", signed by {result.signed_by}" if result.signed_by else ""
                click.echo(f"{result.name}: pushed {result.manifest_digest}{signed}")
            else:
                click.echo(f"{result.name}: not pushed: {result.detail}")
    failed = [result for result in results if not result.pushed]
    for result in failed:
        if as_json:
            _warn(f"{result.name}: not pushed: {result.detail}")
    if failed:
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
    from orangeqs.juice.host.tools import render_tools
    from orangeqs.juice.orchestration.planning import make_plan
    from orangeqs.juice.orchestration.writing import survey

    with _errors():
        plan = make_plan(paths, render_tools())
        # The host too: what render would leave alone, or refuse to write into.
        found = survey(plan, plan.paths)
    for path, why in found.left_alone:
        _warn(f"warning: left alone {path}: {why}")
    for blocked, why in found.blocked:
        _warn(f"render will refuse: {blocked}: {why}")
    files = ", ".join(str(path) for path in plan.loaded.files)
    click.echo(f"configuration is valid: {len(plan.all_names)} environment(s) from {files}")
    if found.blocked:
        _warn("the host is not ready: render and build would fail")
        sys.exit(EXIT_FAILED)


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def config_show(paths: HostPaths, as_json: bool) -> None:
    """Print the resolved configuration (all files merged, defaults filled in).

    A service or the user container without an environment of its own shows the one it
    uses: that of [environments.default].
    """
    import tomli_w

    from orangeqs.juice.settings import load_settings

    with _errors():
        loaded = load_settings(paths.config_dir)
    resolved = loaded.settings.with_environments_resolved()
    data = resolved.model_dump(mode="json", exclude_none=True)
    if as_json:
        click.echo(json.dumps({"files": [str(p) for p in loaded.files], **data}, indent=2))
        return
    click.echo("# Resolved from: " + ", ".join(str(path) for path in loaded.files))
    click.echo(tomli_w.dumps(data), nl=False)


def _origin(pulled_from: str | None, exists: bool) -> str:
    """Where an image came from, short: the digest's first 12 hex digits."""
    if not exists:
        return "-"
    if pulled_from is None:
        return "built here"
    repository, _, digest = pulled_from.partition("@sha256:")
    return f"pulled {repository}@sha256:{digest[:12]}" if digest else f"pulled {repository}"


def _say_waiting(paths: HostPaths) -> None:
    click.echo(f"juice: another juice process holds {paths.lock_file}; waiting for it", err=True)


def _table(rows: list[dict[str, str]], columns: list[str]) -> None:
    widths = {col: max([len(col), *(len(row[col]) for row in rows)]) for col in columns}
    click.echo("  ".join(col.upper().ljust(widths[col]) for col in columns).rstrip())
    for row in rows:
        click.echo("  ".join(row[col].ljust(widths[col]) for col in columns).rstrip())


if __name__ == "__main__":  # pragma: no cover
    main()
