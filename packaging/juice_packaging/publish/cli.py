"""publish-repo command line: parse, call the publish verb, print. No logic here."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from juice_packaging.publish.errors import PublishError
from juice_packaging.publish.pipeline import Options, publish
from juice_packaging.publish.signing import resolve_signer

_DESCRIPTION = """\
Add built .deb and .rpm files to a static, signed package repository tree, creating it
if needed. The tree holds an apt repository (deb/pool, deb/dists/<suite>), a dnf
repository (rpm/packages, rpm/repodata), the public key (orangeqs-juice.gpg/.asc) and,
with --base-url, the client files orangeqs-juice.sources (apt) and orangeqs-juice.repo
(dnf). Serve the whole tree as static files; see docs/publishing.md.

Publishing is incremental: published versions stay, publishing the same file again
changes nothing, and a different file under a published name and version is refused.
"""

_EPILOG = """\
examples:
  scripts/publish-repo --repo /srv/juice-repo --gnupghome ~/juice-signing \\
      --base-url https://packages.example.org/juice dist/*.deb dist/*.rpm
  scripts/publish-repo --repo /srv/juice-repo --key releases@example.org dist/*.deb

exit status: 0 published (or nothing to change), 1 refused or failed, 2 bad usage
"""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publish-repo",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "packages",
        nargs="*",
        type=Path,
        metavar="PACKAGE",
        help=".deb and .rpm files to add (none: just renew metadata and client files)",
    )
    parser.add_argument(
        "--repo",
        required=True,
        type=Path,
        metavar="DIR",
        help="repository tree to create or update",
    )
    key = parser.add_argument_group("signing key (the private key stays in gpg)")
    key.add_argument(
        "--gnupghome",
        type=Path,
        metavar="DIR",
        help="gpg home directory holding the secret key (e.g. restored from a CI secret)",
    )
    key.add_argument(
        "--key",
        metavar="ID",
        help="key id, fingerprint or user id; required without --gnupghome, "
        "then the key is used through your running gpg agent",
    )
    key.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="file with the key's passphrase, for unattended signing "
        "(default: the gpg agent asks or has it cached)",
    )
    client = parser.add_argument_group("client configuration")
    client.add_argument(
        "--base-url",
        metavar="URL",
        help="URL the tree will be served at; writes orangeqs-juice.sources and "
        "orangeqs-juice.repo pointing there",
    )
    apt = parser.add_argument_group("apt repository layout")
    apt.add_argument("--suite", default="stable", help="apt suite (default: %(default)s)")
    apt.add_argument("--component", default="main", help="apt component (default: %(default)s)")
    apt.add_argument(
        "--architectures",
        default="amd64",
        metavar="LIST",
        help="comma-separated apt architectures to index besides those of the "
        "published packages (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run publish-repo; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    for option in ("suite", "component"):
        if not _NAME.match(getattr(args, option)):
            parser.error(f"--{option} {getattr(args, option)!r}: use letters, digits, . + _ -")
    arches = tuple(a.strip() for a in args.architectures.split(",") if a.strip())
    if not all(_NAME.match(a) for a in arches):
        parser.error(f"--architectures {args.architectures!r}: comma-separated names")
    if args.base_url is not None and not re.match(r"^(https?|file)://\S+$", args.base_url):
        parser.error(f"--base-url {args.base_url!r}: give an http://, https:// or file:// URL")

    def log(line: str) -> None:
        print(f"publish-repo: {line}", flush=True)

    try:
        signer = resolve_signer(args.key, args.gnupghome, args.passphrase_file)
        log(f"signing with {signer.fingerprint} ({signer.uid})")
        publish(
            Options(
                repo=args.repo.absolute(),
                packages=args.packages,
                signer=signer,
                base_url=args.base_url,
                suite=args.suite,
                component=args.component,
                architectures=arches,
            ),
            log,
        )
    except PublishError as err:
        print(f"publish-repo: error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"publish-repo: hint: {err.hint}", file=sys.stderr)
        return 1
    return 0
