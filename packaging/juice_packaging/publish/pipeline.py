"""The publish verb: check every input first, then add packages, then switch metadata.

Order matters for safety:
1. Everything is checked before anything is written, so a refused publish (a different
   file under a published name and version, the wrong key) changes nothing.
2. Packages go into the pool (each file appears atomically) before any metadata names
   them; a package file that no metadata lists yet is invisible to clients.
3. Each family's metadata is built as a new generation, signed and verified, then made
   live with one atomic symlink switch.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from juice_packaging.publish import apt_repo, clients, rpm_repo
from juice_packaging.publish.errors import PublishError
from juice_packaging.publish.packages import Package, content_fingerprint, read_package
from juice_packaging.publish.signing import Signer, fingerprints_in
from juice_packaging.publish.tree import (
    copy_atomic,
    current_generation,
    locked,
    prune_generations,
    switch,
    write_atomic,
)

STATE_FILE = "publish-state.json"


@dataclass(frozen=True)
class Options:
    """Everything one publish needs (the CLI fills it)."""

    repo: Path
    packages: Sequence[Path]
    signer: Signer
    base_url: str | None = None
    suite: str = "stable"
    component: str = "main"
    architectures: tuple[str, ...] = ("amd64",)
    origin: str = "OrangeQS"
    label: str = "OrangeQS Juice"


@dataclass
class Result:
    """What a publish did, for the summary line and for tests."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    switched: list[str] = field(default_factory=list)  # "deb" / "rpm" metadata renewed


Log = Callable[[str], None]


def publish(opts: Options, log: Log = print) -> Result:
    """Add ``opts.packages`` to the tree at ``opts.repo`` and renew its signed metadata."""
    repo = opts.repo
    result = Result()
    with locked(repo):
        _check_key(repo, opts.signer)
        plan = _plan(repo, opts)
        with tempfile.TemporaryDirectory() as tmp:
            keyring = Path(tmp) / "pubring.gpg"
            keyring.write_bytes(opts.signer.export_public(armor=False))
            key_asc = Path(tmp) / "key.asc"
            key_asc.write_bytes(opts.signer.export_public(armor=True))
            for pkg in plan:
                dest = repo / pkg.family / pkg.pool_path
                if dest.exists():
                    log(f"unchanged  {pkg.family}/{pkg.pool_path} (already published)")
                    result.unchanged.append(pkg.label)
                    continue
                log(f"adding     {pkg.family}/{pkg.pool_path}")
                if pkg.family == "deb":
                    copy_atomic(pkg.path, dest)
                else:
                    rpm_repo.add_signed_rpm(pkg.path, dest, opts.signer, key_asc)
                result.added.append(pkg.label)
            has_deb = _has_packages(repo / "deb")
            if has_deb and _renew_apt(repo / "deb", opts, keyring, log):
                result.switched.append("deb")
            has_rpm = _has_packages(repo / "rpm")
            if has_rpm and _renew_rpm(repo / "rpm", opts, keyring, log):
                result.switched.append("rpm")
            if not has_deb and not has_rpm:
                raise PublishError(
                    f"nothing to publish: {repo} holds no packages and none were given",
                    "pass the .deb/.rpm files to publish",
                )
            _write_client_files(repo, opts, keyring, key_asc, log)
    log(
        f"done: {len(result.added)} added, {len(result.unchanged)} unchanged, "
        f"metadata renewed: {', '.join(result.switched) or 'none (already up to date)'}"
    )
    return result


def _check_key(repo: Path, signer: Signer) -> None:
    """Refuse to sign a tree whose clients already trust another key."""
    existing = repo / clients.PUBLIC_KEY_ARMORED
    if not existing.is_file():
        return
    published = fingerprints_in(existing.read_bytes())
    if signer.fingerprint not in published:
        raise PublishError(
            f"{repo} is signed with key {', '.join(sorted(published))}, "
            f"not with the given key {signer.fingerprint}",
            "publish with the repository's key; clients trust only the key they installed "
            "(to change keys, publish into a new directory and have labs install the new key)",
        )


def _plan(repo: Path, opts: Options) -> list[Package]:
    """Read every input; refuse (writing nothing) if any conflicts with the tree."""
    conflicts: list[str] = []
    chosen: dict[tuple[str, str], Package] = {}
    for path in opts.packages:
        pkg = read_package(path, opts.component)
        key = (pkg.family, pkg.pool_path)
        if key in chosen:
            if chosen[key].fingerprint != pkg.fingerprint:
                conflicts.append(
                    f"{path} and {chosen[key].path} are different files for {pkg.label}"
                )
            continue
        dest = repo / pkg.family / pkg.pool_path
        if dest.exists() and content_fingerprint(pkg.family, dest) != pkg.fingerprint:
            conflicts.append(
                f"{path}: {pkg.label} is already published as {pkg.family}/{pkg.pool_path} "
                "with different content"
            )
        chosen[key] = pkg
    if conflicts:
        raise PublishError(
            "refusing to publish; nothing was changed:\n  " + "\n  ".join(conflicts),
            "a published version is never replaced: give the new build a new version "
            "(or package release) and publish that",
        )
    return list(chosen.values())


def _has_packages(family_root: Path) -> bool:
    pool = family_root / ("pool" if family_root.name == "deb" else "packages")
    return pool.is_dir() and any(pool.rglob(f"*.{family_root.name}"))


def _pool_listing(family_root: Path, suffix: str) -> list[tuple[str, int]]:
    """Published package files (path, size): the input metadata is generated from."""
    files = sorted(
        p for p in family_root.rglob(f"*{suffix}") if p.is_file() and not p.name.startswith(".")
    )
    return [(str(p.relative_to(family_root)), p.stat().st_size) for p in files]


def _up_to_date(gen: Path | None, state: dict[str, object]) -> bool:
    """True when the live generation was made from exactly this state."""
    if gen is None:
        return False
    state_file = gen.parent / STATE_FILE
    try:
        recorded = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return False
    return bool(recorded == json.loads(json.dumps(state)))


def _renew(
    family_root: Path,
    kind: str,
    tag: str,
    state: dict[str, object],
    description: str,
    build: Callable[[Path | None], Path],
    log: Log,
) -> bool:
    """Make ``family_root/kind`` a new signed generation unless it was made from ``state``.

    ``build`` writes the generation (given the live one, or None) and returns it.
    """
    link = family_root / kind
    current = current_generation(link)
    if _up_to_date(current, state):
        log(f"{tag:<11}metadata already up to date")
        return False
    log(f"{tag:<11}{description}")
    gen = build(current)
    (gen / STATE_FILE).write_text(json.dumps(state, indent=1) + "\n")
    switch(link, gen / kind)
    prune_generations(family_root, kind, keep=gen)
    log(f"{tag:<11}switched {family_root.name}/{kind} to signed {gen.name}")
    return True


def _renew_apt(deb_root: Path, opts: Options, keyring: Path, log: Log) -> bool:
    layout = apt_repo.AptLayout(
        suite=opts.suite,
        component=opts.component,
        architectures=apt_repo.index_architectures(deb_root, opts.architectures),
        origin=opts.origin,
        label=opts.label,
    )
    pool = _pool_listing(deb_root / "pool", ".deb")
    state: dict[str, object] = {
        "key": opts.signer.fingerprint,
        "layout": asdict(layout),
        "pool": pool,
    }
    return _renew(
        deb_root,
        "dists",
        "apt",
        state,
        f"indexing {len(pool)} package(s) for {' '.join(layout.architectures)}",
        lambda current: apt_repo.build_dists(deb_root, layout, opts.signer, keyring, current),
        log,
    )


def _renew_rpm(rpm_root: Path, opts: Options, keyring: Path, log: Log) -> bool:
    pool = _pool_listing(rpm_root / "packages", ".rpm")
    state: dict[str, object] = {"key": opts.signer.fingerprint, "pool": pool}
    return _renew(
        rpm_root,
        "repodata",
        "dnf",
        state,
        f"indexing {len(pool)} package(s) with createrepo_c",
        lambda current: rpm_repo.build_repodata(rpm_root, opts.signer, keyring, current),
        log,
    )


def _write_client_files(repo: Path, opts: Options, keyring: Path, key_asc: Path, log: Log) -> None:
    files = {
        clients.PUBLIC_KEY_BINARY: keyring.read_bytes(),
        clients.PUBLIC_KEY_ARMORED: key_asc.read_bytes(),
    }
    if opts.base_url is not None:
        base = opts.base_url.rstrip("/")
        files[clients.APT_SOURCES] = clients.apt_sources(base, opts.suite, opts.component).encode()
        files[clients.DNF_REPO] = clients.dnf_repo(base).encode()
    elif not (repo / clients.APT_SOURCES).exists():
        log("note       no --base-url given: orangeqs-juice.sources/.repo not written")
    for name, data in files.items():
        if write_atomic(repo / name, data):
            log(f"writing    {name}")
