"""Bad configuration: one clear message naming file, key and reason; exit 2; nothing written."""

from __future__ import annotations

import pytest
from juice_host import MINIMAL, JuiceHost

BASE = '[environments.default]\nbase_image = "debian:12"\n'


@pytest.mark.parametrize(
    ("config", "key", "reason"),
    [
        pytest.param("[environments.default\n", "", "not valid TOML", id="unparsable TOML"),
        pytest.param(
            BASE + "dependecies = ['numpy']\n",
            "environments.default.dependecies",
            "did you mean 'dependencies'?",
            id="mistyped key",
        ),
        pytest.param(
            BASE + "python_version = 3.12\n",
            "environments.default.python_version",
            "Input should be a valid string",
            id="wrong type",
        ),
        pytest.param(
            BASE + "container.port_forwarding = [{ host_port = 8080 }]\n",
            "environments.default.container.port_forwarding[0].container_port",
            "required key is missing",
            id="missing key",
        ),
        pytest.param(
            BASE + "type = 'conda'\n",
            "environments.default.type",
            "unknown environment type; the types are: 'uv'",
            id="unknown environment type",
        ),
        pytest.param(
            BASE + "[services.'My Service']\n",
            "services.My Service",
            "lowercase letters and digits",
            id="service name not a unit or image name",
        ),
        pytest.param(
            BASE + "[services.a_-b]\n",
            "services.a_-b",
            "because it names a systemd unit and an image",
            id="name valid for a unit but not for an image",
        ),
        pytest.param(
            BASE + "[services.foo]\n[services.foo-build]\ncommand = ['true']\n",
            "services",
            "juice-foo-build.service",
            id="two environments would write the same unit",
        ),
        pytest.param(
            BASE + "sources = { pkg = { path = '/', editable = true } }\n",
            "environments.default.sources.pkg.path",
            "must name a folder",
            id="editable source at the root would mount the host",
        ),
        pytest.param(
            BASE + "sources = { a_b = { path = '/x/a' }, A-B = { path = '/x/b' } }\n",
            "environments.default.sources",
            "names the same package",
            id="two source tables for one package",
        ),
        pytest.param(
            BASE + "extra_dockerfile_lines = ['RUN <<EOF']\n",
            "environments.default.extra_dockerfile_lines[0]",
            "here-document, which the podman of Debian 12 (4.3) cannot build",
            id="heredoc swallows the generated lines",
        ),
        pytest.param(
            BASE + "pyproject_toml_extra = { project = { dependencies = [] } }\n",
            "environments.default.pyproject_toml_extra",
            "project.dependencies, which juice writes itself",
            id="extra pyproject undoing juice's dependencies",
        ),
        pytest.param(
            BASE + "container.environment = { A = '1' }\nbuild.environment = { A = '2' }\n",
            "environments.default",
            "set in both container.environment and build.environment",
            id="one variable with two values",
        ),
        pytest.param(
            BASE + "[services.singleuser]\n",
            "services",
            "JupyterHub user container",
            id="reserved service name",
        ),
        pytest.param(
            BASE + "sources = { pkg = { path = '../pkg', editable = true } }\n",
            "environments.default.sources.pkg.path",
            "must not contain '..'",
            id="traversing path",
        ),
        pytest.param(
            BASE + "sources = { pkg = { path = 'src/pkg', editable = true } }\n",
            "environments.default.sources.pkg.path",
            "is relative",
            id="relative path",
        ),
        pytest.param(
            BASE + 'extra_dockerfile_lines = ["RUN true\\nRUN evil"]\n',
            "environments.default.extra_dockerfile_lines[0]",
            "control character '\\n'",
            id="newline injects a Containerfile line",
        ),
        pytest.param(
            BASE + "extra_dockerfile_lines = ['RUN true && \\\\', 'true \\\\']\n",
            "environments.default.extra_dockerfile_lines",
            "the last line ([1]) ends with a backslash",
            id="continuation joins the next generated line",
        ),
        pytest.param(
            BASE + 'container.environment = { A = "x\\nExecStartPre=/bin/evil" }\n',
            "environments.default.container.environment.A",
            "control character",
            id="newline injects a unit line",
        ),
        pytest.param(
            BASE + "container.volumes = ['relative:/data']\n"
            "[services.x.environment]\nbase_image = 'debian:12'\ncontainer.volumes = ['data']\n",
            "services.x.environment.container.volumes[0]",
            "SOURCE:TARGET",
            id="malformed volume",
        ),
        pytest.param(
            "[environments.default]\nbase_image = 'Debian 12'\n",
            "environments.default.base_image",
            "not a valid image reference",
            id="bad image reference",
        ),
        pytest.param(
            BASE + "dependencies = ['numpy >= > 1']\n",
            "environments.default.dependencies[0]",
            "not a valid dependency specifier",
            id="bad dependency",
        ),
        pytest.param(
            BASE + "system_packages = ['git; rm -rf /']\n",
            "environments.default.system_packages[0]",
            "not a system package name",
            id="shell in a package name",
        ),
        pytest.param(
            BASE + "[environments.other]\nbase_image = 'x'\n",
            "environments.other",
            "unknown key",
            id="environment other than default",
        ),
        pytest.param(
            BASE + "[services.s]\nenviroment = { base_image = 'x' }\n",
            "services.s.enviroment",
            "did you mean 'environment'?",
            id="mistyped key in a shared section",
        ),
        pytest.param(
            BASE + "[enviroments.default]\n",
            "enviroments",
            "did you mean 'environments'?",
            id="mistyped top-level table",
        ),
        pytest.param(
            BASE + "pyproject_toml_extra = '[tool.uv'\n",
            "environments.default.pyproject_toml_extra",
            "not valid TOML",
            id="bad TOML string",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = { tool = "x" }\n',
            "environments.default.pyproject_toml_extra",
            "tool: must be a table, not a string",
            id="extra tool not a table",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = { project = "x" }\n',
            "environments.default.pyproject_toml_extra",
            "project: must be a table, not a string",
            id="extra project not a table",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = { tool = { uv = "x" } }\n',
            "environments.default.pyproject_toml_extra",
            "tool.uv: must be a table, not a string",
            id="extra tool.uv not a table",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = { tool = { uv = { sources = "x" } } }\n',
            "environments.default.pyproject_toml_extra",
            "tool.uv.sources: must be a table",
            id="extra sources not a table",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = { tool = { uv = { sources = { lab = "x" } } } }\n',
            "environments.default.pyproject_toml_extra",
            "tool.uv.sources.lab: must be a table or a list of tables",
            id="extra source entry not a table",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = { tool = { uv = { index = { url = "x" } } } }\n',
            "environments.default.pyproject_toml_extra",
            "tool.uv.index: must be a list",
            id="extra index not a list",
        ),
        pytest.param(
            BASE + "pyproject_toml_extra = { tool = { black = 1 } }\n",
            "environments.default.pyproject_toml_extra",
            "tool.black: must be a table",
            id="extra other tool not a table",
        ),
        pytest.param(
            BASE + "pyproject_toml_extra = { tools = {} }\n",
            "environments.default.pyproject_toml_extra",
            "tools: not a pyproject.toml table",
            id="extra unknown top-level table",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = { project = { version = "2" } }\n',
            "environments.default.pyproject_toml_extra",
            "project.version, which juice writes itself",
            id="extra project.version",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = { project = { requires-python = ">=3" } }\n',
            "environments.default.pyproject_toml_extra",
            "project.requires-python, which juice writes",
            id="extra requires-python",
        ),
        pytest.param(
            BASE
            + 'pyproject_toml_extra = { project = { optional-dependencies = { a = "numpy" } } }\n',
            "environments.default.pyproject_toml_extra",
            "project.optional-dependencies.a: must be a list",
            id="extra optional deps not a list",
        ),
        pytest.param(
            BASE + "[environments.default.pyproject_toml_extra.tool.uv.sources]\n"
            "Orangeqs_Juice_Core = { path = '/src' }\n",
            "environments.default.pyproject_toml_extra",
            "tool.uv.sources.Orangeqs_Juice_Core: juice chooses where orangeqs-juice-core",
            id="extra source for the core",
        ),
        pytest.param(
            BASE + 'pyproject_toml_extra = "[tool.uv]\\nsources = 3"\n',
            "environments.default.pyproject_toml_extra",
            "tool.uv.sources: must be a table, not a number",
            id="extra TOML string of the wrong shape",
        ),
        pytest.param(
            BASE + "container.port_forwarding = [{ host_port = 70000, container_port = 80 }]\n",
            "environments.default.container.port_forwarding[0].host_port",
            "less than or equal to 65535",
            id="port out of range",
        ),
        pytest.param(
            BASE + "container.memory = '2 XB'\n",
            "environments.default.container.memory",
            "a memory size as podman --memory takes it",
            id="memory not a size",
        ),
        pytest.param(
            BASE + "container.memory = '1.2.3G'\n",
            "environments.default.container.memory",
            "a memory size",
            id="memory podman cannot parse as a number",
        ),
        pytest.param(
            BASE + "[services.s]\ncommand = ''\n",
            "services.s.command",
            "is empty, so no run unit would be made",
            id="empty command string",
        ),
        pytest.param(
            BASE + "[services.s]\ncommand = []\n",
            "services.s.command",
            "is empty, so no run unit would be made",
            id="empty command list",
        ),
        pytest.param(
            BASE + "shared_path = '/etc/juice/config'\n",
            "environments.default.shared_path",
            "/etc/juice/config would cover /etc/juice/config, where the configuration is",
            id="shared folder over the configuration",
        ),
        pytest.param(
            BASE + "shared_lib_path = '/env'\n",
            "environments.default.shared_lib_path",
            "/env would cover /env, the environment's Python and packages",
            id="editable sources over the venv",
        ),
        pytest.param(
            BASE + "container.volumes = ['/srv/data:/env/.venv']\n",
            "environments.default.container.volumes[0]",
            "would cover /env",
            id="volume over the venv",
        ),
        pytest.param(
            BASE + "build.volumes = ['/srv/data:/']\n",
            "environments.default.build.volumes[0]",
            "/ would cover /env",
            id="volume over everything",
        ),
        pytest.param(
            BASE + "sources = { lab = { editable = true, path = '/srv/lab' } }\n"
            "container.volumes = ['/srv/other:/home/user/shared/lib/lab']\n",
            "environments.default.container.volumes[0]",
            "/home/user/shared/lib/lab is also where sources.lab is mounted",
            id="volume on an editable source",
        ),
        pytest.param(
            BASE + "container.volumes = ['/srv/data:/home/user/shared']\n",
            "environments.default.container.volumes[0]",
            "is also where shared_path is mounted",
            id="volume on the shared folder",
        ),
        pytest.param(
            BASE + "[data_folder]\nuser_data_shared = 'srv/shared'\n",
            "data_folder.user_data_shared",
            "not an absolute path",
            id="relative shared folder",
        ),
        pytest.param(
            BASE + "[data_folder]\nuser_data_shared = '/'\n",
            "data_folder.user_data_shared",
            "would mount the whole host",
            id="shared folder the host's root",
        ),
        pytest.param(
            BASE + "container.usb_passtrough = true\n",
            "environments.default.container.usb_passtrough",
            "did you mean 'usb_passthrough'?",
            id="mistyped runtime key",
        ),
        pytest.param(
            BASE + "container.devices = ['ttyUSB0']\n",
            "environments.default.container.devices[0]",
            "not an absolute path",
            id="device not a path",
        ),
        pytest.param(
            BASE + "home_path = 'home/user'\n",
            "environments.default.home_path",
            "not an absolute path",
            id="relative home_path",
        ),
        pytest.param(
            BASE + "shared_lib_path = '~/lib dir'\n",
            "environments.default.shared_lib_path",
            "only letters, digits",
            id="shared_lib_path with a space",
        ),
        pytest.param(
            BASE + "[services.s]\nentrypont = 'lab:Service'\n",
            "services.s.entrypont",
            "did you mean 'entrypoint'?",
            id="mistyped service runner key",
        ),
        pytest.param(
            BASE + "[services.s]\nsupervisor_port = 0\n",
            "services.s.supervisor_port",
            "greater than or equal to 1",
            id="supervisor port zero",
        ),
        pytest.param(
            BASE + "[data_folder]\nuser_id = 0\n",
            "data_folder.user_id",
            "greater than or equal to 1",
            id="container user as root",
        ),
        pytest.param(
            BASE + "[data_folder]\nuser_idd = 991\n",
            "data_folder.user_idd",
            "did you mean 'user_id'?",
            id="mistyped data_folder key",
        ),
        pytest.param(
            BASE + "[images]\nregistry = 'https://registry.lab.example/juice'\n",
            "images.registry",
            "not a registry and repository prefix",
            id="registry with a scheme",
        ),
        pytest.param(
            BASE + "[images]\nregistry = 'juice/lab'\n",
            "images.registry",
            "a host name with a '.' or a port",
            id="registry without a host",
        ),
        pytest.param(
            BASE + "[images]\nregistry = 'registry.lab.example/juice:1.0'\n",
            "images.registry",
            "no tag",
            id="registry with a tag",
        ),
        pytest.param(
            BASE + "[images]\nregistry = 'registry.lab.example/juice'\nsource = 'pul'\n",
            "images.source",
            "'build', 'pull' or 'pull-or-build'",
            id="unknown image source",
        ),
        pytest.param(
            BASE + "[images]\nsource = 'pull'\n",
            "images",
            "source = 'pull' pulls images, but no registry is set",
            id="pull without a registry",
        ),
        pytest.param(
            BASE + "[images]\nregistri = 'registry.lab.example/juice'\n",
            "images.registri",
            "did you mean 'registry'?",
            id="mistyped images key",
        ),
    ],
)
def test_bad_config_is_refused_with_file_key_and_reason(
    host: JuiceHost, config: str, key: str, reason: str
) -> None:
    path = host.write_config(config)
    before = host.tree()

    result = host.run("env", "render")

    assert result.exit_code == 2, result.output
    message = result.stderr
    assert str(path) in message
    assert key in message
    assert reason in message
    assert message.count("\n") <= 2, "one clear message, not a traceback"
    assert host.tree() == before, "nothing may be written"


def test_other_components_sections_are_ignored(host: JuiceHost) -> None:
    host.write_config(
        MINIMAL
        + "[influxdb2]\nport = 8086\n[telegraf]\nagent = {}\n"
        + "[jupyterhub]\nport = 8888\n[services.db]\nport = 5432\nimage = 'x'\n"
    )
    result = host.run("config", "validate")
    assert result.exit_code == 0, result.output
    assert "2 environment(s)" in result.output


def test_error_names_the_drop_in_that_broke_it(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    drop_in = host.write_config(
        "[services.x.environment]\nbase_image = 'debian:12'\npython_source = 'conda'\n",
        name="orchestration.d/50-x.toml",
    )
    result = host.run("config", "validate")
    assert result.exit_code == 2
    assert str(drop_in) in result.stderr
    assert "services.x.environment.python_source" in result.stderr


def test_a_bad_config_keeps_the_previous_good_files(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    assert host.run("env", "render").exit_code == 0
    rendered = host.tree()

    host.write_config(MINIMAL + "[services.bad]\nenvironment = { base_image = 'x', arch = '!' }\n")
    result = host.run("env", "render")

    assert result.exit_code == 2
    assert "services.bad.environment.arch" in result.stderr
    after = host.tree()
    after.pop("etc/juice/config/orchestration.toml")
    rendered.pop("etc/juice/config/orchestration.toml")
    assert after == rendered


def test_unknown_environment_name_lists_the_known_ones(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    result = host.run("env", "render", "nope")
    assert result.exit_code == 2
    assert "no environment named nope" in result.stderr
    assert "singleuser" in result.stderr


def test_required_wheel_that_is_missing_is_a_clear_error(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "core_source = 'wheel'\n")
    result = host.run("env", "render")
    assert result.exit_code == 2
    assert "environments.default.core_source" in result.stderr
    assert "bundled wheel" in result.stderr
    assert "missing" in result.stderr
