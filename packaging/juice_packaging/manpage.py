"""juice(1): one man page rendered from the click command tree, so it never drifts from --help.

One page holds every command: the CLI has two groups and six commands, and an
administrator who types ``man juice`` and searches for ``/build`` finds the command,
its options and the exit status in one place (git-style pages per subcommand would be
mostly boilerplate here).

Everything on the page comes from click's own objects (help texts, usage pieces, help
records of the options, envvars); only the SEE ALSO line is written here. The text is
escaped for groff, so a help text can never turn into a request. Pure: the same command
tree, version and date give the same bytes.

Imported by juice_packaging.shell_files in the staged venv's Python (which has click
and the core), never by the build tools' Python.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator

import click

SEE_ALSO = (
    r"\fBpodman\fR(1), \fBsystemctl\fR(1), \fBjournalctl\fR(1), "
    r"/usr/share/doc/orangeqs\-juice/README.md"
)
# click's marker before a paragraph that must not be re-wrapped, and the one that ends
# the help text shown to users.
_NO_REWRAP = "\b"
_HELP_END = "\f"


def escape(text: str) -> str:
    """Text as groff shows it literally: backslashes, minus signs and non-ASCII escaped."""
    out = []
    for char in text.replace("\\", "\\e").replace("-", "\\-"):
        out.append(char if char == "\n" or 32 <= ord(char) < 127 else f"\\[u{ord(char):04X}]")
    return "".join(out)


def text_line(line: str) -> str:
    """One input line of running text: escaped, never read as a request (. or ')."""
    escaped = escape(line)
    return "\\&" + escaped if escaped.startswith((".", "'")) else escaped


def macro_argument(text: str) -> str:
    """A quoted argument of a macro such as .SS."""
    return '"' + escape(text).replace('"', "\\(dq") + '"'


def help_paragraphs(help_text: str) -> list[str]:
    """A click help text as man paragraphs, following click's own rules.

    Blank lines separate paragraphs; a paragraph after a line holding only ``\\b`` keeps
    its line breaks (no-fill); ``\\f`` ends the text.
    """
    text = inspect.cleandoc(help_text.split(_HELP_END, 1)[0])
    lines: list[str] = []
    for paragraph in _split_paragraphs(text):
        lines.append(".PP")
        if paragraph[0].strip() == _NO_REWRAP:
            lines += [".nf", *(text_line(line.rstrip()) for line in paragraph[1:]), ".fi"]
        else:
            lines += [text_line(line.strip()) for line in paragraph]
    return lines


def _split_paragraphs(text: str) -> Iterator[list[str]]:
    paragraph: list[str] = []
    for line in text.splitlines():
        if line.strip():
            paragraph.append(line)
        elif paragraph:
            yield paragraph
            paragraph = []
    if paragraph:
        yield paragraph


def short_help(command: click.Command) -> str:
    """The one-line summary click shows in a group's command list."""
    return command.get_short_help_str(limit=200).rstrip(".")


def options(ctx: click.Context) -> list[str]:
    """Each option's help record (click's own words) as a tagged paragraph."""
    lines: list[str] = []
    for param in ctx.command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is None:
            continue
        names, help_text = record
        lines += [".TP", f"\\fB{escape(names)}\\fR"]
        lines += [text_line(line.strip()) for line in help_text.splitlines() if line.strip()]
    return lines


def usage(ctx: click.Context) -> str:
    """``juice env build [OPTIONS] [NAMES]...``."""
    return " ".join([ctx.command_path, *ctx.command.collect_usage_pieces(ctx)])


def subcommands(ctx: click.Context) -> Iterator[click.Context]:
    """Contexts of every visible command below ``ctx``, depth first in click's order."""
    for name, sub in visible_commands(ctx):
        # As click makes them: the command's context_settings apply.
        sub_ctx = click.Context(sub, info_name=name, parent=ctx, **sub.context_settings)
        yield sub_ctx
        yield from subcommands(sub_ctx)


def visible_commands(ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    """(name, command) of a group's commands that are not hidden, in click's order."""
    group = ctx.command
    if not isinstance(group, click.Group):
        return
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            yield name, sub


def environment(contexts: list[click.Context]) -> list[str]:
    """ENVIRONMENT entries: every option, of any command, that reads an environment variable."""
    lines: list[str] = []
    for ctx in contexts:
        for param in ctx.command.get_params(ctx):
            if not isinstance(param, click.Option) or not param.envvar:
                continue
            envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
            where = "" if ctx.parent is None else f" of \\fB{escape(ctx.command_path)}\\fR"
            for envvar in envvars:
                lines += [
                    ".TP",
                    f"\\fB{escape(envvar)}\\fR",
                    f"The default of \\fB{escape(param.opts[-1])}\\fR{where}.",
                ]
    return lines


def render(command: click.Command, name: str, version: str, epoch: int) -> str:
    """The page of ``command`` as groff man source (section 1), dated ``epoch`` (UTC)."""
    # As click makes it: the command's context_settings (e.g. help_option_names) apply.
    ctx = click.Context(command, info_name=name, **command.context_settings)
    date = time.strftime("%Y-%m-%d", time.gmtime(epoch))
    lines = [
        f'.\\" Generated from the click help of {escape(name)} at build time; do not edit.',
        f".TH {escape(name.upper())} 1 {date} {macro_argument(f'{name} {version}')} "
        f'"OrangeQS Juice"',
        # No hyphenation and ragged right: paths and option names stay whole, copyable.
        ".nh",
        ".ad l",
        ".SH NAME",
        f"{escape(name)} \\- {escape(short_help(command))}",
        ".SH SYNOPSIS",
        f".B {escape(name)}",
        escape(" ".join(command.collect_usage_pieces(ctx))),
        ".SH DESCRIPTION",
        *help_paragraphs(command.help or ""),
        ".SH OPTIONS",
        *options(ctx),
    ]
    contexts = list(subcommands(ctx))
    if contexts:
        lines.append(".SH COMMANDS")
    for sub_ctx in contexts:
        lines += [f".SS {macro_argument(usage(sub_ctx))}"]
        lines += help_paragraphs(sub_ctx.command.help or short_help(sub_ctx.command))
        if isinstance(sub_ctx.command, click.Group):
            lines += [".PP", "Commands:"]
            for sub_name, sub in visible_commands(sub_ctx):
                lines += [".TP", f"\\fB{escape(sub_name)}\\fR", text_line(short_help(sub))]
        else:
            lines += options(sub_ctx)
    env = environment([ctx, *contexts])
    if env:
        lines += [".SH ENVIRONMENT", *env]
    lines += [".SH SEE ALSO", SEE_ALSO]
    return "\n".join(lines) + "\n"
