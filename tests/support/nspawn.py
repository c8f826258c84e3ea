"""A booted Debian host (12 unless a suite is given) with systemd and podman, in
systemd-nspawn, for end-to-end tests.

    with BootedHost("juice-e2e") as host:
        host.copy_in(Path("dist/pkg.deb"), "/root/pkg.deb")
        host.run(["apt-get", "install", "-y", "/root/pkg.deb"])
        print(host.run("systemctl list-units 'juice-*'").stdout)

The root (systemd, podman, runc, python3, and the local base image
`localhost/juice-test-base:bookworm` in a read-only podman store) is built once and
cached as a tarball and an extracted directory. Each BootedHost boots a copy-on-write
overlay of it with an empty podman store of its own, and removes both on exit. When the
block raises, the booted system's journal is saved under `.cache/test-reports/` first.

nspawn runs without --private-network: the booted host shares this machine's network,
so it reaches servers on 127.0.0.1 and the Debian archive like the tests do.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from support import CACHE_DIR, REPORTS_DIR
from support.podman import BASE_IMAGE, BASE_IMAGE_PACKAGES, CONTAINERS_CONF
from support.roots import (
    ROOT_PATH,
    SUITE,
    RootCommandError,
    apt_install,
    cached_root_dir,
    cached_root_tarball,
    chroot_mounts,
    debian_root_tarball,
    remove_root,
    run,
    run_in_root,
    unmount_all,
)

HOST_PACKAGES = ("systemd", "systemd-sysv", "dbus", "ca-certificates", "python3")
# Installed after debootstrap: podman in the debootstrap call fails on a virtual dependency.
HOST_APT_PACKAGES = ("podman", "runc", "iptables")
# Name of the cached booted-host root; change it whenever _prepare_root changes.
HOST_ROOT_KEY = "booted-host-v3"

READONLY_STORE = "/usr/lib/containers/storage"
STORAGE_CONF = f"""\
# Booted test host: the base image is in a read-only store that is part of the root.
[storage]
driver = "overlay"
graphroot = "/var/lib/containers/storage"
runroot = "/run/containers/storage"

[storage.options]
additionalimagestores = ["{READONLY_STORE}"]
"""
HOSTS_DIR = CACHE_DIR / "booted-hosts"

BOOT_TIMEOUT = 90.0
SHUTDOWN_TIMEOUT = 30.0


def _prepare_root(root: Path) -> None:
    """Turn a debootstrapped root into the booted-host root (runs once, then cached)."""
    base_tar = debian_root_tarball(BASE_IMAGE_PACKAGES)
    staged = root / "root/base-image.tar"
    # podman import extracts layers with a remount of "/", which fails unless the
    # chroot's / is a mount point: bind the root onto itself for the build.
    run(["mount", "--bind", str(root), str(root)])
    try:
        _install_podman(root, staged, base_tar)
    finally:
        unmount_all(root)
    # Smaller tarball, faster extraction: package indexes go stale anyway (run
    # `apt-get update` in the booted host), and debootstrap leaves its .debs behind.
    for pattern in ("var/lib/apt/lists/*_*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb"):
        for path in root.glob(pattern):
            path.unlink()
    # Masked to boot and stop faster: no console login is needed, and podman's own
    # boot-time units (restart policies, auto-update) take seconds and are not used.
    masked = (
        "console-getty.service",
        "getty@.service",
        "systemd-networkd.service",
        "podman-restart.service",
        "podman-auto-update.service",
        "podman-auto-update.timer",
    )
    for unit in masked:
        (root / "etc/systemd/system" / unit).unlink(missing_ok=True)
        (root / "etc/systemd/system" / unit).symlink_to("/dev/null")
    # The root is booted as the read-only lower layer of an overlay mount. Podman's
    # store cannot live on overlayfs, so each boot binds an empty store of its own and
    # finds the base image in this read-only additional store.
    store = root / "var/lib/containers/storage"
    readonly_store = root / READONLY_STORE.lstrip("/")
    readonly_store.parent.mkdir(parents=True, exist_ok=True)
    store.rename(readonly_store)
    store.mkdir()
    (root / "etc/containers/storage.conf").write_text(STORAGE_CONF)


def _install_podman(root: Path, staged: Path, base_tar: Path) -> None:
    conf_dir = root / "etc/containers"
    conf_dir.mkdir(parents=True, exist_ok=True)
    with chroot_mounts(root):
        apt_install(root, HOST_APT_PACKAGES)
        # podman's package ships its own containers.conf defaults under /usr/share; this
        # file overrides them.
        (conf_dir / "containers.conf").write_text(host_containers_conf())
        run(["cp", "--reflink=auto", str(base_tar), str(staged)])
        try:
            run_in_root(
                root,
                [
                    "podman", "import",
                    "--change", f"ENV=PATH={ROOT_PATH}",
                    "--change", "CMD=/bin/bash",
                    "/root/base-image.tar", BASE_IMAGE,
                ],
            )  # fmt: skip
        finally:
            staged.unlink()


def host_containers_conf() -> str:
    """containers.conf of the booted host: the suite's, plus chroot build isolation.

    `podman build` fails at the first RUN inside nspawn with the default (OCI)
    isolation. Podman applies `[engine] env` to itself, so every build picks it up,
    also the ones the generated juice-*-build.service units start, with no change to
    those units. (Verified: a build through systemd-run works with it, fails without.)

    Containers there use the host's network: nspawn shares this machine's network
    namespace, so a bridge the booted host's podman made would take the same subnet as
    this machine's podman bridge and break networking of containers on both.
    """
    text = Path(CONTAINERS_CONF).read_text()
    line = 'env = ["BUILDAH_ISOLATION=chroot"]  # RUN steps fail in nspawn otherwise'
    netns = 'netns = "host"  # no bridge in the network namespace shared with this machine'
    for table in ("[engine]", "[containers]"):
        if f"\n{table}\n" not in f"\n{text}":
            raise AssertionError(f"{CONTAINERS_CONF} has no {table} table to extend")
    text = text.replace("\n[engine]\n", f"\n[engine]\n{line}\n", 1)
    return text.replace("[containers]\n", f"[containers]\n{netns}\n", 1)


def booted_host_tarball(suite: str = SUITE) -> Path:
    """The cached tarball of the booted-host root of `suite` (built once, a few minutes).

    The base image inside stays the Debian 12 one on every suite: what the host runs
    changes, the environments it builds do not.
    """
    return cached_root_tarball(HOST_ROOT_KEY, _prepare_root, base=HOST_PACKAGES, suite=suite)


class BootedHostError(RuntimeError):
    """The booted host did not start or stop as expected."""


def _children(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc/<pid>/task/*/children)."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids.extend(int(word) for word in task.read_text().split())
        except OSError:
            continue
    return kids


def _container_init(nspawn_pid: int) -> int | None:
    """Host PID of the container's PID 1 (its systemd), found below the nspawn process."""
    todo = [nspawn_pid]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^NSpid:\s+(.*)$", status, re.MULTILINE)
        if pid != nspawn_pid and match and match.group(1).split()[-1] == "1":
            return pid
        todo.extend(_children(pid))
    return None


def _remove_stale_hosts() -> None:
    """Remove work directories (and overlay mounts) left by killed test runs."""
    for workdir in HOSTS_DIR.glob("*-*"):
        if time.time() - workdir.stat().st_mtime < 60:
            continue  # may be just being set up by another process
        try:
            with (workdir / "owner.lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live BootedHost of another process
        except OSError:
            pass
        remove_root(workdir)


class BootedHost:
    """A Debian 12 root booted with systemd in systemd-nspawn; a context manager.

    On entry: extract a fresh copy of the cached booted-host root, boot it, wait until
    `systemctl is-system-running` says running (or degraded). On exit: save the journal
    if the block raised, power off (kill if it hangs), remove the root.
    """

    def __init__(
        self,
        name: str = "juice-test",
        *,
        boot_timeout: float = BOOT_TIMEOUT,
        suite: str = SUITE,
    ) -> None:
        self.name = name
        self.suite = suite
        self.boot_timeout = boot_timeout
        self._workdir: Path | None = None
        self._lock: IO[str] | None = None
        self.root = Path()
        self.console_log = Path()
        self._nspawn: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> BootedHost:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None and self.is_running():
                print(f"booted host journal saved: {self.save_journal()}")
        finally:
            self.stop()

    def start(self) -> None:
        """Mount a fresh copy-on-write root and boot it; return once systemd is up."""
        lower = cached_root_dir(booted_host_tarball(self.suite))
        _remove_stale_hosts()
        HOSTS_DIR.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=HOSTS_DIR))
        self._workdir = workdir
        # Held while this host exists; a later run that can take it knows it is stale.
        self._lock = (workdir / "owner.lock").open("w")
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for sub in ("upper", "work", "root", "storage"):
            (workdir / sub).mkdir()
        # Overlay instead of extracting the root: a boot writes only what changes.
        options = f"lowerdir={lower},upperdir={workdir / 'upper'},workdir={workdir / 'work'}"
        run(["mount", "-t", "overlay", "overlay", "-o", options, str(workdir / "root")])
        self.root = workdir / "root"
        # Written on every boot so the booted host always has this checkout's settings.
        (self.root / "etc/containers/containers.conf").write_text(host_containers_conf())
        self.console_log = workdir / "console.log"
        with self.console_log.open("wb") as console:
            self._nspawn = subprocess.Popen(
                [
                    "systemd-nspawn", "-D", str(self.root), "--boot",
                    # No machined and no systemd as PID 1 on this machine: do not
                    # register, and stay in the caller's cgroup.
                    "--register=no", "--keep-unit", "--console=pipe", "-M", self.name,
                    # Like a real host, units may create network namespaces (podman run):
                    # nspawn would drop CAP_NET_ADMIN and others from the bounding set.
                    "--capability=all",
                    # ... and its seccomp filter would refuse the session keyring runc
                    # creates for every container.
                    "--system-call-filter=add_key keyctl request_key",
                    f"--bind={workdir / 'storage'}:/var/lib/containers/storage",
                ],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of pytest must not reach it directly
            )  # fmt: skip
        self._wait_until_booted()

    def _wait_until_booted(self) -> None:
        deadline = time.monotonic() + self.boot_timeout
        state = "not started"
        while time.monotonic() < deadline:
            assert self._nspawn is not None
            if self._nspawn.poll() is not None:
                raise BootedHostError(
                    f"systemd-nspawn exited with {self._nspawn.returncode} while booting"
                    f"{self._console_tail()}"
                )
            if self._pid is None:
                self._pid = _container_init(self._nspawn.pid)
            if self._pid is not None:
                result = self.run(["systemctl", "is-system-running"], check=False)
                state = result.stdout.strip() or result.stderr.strip()
                if state in ("running", "degraded"):
                    self._writable_cgroups()
                    return
            time.sleep(0.2)
        raise BootedHostError(
            f"{self.name} not up after {self.boot_timeout:.0f} s (state: {state})"
            f"{self._console_tail()}"
        )

    def _writable_cgroups(self) -> None:
        """Make the cgroup v1 controller mounts inside writable, as on a real host.

        nspawn mounts them read-only (this machine runs hybrid cgroups), so podman's
        cgroupfs manager could not create a container's cgroup: `podman run` failed.
        """
        self.run(
            "for m in $(findmnt -rn -t cgroup -o TARGET); do mount -o remount,bind,rw $m; done"
        )

    def _console_tail(self, lines: int = 60) -> str:
        try:
            text = self.console_log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n--- console ---\n" + "\n".join(text)

    def is_running(self) -> bool:
        """Whether the nspawn process is still alive and its systemd was found."""
        return self._nspawn is not None and self._nspawn.poll() is None and self._pid is not None

    def stop(self) -> None:
        """Power off (kill after a bounded wait), then remove the root. Idempotent."""
        proc = self._nspawn
        if proc is not None and proc.poll() is None:
            try:
                if self._pid is None:
                    raise subprocess.TimeoutExpired(["systemctl", "poweroff"], 0)
                self.run(["systemctl", "poweroff", "--no-block"], check=False, timeout=10)
                proc.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                # nspawn turns SIGTERM into an orderly shutdown of the container ...
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    # ... and SIGKILL of its process group ends everything.
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        self._nspawn = None
        self._pid = None
        if self._workdir is not None:
            remove_root(self._workdir)  # unmounts the overlay first
            self._workdir = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # --- working inside ----------------------------------------------------------------

    @property
    def pid(self) -> int:
        """Host PID of the booted host's systemd (PID 1 inside)."""
        if self._pid is None:
            raise BootedHostError(f"{self.name} is not running")
        return self._pid

    def command(self, cmd: Sequence[str] | str, env: Mapping[str, str] | None = None) -> list[str]:
        """The host argv that runs `cmd` (argv, or a shell string) inside the booted host."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        variables = {"PATH": ROOT_PATH, "LANG": "C.UTF-8", "HOME": "/root"}
        variables.update({"DEBIAN_FRONTEND": "noninteractive", "SYSTEMD_PAGER": ""})
        variables.update(env or {})
        # env -i: nothing of this machine's environment (pyenv PATH, CONTAINERS_CONF ...)
        # leaks into the booted host.
        assignments = [f"{key}={value}" for key, value in variables.items()]
        return ["nsenter", "-t", str(self.pid), "-a", "env", "-i", *assignments, *argv]

    def run(
        self,
        cmd: Sequence[str] | str,
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float | None = 600,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` inside the booted host (all its namespaces) as root; capture text.

        A string runs through /bin/sh -c. With `check`, a non-zero exit raises
        `RootCommandError` with stdout and stderr in its message.
        """
        return run(self.command(cmd, env), check=check, timeout=timeout, input=input)

    def copy_in(self, src: Path, dest: str | os.PathLike[str]) -> None:
        """Copy a file or directory `src` from this machine to path `dest` inside.

        Goes through the booted host's own mount namespace (tar over a pipe), because
        nspawn mounts tmpfs on /tmp and /run: writing under `self.root` would miss them.
        """
        src, dest = Path(src), os.fspath(dest)
        if src.is_dir():
            pack = ["tar", "-C", str(src), "-cf", "-", "."]
            unpack = f"mkdir -p {shlex.quote(dest)} && tar -C {shlex.quote(dest)} -xf -"
        else:
            # tar's --transform is a sed expression: a basic regular expression, in
            # which Python's re.escape would turn '+' (in package versions) into a
            # quantifier. Escape only what is special there.
            literal = re.sub(r"([\\.*\[\]^$|])", r"\\\1", src.name)
            pack = ["tar", "-C", str(src.parent), "-cf", "-", "--transform",
                    f"s|^{literal}$|payload|", src.name]  # fmt: skip
            staging = "/var/tmp/.copy-in"
            unpack = (
                f"rm -rf {staging} && mkdir -p {staging} && tar -C {staging} -xf - && "
                f'mkdir -p "$(dirname {shlex.quote(dest)})" && '
                f"mv {staging}/payload {shlex.quote(dest)} && rmdir {staging}"
            )
        with subprocess.Popen(pack, stdout=subprocess.PIPE) as packer:
            result = subprocess.run(
                self.command(unpack), stdin=packer.stdout, capture_output=True, text=True,
                check=False,
            )  # fmt: skip
        if packer.returncode or result.returncode:
            raise RootCommandError(
                result.returncode or packer.returncode, ["copy_in", str(src), dest],
                result.stdout, result.stderr,
            )  # fmt: skip

    def read_file(self, path: str) -> str:
        """Text of `path` inside the booted host."""
        return self.run(["cat", path]).stdout

    def journal(self, *args: str) -> str:
        """`journalctl --no-pager -b ARGS` inside the booted host."""
        return self.run(["journalctl", "--no-pager", "-b", *args], check=False).stdout

    def save_journal(self, label: str | None = None) -> Path:
        """Write the whole journal of this boot to `.cache/test-reports/`; return its path."""
        REPORTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label or self.name)[:120]
        path = REPORTS_DIR / f"{safe}-{stamp}.journal.txt"
        path.write_text(self.journal())
        return path
