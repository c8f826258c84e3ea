"""Tests of the shared helpers themselves: roots, chroot mounts, podman base image."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.http import serve_directory
from support.roots import (
    APT_ARCHIVES,
    RootCommandError,
    chroot_mounts,
    debian_mirror,
    debian_root,
    remove_root,
    run,
    run_in_root,
)


def _is_mount(point: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(point)], check=False).returncode == 0


def test_mirror_is_a_debian_archive_uri() -> None:
    assert debian_mirror().startswith(("http://", "https://"))


def test_root_mounts_are_undone_even_when_the_body_fails(tmp_path: Path) -> None:
    root = debian_root(tmp_path / "root", include=["python3", "ca-certificates"])
    try:
        assert (root / "usr/bin/python3").exists()
        with pytest.raises(RuntimeError), chroot_mounts(root):
            assert _is_mount(root / "proc")
            assert _is_mount(root / "var/cache/apt/archives")
            out = run_in_root(root, ["python3", "-c", "import os; print(os.getuid())"])
            assert out.stdout.strip() == "0"
            # A chroot shares this machine's network: it reaches a server on 127.0.0.1.
            (tmp_path / "served").mkdir()
            (tmp_path / "served/ping.txt").write_text("pong")
            with serve_directory(tmp_path / "served") as url:
                fetch = f"import urllib.request as u; print(u.urlopen('{url}/ping.txt').read())"
                assert "pong" in run_in_root(root, ["python3", "-c", fetch]).stdout
            raise RuntimeError("body failed")
        for sub in ("proc", "sys", "dev/pts", "dev", "var/cache/apt/archives"):
            assert not _is_mount(root / sub), sub
        assert APT_ARCHIVES.is_dir()
    finally:
        remove_root(root)
    assert not root.exists()


def test_failed_command_message_carries_its_output(tmp_path: Path) -> None:
    with pytest.raises(RootCommandError, match=r"(?s)stdout.*to-out.*stderr.*to-err"):
        run(["sh", "-c", "echo to-out; echo to-err >&2; exit 3"])


def test_remove_root_never_follows_a_mount(tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious").write_text("x")
    root = tmp_path / "root"
    (root / "mnt").mkdir(parents=True)
    run(["mount", "--bind", str(keep), str(root / "mnt")])
    remove_root(root)
    assert not root.exists()
    assert (keep / "precious").read_text() == "x"


@pytest.mark.podman
def test_build_from_the_base_image(
    base_image: str, podman_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "Containerfile").write_text(
        f"FROM {base_image}\nRUN python3 -c 'print(6 * 7)' > /answer\n"
    )
    tag = "localhost/juice-test-infra:smoke"
    run(["podman", "build", "-q", "-t", tag, str(tmp_path)], env=podman_env)
    try:
        out = run(["podman", "run", "--rm", tag, "cat", "/answer"], env=podman_env)
        assert out.stdout.strip() == "42"
    finally:
        run(["podman", "rmi", "-f", tag], env=podman_env, check=False)
