"""Values that real OrangeQS Juice hosts have, which podman and the real template accept."""

from __future__ import annotations

import pytest
from juice_host import MINIMAL, JuiceHost


@pytest.mark.parametrize(
    ("memory", "argument"),
    [
        ("2GB", "--memory 2GB"),
        ("1.5G", "--memory 1.5G"),
        ("2GiB", "--memory 2GiB"),
        ("512m", "--memory 512m"),
        ("1073741824", "--memory 1073741824"),
        ("2 GB", '--memory "2 GB"'),
    ],
)
def test_memory_takes_what_podman_takes(host: JuiceHost, memory: str, argument: str) -> None:
    host.write_config(
        MINIMAL + f"container.memory = '{memory}'\n[services.s]\ncommand = ['sleep', '1']\n"
    )
    result = host.run("env", "render")
    assert result.exit_code == 0, result.stderr
    assert f" {argument} " in (host.paths.unit_dir / "juice-s.service").read_text()


def render_containerfile(host: JuiceHost, extra: str) -> str:
    host.write_config(MINIMAL + extra)
    result = host.run("env", "render")
    assert result.exit_code == 0, result.stderr
    return (host.paths.env_dir("singleuser") / "Containerfile").read_text()


def test_a_command_continues_across_extra_lines(host: JuiceHost) -> None:
    containerfile = render_containerfile(
        host,
        "extra_dockerfile_lines = ['RUN mkdir -p /opt/a \\', '    && touch /opt/a/b', "
        "'RUN true']\n",
    )
    assert "RUN mkdir -p /opt/a \\\n    && touch /opt/a/b\nRUN true\n" in containerfile


def test_extra_lines_see_the_build_arguments_of_the_real_template(host: JuiceHost) -> None:
    containerfile = render_containerfile(
        host,
        "home_path = '/home/lab'\nextra_dockerfile_lines = ['RUN mkdir -p $SHARED_DIR/x']\n"
        "[data_folder]\nuser_id = 991\ngroup_id = 985\n",
    )
    # One ARG instruction (one build step), before the extra lines that use it.
    instruction = (
        "ARG ENV_DIR=/env USERNAME=user USER_UID=991 USER_GID=985 \\\n"
        "    HOME_DIR=/home/lab SHARED_DIR=/home/lab/shared\n"
    )
    assert instruction in containerfile
    assert containerfile.index(instruction) < containerfile.index("RUN mkdir -p $SHARED_DIR/x")


def test_epel_comes_before_system_packages_on_rhel_family_images_only(host: JuiceHost) -> None:
    containerfile = render_containerfile(host, "system_packages = ['htop']\n")
    epel = containerfile.index("dnf install -y epel-release")
    assert epel < containerfile.index("install -y --no-install-recommends htop")
    guard = containerfile[containerfile.rindex("RUN ", 0, epel) : epel]
    # dnf images only, not already there, and only where the repositories offer it.
    assert "command -v dnf" in guard
    assert "rpm -q --whatprovides epel-release" in guard
    assert "dnf -q list --available epel-release" in guard


def test_nested_configured_mounts_are_fine(host: JuiceHost) -> None:
    # An editable source under the shared folder, a volume inside a volume.
    render_containerfile(
        host,
        "sources = { lab = { editable = true, path = '/srv/lab' } }\n"
        "container.volumes = ['/srv/data:/data', '/srv/raw:/data/raw', '/srv/x:/envs']\n",
    )
