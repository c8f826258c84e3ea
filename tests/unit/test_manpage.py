"""juice(1) as the build renders it from the click app: complete, warning-free, literal.

The page is read back through man(1) itself (man-db; lintian, which the build needs,
depends on it), with the warnings lintian's manpage check asks groff for.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging"))

from juice_packaging.manpage import render, subcommands

from orangeqs.juice.cli import main

EPOCH = 1767225600  # 2026-01-01


def man(page: str, tmp_path: Path) -> str:
    """The page as ``man`` shows it (80 columns, UTF-8); groff's warnings fail the test."""
    source = tmp_path / "page.1"
    source.write_text(page, encoding="utf-8")
    result = subprocess.run(
        ["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", str(source)],
        env={
            "MANWIDTH": "80",
            "LC_ALL": "C.UTF-8",
            "PATH": "/usr/bin:/bin",
            "MAN_KEEP_FORMATTING": "",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr == ""
    # -Tutf8 without a pager still carries overstrikes for bold: drop them.
    return subprocess.run(
        ["col", "-bx"], input=result.stdout, capture_output=True, text=True, check=True
    ).stdout


def test_the_page_has_every_command_and_option_of_the_cli(tmp_path: Path) -> None:
    page = render(main, "juice", "1.2.3", EPOCH)
    shown = man(page, tmp_path)
    assert shown.startswith("JUICE(1)")
    assert "juice - Manage the container environments of an OrangeQS Juice host" in shown
    assert "juice 1.2.3" in shown and "2026-01-01" in shown
    ctx = click.Context(main, info_name="juice", **main.context_settings)
    paths = [sub.command_path for sub in subcommands(ctx)]
    assert paths == [
        "juice config", "juice config show", "juice config validate",
        "juice env", "juice env build", "juice env gc", "juice env history", "juice env list",
        "juice env lock", "juice env push", "juice env render", "juice env rollback",
        "juice env status",
    ]  # fmt: skip
    for sub in subcommands(ctx):
        assert f"\n   {sub.command_path} [OPTIONS]" in shown, sub.command_path
        for param in sub.command.get_params(sub):
            for opt in getattr(param, "opts", []) if isinstance(param, click.Option) else []:
                assert opt in shown, (sub.command_path, opt)
    assert "Render environments and make sure each has its image" in shown
    assert "-j, --jobs INTEGER RANGE" in shown
    assert "JUICE_CONFIG_DIR" in shown and "JUICE_ROOT" in shown


def test_the_page_is_the_same_bytes_for_the_same_inputs() -> None:
    page = render(main, "juice", "1.2.3", EPOCH)
    assert render(main, "juice", "1.2.3", EPOCH) == page
    assert '.TH JUICE 1 2026-01-01 "juice 1.2.3"' in page
    assert "2026-01-02" in render(main, "juice", "1.2.3", EPOCH + 86400)


@click.group()
def tricky() -> None:
    """Summary with a \\backslash.

    .TH at the start of a line, 'quoted' start, --dashes and ü.

    \b
    keep   these
      line breaks

    \f
    Not for users.
    """


@tricky.command()
@click.option("--level", help=".5 or more\n'twice'", envvar="TRICKY_LEVEL")
def sub() -> None:
    """A sub-command."""


def test_help_text_is_shown_literally_never_as_groff_requests(tmp_path: Path) -> None:
    shown = man(render(tricky, "tricky", "0", EPOCH), tmp_path)
    assert "tricky - Summary with a \\backslash" in shown
    assert ".TH at the start of a line, 'quoted' start, --dashes and ü." in shown
    assert "keep   these\n         line breaks" in shown  # no-fill, as click keeps it
    assert "Not for users" not in shown
    assert ".5 or more 'twice'" in shown
    assert "TRICKY_LEVEL\n              The default of --level of tricky sub." in shown


@pytest.mark.parametrize("command", [main, tricky])
def test_the_source_is_ascii_with_every_minus_escaped(command: click.Command) -> None:
    page = render(command, "x", "0", EPOCH)
    assert page.isascii()
    # Option names must copy as ASCII hyphen-minus: "\-" in groff, never a bare "-"
    # (only the title line's date and the comment have one).
    body = [line for line in page.splitlines() if not line.startswith((".TH", '.\\"'))]
    assert [line for line in body if re.search(r"(?<!\\)-", line)] == []
