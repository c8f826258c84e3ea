"""Build step "shell": juice(1) and the bash, zsh and fish completions, from the CLI itself.

An administrator expects ``man juice`` and <TAB> to work for a command that came in a
distribution package. Both are generated at build time from the staged venv's own
click application, so they describe exactly the juice that is packaged and never
drift from ``juice --help``:

- the man page by juice_packaging.manpage (gzip -9n, as Debian policy wants);
- each completion script by click's completion support, the text that
  ``_JUICE_COMPLETE=<shell>_source juice`` prints.

The build's shell step runs ``command`` in the target's build root: the packaged venv's
Python runs ``write`` (``python -B -m juice_packaging.shell_files``), as only that
interpreter has click and the core, and only on its own release.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

PROG_NAME = "juice"
COMPLETE_VAR = "_JUICE_COMPLETE"
# Under the staging root, where nfpm.yaml takes them from. zsh: Debian's vendor
# directory (the .rpm installs the same file into site-functions, nfpm.yaml).
MAN_PAGE = Path("usr/share/man/man1/juice.1.gz")
COMPLETIONS = {
    "bash": Path("usr/share/bash-completion/completions/juice"),
    "zsh": Path("usr/share/zsh/vendor-completions/_juice"),
    "fish": Path("usr/share/fish/vendor_completions.d/juice.fish"),
}


def command(python: str, packaging: str, root: str, version: str, epoch: int) -> list[str]:
    """The command that writes the man page and the completion scripts under `root`.

    `python` is the packaged venv's interpreter; `packaging` the directory holding
    juice_packaging. Only that directory is added to the path: juice itself must come
    from the packaged venv. ``-B``: no byte code may land in the packaged venv.
    """
    return [
        "env", f"PYTHONPATH={packaging}", "PYTHONDONTWRITEBYTECODE=1",
        python, "-B", "-m", "juice_packaging.shell_files",
        "--root", root, "--version", version, "--epoch", str(epoch),
    ]  # fmt: skip


def write(root: Path, version: str, epoch: int) -> None:
    """In the staged venv: render the files from the importable juice CLI and write them."""
    from click.shell_completion import get_completion_class

    from juice_packaging.manpage import render
    from orangeqs.juice.cli import main as juice

    page = render(juice, PROG_NAME, version, epoch).encode()
    _write(root / MAN_PAGE, gzip.compress(page, compresslevel=9, mtime=0))
    for shell, path in COMPLETIONS.items():
        completion_class = get_completion_class(shell)
        if completion_class is None:
            raise RuntimeError(f"click has no {shell} completion")
        source = completion_class(juice, {}, PROG_NAME, COMPLETE_VAR).source()
        _write(root / path, source.rstrip("\n").encode() + b"\n")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main() -> None:
    """Command line of the in-venv half (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="the staging root")
    parser.add_argument("--version", required=True, help="the version the man page names")
    parser.add_argument("--epoch", type=int, required=True, help="SOURCE_DATE_EPOCH")
    args = parser.parse_args()
    write(args.root, args.version, args.epoch)


if __name__ == "__main__":
    main()
