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
from juice_packaging.publish.packages import (
    Package,
    content_fingerprint,
    deb_suite,
    read_package,
)
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
            channels = _rpm_channels(repo / "rpm")
            has_rpm = bool(channels)
            for channel in channels:
                if _renew_rpm(repo / "rpm", channel, channels, opts, keyring, log):
                    result.switched.append(f"rpm/{channel}" if channel else "rpm")
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
        pkg = read_package(path, opts.component, opts.suite)
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


def _recorded_state(gen: Path | None) -> object:
    """The state the live generation was made from (None if unknown)."""
    if gen is None:
        return None
    try:
        return json.loads((gen.parent / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _up_to_date(gen: Path | None, state: dict[str, object]) -> bool:
    """True when the live generation was made from exactly this state."""
    return bool(_recorded_state(gen) == json.loads(json.dumps(state)))


def _rpm_channels(rpm_root: Path) -> list[str]:
    """The dnf repositories with packages: "" (rpm/ itself) and one per Python ABI."""
    channels = set()
    for path in rpm_root.rglob("*.rpm") if rpm_root.is_dir() else []:
        rel = path.relative_to(rpm_root)
        if path.name.startswith(".") or "generations" in rel.parts:
            continue
        channels.add("" if rel.parts[0] == "packages" else rel.parts[0])
    return sorted(channels)


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
    """One suite per Debian release (+deb12: bookworm), others in --suite; a suite whose
    packages did not change keeps its metadata and signatures byte for byte."""
    architectures = apt_repo.index_architectures(deb_root, opts.architectures)
    pool = _pool_listing(deb_root / "pool", ".deb")
    by_suite: dict[str, list[tuple[str, int]]] = {}
    for path, size in pool:
        upstream = Path(path).name.split("_")[1]
        by_suite.setdefault(deb_suite(upstream, opts.suite), []).append((path, size))
    layouts = {
        suite: apt_repo.AptLayout(suite, opts.component, architectures, opts.origin, opts.label)
        for suite in by_suite
    }
    suites_state = {
        suite: {"layout": asdict(layouts[suite]), "pool": files}
        for suite, files in sorted(by_suite.items())
    }
    state: dict[str, object] = {"key": opts.signer.fingerprint, "suites": suites_state}

    def build(current: Path | None) -> Path:
        recorded = _recorded_state(current)
        old = recorded.get("suites", {}) if isinstance(recorded, dict) else {}
        same_key = isinstance(recorded, dict) and recorded.get("key") == opts.signer.fingerprint
        fresh = json.loads(json.dumps(suites_state))
        unchanged = {s for s in fresh if same_key and old.get(s) == fresh[s]}
        suites = {
            suite: (layouts[suite], frozenset(f"pool/{path}" for path, _ in files))
            for suite, files in by_suite.items()
        }
        return apt_repo.build_dists(deb_root, suites, unchanged, opts.signer, keyring, current)

    return _renew(
        deb_root,
        "dists",
        "apt",
        state,
        f"indexing {len(pool)} package(s) in suite(s) {', '.join(sorted(by_suite))} "
        f"for {' '.join(architectures)}",
        build,
        log,
    )


def _renew_rpm(
    rpm_root: Path, channel: str, channels: list[str], opts: Options, keyring: Path, log: Log
) -> bool:
    """The dnf repository rpm/<channel> (one per Python ABI; "" is rpm/ itself)."""
    root = rpm_root / channel if channel else rpm_root
    pool = _pool_listing(root / "packages", ".rpm")
    state: dict[str, object] = {"key": opts.signer.fingerprint, "pool": pool}
    excludes = tuple(c for c in channels if c) if not channel else ()
    return _renew(
        root,
        "repodata",
        "dnf" if not channel else f"dnf {channel}",
        state,
        f"indexing {len(pool)} package(s) with createrepo_c",
        lambda current: rpm_repo.build_repodata(root, opts.signer, keyring, current, excludes),
        log,
    )


def _published_suites(deb_root: Path) -> list[str]:
    """The suites the live dists/ holds (a suite per Debian release, and --suite's)."""
    dists = deb_root / "dists"
    return sorted(p.name for p in dists.iterdir() if p.is_dir()) if dists.is_dir() else []


def _write_client_files(repo: Path, opts: Options, keyring: Path, key_asc: Path, log: Log) -> None:
    files = {
        clients.PUBLIC_KEY_BINARY: keyring.read_bytes(),
        clients.PUBLIC_KEY_ARMORED: key_asc.read_bytes(),
    }
    if opts.base_url is not None:
        base = opts.base_url.rstrip("/")
        suites = _published_suites(repo / "deb")
        # One .sources per suite, naming its release: a host downloads its own.
        for suite in suites:
            name = clients.apt_sources_name(suite, suite != opts.suite)
            files[name] = clients.apt_sources(base, suite, opts.component, name).encode()
        for channel in _rpm_channels(repo / "rpm") or [""]:
            name = clients.dnf_repo_name(channel)
            files[name] = clients.dnf_repo(base, channel, name).encode()
    elif not (repo / clients.APT_SOURCES).exists():
        log("note       no --base-url given: orangeqs-juice.sources/.repo not written")
    for name, data in files.items():
        if write_atomic(repo / name, data):
            log(f"writing    {name}")
