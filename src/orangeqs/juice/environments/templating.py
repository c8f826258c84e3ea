"""The jinja2 environment for the templates that live beside this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2


@cache
def templates() -> jinja2.Environment:
    """Templates are plain text (not HTML); undefined variables are errors."""
    import jinja2  # here: commands that render nothing (`juice --version`) skip its import

    return jinja2.Environment(
        loader=jinja2.PackageLoader("orangeqs.juice.environments", "."),
        autoescape=False,  # noqa: S701 - generates Containerfiles and units, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def template_source(name: str) -> str:
    """The text of template `name`, read without jinja2 (an input of an image's identity)."""
    return Path(__file__).with_name(name).read_text(encoding="utf-8")
