"""Helpers for the publishing tests: throwaway keys, tiny packages, running publish-repo.

Nothing here is secret: every key is made by the test, without a passphrase, in a
temporary GNUPGHOME, and thrown away with it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

from support.provides import nfpm

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLISH = REPO_ROOT / "scripts" / "publish-repo"


@dataclass(frozen=True)
class Key:
    """A throwaway signing key in its own GNUPGHOME."""

    home: Path
    fingerprint: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "GNUPGHOME": str(self.home)}


def make_key(home: Path, name: str) -> Key:
    """Generate an RSA signing key without passphrase (RSA: what every rpm accepts)."""
    home.mkdir(mode=0o700, parents=True)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
         f"{name} <{name.lower().replace(' ', '-')}@test.invalid>", "rsa2048", "sign", "never"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    fpr = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))
    return Key(home, fpr)


def stop_agent(key: Key) -> None:
    """Stop the gpg-agent that gpg started for this key's GNUPGHOME."""
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=key.env, check=False)


def build_tiny(out: Path, name: str, version: str, payload: str = "v") -> tuple[Path, Path]:
    """A tiny .deb and .rpm of ``name`` ``version`` whose content depends on ``payload``."""
    work = out / f"src-{name}-{version}-{hashlib.sha256(payload.encode()).hexdigest()[:8]}"
    work.mkdir(parents=True)
    (work / "payload").write_text(payload + "\n")
    (work / "nfpm.yaml").write_text(
        textwrap.dedent(f"""\
        name: {name}
        arch: amd64
        platform: linux
        version: {version}
        version_schema: none
        release: "1"
        maintainer: Publishing tests <tests@test.invalid>
        description: throwaway package of the publishing tests
        contents:
          - src: ./payload
            dst: /usr/share/{name}/payload
        """)
    )
    (work / "dist").mkdir()
    for packager in ("deb", "rpm"):
        subprocess.run(
            [str(nfpm()), "package", "-f", "nfpm.yaml", "-p", packager, "-t", "dist"],
            cwd=work, check=True, capture_output=True,
        )  # fmt: skip
    deb = next((work / "dist").glob("*.deb"))
    rpm = next((work / "dist").glob("*.rpm"))
    return deb, rpm


def publish(
    repo: Path, key: Key, *packages: Path, base_url: str | None = None, path_prefix: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run scripts/publish-repo as a user would; never raises on its exit status."""
    argv = [str(PUBLISH), "--repo", str(repo), "--gnupghome", str(key.home)]
    if base_url:
        argv += ["--base-url", base_url]
    env = dict(key.env)
    if path_prefix:
        env["PATH"] = f"{path_prefix}:{env['PATH']}"
    return subprocess.run(
        [*argv, *map(str, packages)], env=env, capture_output=True, text=True, check=False
    )


def publish_ok(repo: Path, key: Key, *packages: Path, base_url: str | None = None) -> str:
    """publish-repo that must succeed; returns its output."""
    proc = publish(repo, key, *packages, base_url=base_url)
    assert proc.returncode == 0, f"publish-repo failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def snapshot(tree: Path) -> dict[str, str]:
    """Every file's SHA-256 and every symlink's target: equal snapshots, unchanged tree."""
    state: dict[str, str] = {}
    for path in sorted(tree.rglob("*")):
        rel = str(path.relative_to(tree))
        if path.is_symlink():
            state[rel] = "-> " + str(path.readlink())
        elif path.is_file():
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[rel] = "dir"
    return state
