"""The README's build command on a new machine: a fresh minimal Debian 12 root with only
what the README asks for (Debian 12, root), the checkout's files copied in, then
`scripts/build-packages`. It must install what it needs itself and write the packages.

Slow (minutes): everything scripts/setup-host and the tool set-up download is real.
apt's, pip's and uv's download caches persist under .cache/new-machine/ (mounted into
the root), so later runs download nothing twice; the root itself is new every time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from support import CACHE_DIR, REPO_ROOT, file_lock
from support.roots import chroot_mounts, debian_root, remove_root, run, run_in_root

CACHES = CACHE_DIR / "new-machine"
CHECKOUT = "/root/orangeqs-juice"
# Download caches inside the root -> their persistent copy outside.
MOUNTED_CACHES = {
    "var/cache/apt/archives": CACHES / "apt-archives",
    "root/.cache/pip": CACHES / "pip",
    f"{CHECKOUT.lstrip('/')}/.cache/uv": CACHES / "uv",
}


def this_machines_tls(root: Path) -> dict[str, str]:
    """The machine's own certificate authorities and the variables that point tools at
    them (behind a TLS-inspecting proxy, pip and uv need them to reach PyPI): a new lab
    machine on the same network has them too. The root's CA bundle includes the local
    CAs once setup-host installs ca-certificates."""
    local = Path("/usr/local/share/ca-certificates")
    if local.is_dir():
        shutil.copytree(local, root / local.relative_to("/"), dirs_exist_ok=True)
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    names = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    return {name: bundle for name in names if os.environ.get(name)}


def copy_checkout(dest: Path) -> int:
    """Copy every file git tracks (as the working tree has it); return how many."""
    names = run(["git", "-C", str(REPO_ROOT), "ls-files", "-z"]).stdout.split("\0")
    files = [n for n in names if n and (REPO_ROOT / n).exists()]
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["tar", "-C", str(REPO_ROOT), "--null", "-T", "-", "-cf", "-"],
        input="\0".join(files).encode(), capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-C", str(dest), "-xf", "-"], input=archive, check=True)
    return len(files)


@contextmanager
def download_caches(root: Path) -> Iterator[None]:
    """Bind the persistent download caches into the root (over chroot_mounts' apt cache:
    this root's apt runs inside build-packages, outside the suite's apt lock)."""
    with ExitStack() as stack:
        for inside, outside in MOUNTED_CACHES.items():
            (outside / "partial" if "apt" in inside else outside).mkdir(parents=True, exist_ok=True)
            point = root / inside
            point.mkdir(parents=True, exist_ok=True)
            run(["mount", "--bind", str(outside), str(point)])
            stack.callback(run, ["umount", str(point)])
        yield


def test_readme_build_command_works_on_a_new_debian_12_machine(tmp_path: Path) -> None:
    root = debian_root(tmp_path / "root")
    try:
        assert copy_checkout(root / CHECKOUT.lstrip("/")) > 50
        tls = this_machines_tls(root)
        # One run at a time: the download caches are shared between runs.
        with file_lock(CACHES / "lock"), chroot_mounts(root), download_caches(root):
            result = run_in_root(
                root, ["bash", "-c", f"cd {CHECKOUT} && scripts/build-packages"],
                env=tls, check=False, timeout=3600,
            )  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        dist = root / CHECKOUT.lstrip("/") / "dist"
        assert len(list(dist.glob("orangeqs-juice_*_amd64.deb"))) == 1, output[-3000:]
        assert len(list(dist.glob("orangeqs-juice-*.x86_64.rpm"))) == 1, output[-3000:]
        assert "build-packages: done in" in output
        assert "lint: shellcheck, lintian and rpmlint" in output  # lint ran, not skipped
    finally:
        remove_root(root)
