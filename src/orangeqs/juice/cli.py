"""The `juice` command line (placeholder until the environment commands land)."""

import click

from orangeqs.juice import __version__


@click.group()
@click.version_option(__version__, prog_name="juice")
def main() -> None:
    """Manage the environments of an OrangeQS Juice host."""
