"""A service's run unit on a booted host: its container starts with the runtime-only
container keys of the environment (a published port, an added group).

The package is installed from its .deb (the image rebuild of the install is skipped:
this module builds only its own service); the service is added in a drop-in the way an
administrator writes one, built through its build unit, and started with systemctl.

The booted host's containers normally use the host network (it is this machine's
network namespace; see support.nspawn.host_containers_conf), where podman discards
published ports. This module gives them slirp4netns, a user-mode network stack of their
own: the published port is then forwarded by a podman process listening on this
network namespace, with no bridge and no firewall rule on the machine.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest
from support.lab import (
    DROP_IN_DIR,
    package_manager,
    provision_site,
    service_environment,
    unit_journal,
    write_file,
)
from support.nspawn import BootedHost
from support.packages import build_packages

pytestmark = pytest.mark.system

SERVICE = "web"
CONTAINER_PORT = 8080
# Debian's "video" group; present in the Debian base image and on the booted host.
ADDED_GROUP = "video"


def free_port() -> int:
    """A port free on 127.0.0.1 now (the booted host shares this machine's network)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def host() -> Iterator[BootedHost]:
    deb = build_packages("1.0.0").deb
    with BootedHost("juice-runtime") as booted:
        provision_site(booted)
        booted.copy_in(deb, f"/tmp/{deb.name}")
        package_manager(
            booted,
            ["env", "JUICE_SKIP_IMAGE_BUILD=1", "apt-get", "-y", "install", f"/tmp/{deb.name}"],
        )
        booted.run(["apt-get", "update"], timeout=600)
        package_manager(booted, ["apt-get", "-y", "install", "slirp4netns"])
        yield booted


def use_slirp4netns(host: BootedHost) -> None:
    """Containers started from now on get their own network stack (see the docstring)."""
    conf = "/etc/containers/containers.conf"
    text, count = re.subn(r'(?m)^netns = "host".*$', 'netns = "slirp4netns"', host.read_file(conf))
    assert count == 1, text
    write_file(host, conf, text)


def wait_for_http(host: BootedHost, port: int, timeout: float = 120.0) -> str:
    """The body of GET / on 127.0.0.1:`port` inside the host, once something answers."""
    script = (
        "import sys, urllib.request as u; "
        f"sys.stdout.write(u.urlopen('http://127.0.0.1:{port}/', timeout=5).read().decode())"
    )
    deadline = time.monotonic() + timeout
    while True:
        result = host.run(["python3", "-c", script], check=False)
        if result.returncode == 0:
            return result.stdout
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing answered on port {port}: {result.stderr}")
        time.sleep(1)


def test_service_container_runs_with_its_published_port_and_added_group(
    host: BootedHost,
) -> None:
    port = free_port()
    write_file(
        host,
        f"{DROP_IN_DIR}/50-{SERVICE}.toml",
        f'[services.{SERVICE}]\ncommand = ["python3", "-m", "http.server", "{CONTAINER_PORT}"]\n\n'
        + service_environment(SERVICE, [])
        + f"\n[services.{SERVICE}.environment.container]\n"
        f"port_forwarding = [{{ host_port = {port}, container_port = {CONTAINER_PORT} }}]\n"
        f'group_add = ["{ADDED_GROUP}"]\n',
    )
    built = host.run(["juice", "env", "build", SERVICE], timeout=900, check=False)
    assert built.returncode == 0, built.stdout + built.stderr + unit_journal(host, SERVICE)
    unit = f"/etc/systemd/system/juice-{SERVICE}.service"
    assert f"-p {port}:{CONTAINER_PORT}" in host.read_file(unit)

    use_slirp4netns(host)
    host.run(["systemctl", "start", f"juice-{SERVICE}.service"])
    try:
        # The home directory listing of the container user, served through the port.
        body = wait_for_http(host, port)
        assert "Directory listing for /" in body
        container = f"juice-{SERVICE}"
        ports = host.run(["podman", "port", container]).stdout
        assert f"{CONTAINER_PORT}/tcp -> 0.0.0.0:{port}" in ports, ports
        groups = host.run(["podman", "exec", container, "id", "-Gn"]).stdout.split()
        assert ADDED_GROUP in groups, groups
        who = host.run(["podman", "exec", container, "id", "-un"]).stdout.strip()
        assert who == "user"
    finally:
        host.run(["systemctl", "stop", f"juice-{SERVICE}.service"], check=False)
