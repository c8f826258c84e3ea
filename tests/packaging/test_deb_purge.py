"""The .deb on a host that is not a fresh one: an upgrade from a version that shipped
orchestration.toml as a conffile, and a purge where removing one path fails.

All run in one fresh Debian 12 root, in file order: the first test installs, the last
purges. apt runs with no terminal and nothing on stdin (packaging_helpers.apt_get).
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging_helpers import MARKER, apt_get, juice_leftovers
from support.packages import BuiltPackages
from support.roots import chroot_mounts, debian_root, remove_root, run, run_in_root

from orangeqs.juice.ownership import GENERATED_DIR_STAMP

SKIP = {"JUICE_SKIP_IMAGE_BUILD": "1"}
CONFIG = "etc/juice/config/orchestration.toml"
SOURCE_CONFIG = Path(__file__).resolve().parents[2] / "packaging/config/orchestration.toml"


def conffile_era_deb(dest: Path) -> Path:
    """A stand-in for a version before 0.9 that shipped orchestration.toml as a conffile.

    Only what matters here: the same package name, an older version, and the conffile
    (the default of that time, which differs from today's).
    """
    tree = dest / "old"
    config = tree / CONFIG
    config.parent.mkdir(parents=True)
    header = "# The default configuration of orangeqs-juice 0.8.0.\n"
    config.write_text(header + SOURCE_CONFIG.read_text())
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN/control").write_text(
        "Package: orangeqs-juice\nVersion: 0.8.0\nArchitecture: all\n"
        "Maintainer: Tests <tests@example.org>\n"
        "Description: stand-in for the conffile era of orangeqs-juice (tests only)\n"
    )
    (tree / "DEBIAN/conffiles").write_text(f"/{CONFIG}\n")
    deb = dest / "orangeqs-juice_0.8.0_all.deb"
    run(["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)])
    return deb


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, v1: BuiltPackages) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("deb-purge")
    path = debian_root(base / "root")
    shutil.copy2(v1.deb, path / "tmp" / v1.deb.name)
    shutil.copy2(conffile_era_deb(base), path / "tmp/old.deb")
    try:
        with chroot_mounts(path):
            update = apt_get(path, ["update", "-qq"])
            assert update.returncode == 0, update.stdout + update.stderr
            yield path
    finally:
        remove_root(path)


def test_upgrade_from_the_conffile_era_keeps_the_edit_and_never_asks(
    root: Path, v1: BuiltPackages
) -> None:
    run_in_root(root, ["dpkg", "-i", "/tmp/old.deb"])
    config = root / CONFIG
    edited = config.read_text() + "\n# edited by the administrator\n"
    config.write_text(edited)
    result = apt_get(root, ["install", "-y", f"/tmp/{v1.deb.name}"], SKIP)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Configuration file" not in output and "conffile" not in output
    assert config.read_text() == edited
    # postinst saw an upgrade, so it left the administrator's file alone.
    assert "installed the default configuration" not in output
    default = root / "usr/share/orangeqs-juice/orchestration.toml"
    assert default.read_text().startswith("# The default configuration of orangeqs-juice 0.9.0rc1.")


def test_configure_gives_up_on_a_held_lock_and_still_configures(
    root: Path, v1: BuiltPackages
) -> None:
    """Another juice process holds the lock: postinst waits a bounded time (here 2 s
    instead of the default 600), says so, and the package is configured anyway."""
    lock = root / "var/juice/envs/.juice.lock"
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        env = {**SKIP, "JUICE_LOCK_TIMEOUT": "2"}
        result = apt_get(root, ["install", "-y", "--reinstall", f"/tmp/{v1.deb.name}"], env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "waiting for it (at most 2 s)" in output
    assert "still held this lock after 2s" in output
    assert "warning: 'juice env render' failed" in output
    status = run_in_root(root, ["dpkg-query", "-W", "-f=${Status}", "orangeqs-juice"])
    assert status.stdout == "install ok installed"


def test_purge_runs_every_step_when_one_removal_fails(root: Path) -> None:
    envs = root / "var/juice/envs"
    generated = sorted(p for p in envs.iterdir() if (p / GENERATED_DIR_STAMP).is_file())
    assert generated, sorted(envs.iterdir())
    # The first step (the generated directories) fails for this one; later steps must run.
    stuck = generated[0]
    # The administrator's directory: no stamp, so juice did not create it.
    admin = envs / "notes"
    admin.mkdir()
    (admin / "todo.txt").write_text("keep me\n")
    log = root / "var/log/juice/build-x.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("a build log\n")
    # An environment's lock (juice's), and a result in the shared folder (the user's).
    lock_dir = root / "var/lib/juice/locks/singleuser"
    lock_dir.mkdir(parents=True, exist_ok=True)
    (lock_dir / "uv.lock").write_text("version = 1\n")
    (lock_dir / "pyproject.toml").write_text("[project]\n")
    (lock_dir / "third-party.requirements.txt").write_text("six==1.16.0\n")
    (lock_dir / "previous.uv.lock").write_text("version = 1\n")  # the configuration before
    journal = root / "var/lib/juice/generations/singleuser.json"  # the images it got
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text("[]\n")
    work = root / "var/lib/juice/locks/.singleuser.x1y2.work"  # a killed lock step's
    work.mkdir()
    (work / "uv.lock").write_text("version = 1\n")
    user_data = root / "var/lib/juice/user/shared/results.txt"
    user_data.parent.mkdir(parents=True, exist_ok=True)
    user_data.write_text("a measurement\n")
    units = [u for u in (root / "etc/systemd/system").glob("juice-*") if u.is_file()]
    assert units and all(u.read_text().startswith(MARKER) for u in units)
    # One path cannot be removed: a read-only bind mount of a generated directory.
    run(["mount", "--bind", str(stuck), str(stuck)])
    try:
        run(["mount", "-o", "remount,ro,bind", str(stuck)])
        result = apt_get(root, ["purge", "-y", "orangeqs-juice"])
    finally:
        run(["umount", str(stuck)])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # dpkg finished: the package is gone, not left half-removed.
    status = run_in_root(
        root, ["dpkg-query", "-W", "-f=${db:Status-Abbrev}", "orangeqs-juice"], check=False
    )
    assert status.returncode != 0 or status.stdout.startswith("un"), status.stdout
    # The failure is named, with its reason, and once more in the summary.
    rel = "/" + str(stuck.relative_to(root))
    assert f"could not remove {rel}: " in output
    assert "Read-only file system" in output
    assert f"purge could not remove: {rel}" in output
    # Everything after it still ran.
    assert stuck.is_dir()
    assert [p for p in generated[1:] if p.exists()] == []
    assert not log.exists()
    assert [u for u in units if u.exists()] == []
    assert not (envs / ".juice.lock").exists()
    assert not (root / CONFIG).exists()
    assert "kept /var/juice/envs/notes (juice did not create it)" in output
    assert (admin / "todo.txt").read_text() == "keep me\n"
    assert (root / "opt").is_dir()
    assert not (root / "var/lib/juice/locks").exists()
    assert not (root / "var/lib/juice/generations").exists()
    assert user_data.read_text() == "a measurement\n"
    # Only what could not be removed, the user's data, and the directories holding them.
    assert juice_leftovers(root) == sorted(
        ["/var/juice", f"{rel}/{GENERATED_DIR_STAMP}", "/var/lib/juice"]
    )
