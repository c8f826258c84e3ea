"""The host folders every container gets, as on OrangeQS Juice hosts: [data_folder]
user_data_shared at shared_path, and dist_data (wheels) read-only at /dist."""

from __future__ import annotations

from juice_host import MINIMAL, JuiceHost


def rendered_build_unit(host: JuiceHost) -> str:
    result = host.run("env", "render")
    assert result.exit_code == 0, result.output + result.stderr
    return (host.paths.unit_dir / "juice-singleuser-build.service").read_text()


def test_the_shared_folder_is_oranges_default_and_moves_with_the_root(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    unit = rendered_build_unit(host)
    shared = host.root / "var/lib/juice/user/shared"
    assert f"-v {shared}:/home/user/shared " in unit
    # juice makes the mount source, so that the build can mount it.
    assert shared.is_dir()


def test_the_configured_shared_folder_is_mounted(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "[data_folder]\nuser_data_shared = '/srv/lab/shared'\n")
    unit = rendered_build_unit(host)
    assert f"-v {host.root}/srv/lab/shared:/home/user/shared " in unit
    assert "/var/lib/juice/user/shared" not in unit
    assert (host.root / "srv/lab/shared").is_dir()


def test_the_wheels_folder_is_mounted_at_dist_when_the_host_has_it(host: JuiceHost) -> None:
    host.write_config(MINIMAL)
    assert ":/dist:ro" not in rendered_build_unit(host), "no folder, no mount"

    (host.root / "var/lib/juice/dist").mkdir(parents=True)
    unit = rendered_build_unit(host)
    assert f"-v {host.root}/var/lib/juice/dist:/dist:ro " in unit


def test_the_configured_wheels_folder_is_mounted_at_dist(host: JuiceHost) -> None:
    host.write_config(MINIMAL + "[data_folder]\ndist_data = '/srv/wheels'\n")
    (host.root / "srv/wheels").mkdir(parents=True)
    unit = rendered_build_unit(host)
    assert f"-v {host.root}/srv/wheels:/dist:ro " in unit


def test_the_run_unit_gets_the_same_folders(host: JuiceHost) -> None:
    host.write_config(
        MINIMAL + "[data_folder]\nuser_data_shared = '/srv/shared'\n"
        "[services.s]\ncommand = ['sleep', '1']\n"
    )
    (host.root / "var/lib/juice/dist").mkdir(parents=True)
    assert host.run("env", "render").exit_code == 0
    run = (host.paths.unit_dir / "juice-s.service").read_text()
    assert f"-v {host.root}/srv/shared:/home/user/shared " in run
    assert f"-v {host.root}/var/lib/juice/dist:/dist:ro " in run
