"""PEP 440 -> Debian/RPM version mapping: the order is checked with real dpkg and rpm."""

from __future__ import annotations

import functools
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging"))

from juice_packaging.targets import TARGETS
from juice_packaging.versions import VersionError, map_version
from packaging.version import Version

# In PEP 440 order.
ORDERED = [
    "0.9.0", "1.0.0.dev1", "1.0.0a1.dev2", "1.0.0a1", "1.0.0a1.post1", "1.0.0a2",
    "1.0.0b1", "1.0.0rc1.dev1", "1.0.0rc1", "1.0.0rc2", "1.0.0", "1.0.0.post1.dev1",
    "1.0.0.post1", "1.0.1", "1.10.0", "1!0.1.0",
]  # fmt: skip


def dpkg_compare(a: str, b: str) -> int:
    """-1, 0 or 1, as dpkg sorts two versions."""
    for result, op in ((-1, "lt"), (0, "eq"), (1, "gt")):
        if subprocess.run(["dpkg", "--compare-versions", a, op, b], check=False).returncode == 0:
            return result
    raise AssertionError(f"dpkg cannot compare {a} and {b}")


def rpm_compare(a: tuple[str, str, str], b: tuple[str, str, str]) -> int:
    """-1, 0 or 1, as rpm sorts two (epoch, version, release), via rpm's Python binding."""
    code = f"import rpm, sys; print(rpm.labelCompare({a!r}, {b!r}))"
    out = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_mapping_examples() -> None:
    assert map_version("1.2.0").deb == "1.2.0"
    assert map_version("1.2.0rc1").deb == "1.2.0~rc1"
    assert map_version("1.2.0.dev3").deb == "1.2.0~~dev3"
    assert map_version("1.2.0.post1").rpm_evr == "1.2.0+post1-1"
    assert map_version("2!1.0").deb == "2:1.0"
    assert map_version("1.0.0rc1").deb_filename("amd64") == "orangeqs-juice_1.0.0~rc1_amd64.deb"
    assert map_version("1.0.0").rpm_filename("x86_64") == "orangeqs-juice-1.0.0-1.x86_64.rpm"


@pytest.mark.parametrize("bad", ["1.0+local", "not-a-version", ""])
def test_unmappable_versions_are_refused(bad: str) -> None:
    with pytest.raises(VersionError):
        map_version(bad)


def test_dpkg_and_rpm_sort_like_pep440() -> None:
    mapped = [map_version(v) for v in ORDERED]
    assert sorted(ORDERED, key=Version) == ORDERED
    deb_sorted = sorted(mapped, key=functools.cmp_to_key(lambda a, b: dpkg_compare(a.deb, b.deb)))
    assert [m.pep440 for m in deb_sorted] == [str(Version(v)) for v in ORDERED]
    for a, b in itertools.pairwise(mapped):
        evr_a = (str(a.epoch), a.upstream, a.rpm_release)
        evr_b = (str(b.epoch), b.upstream, b.rpm_release)
        assert rpm_compare(evr_a, evr_b) == -1, (a, b)


def test_each_targets_versions_sort_like_pep440() -> None:
    """Within one target (+deb12, .py311) dpkg and rpm keep PEP 440's order."""
    for target in TARGETS.values():
        mapped = [
            map_version(v).for_target(target.deb_suffix, target.rpm_release_suffix) for v in ORDERED
        ]
        for a, b in itertools.pairwise(mapped):
            assert dpkg_compare(a.deb, b.deb) == -1, (a.deb, b.deb)
            evr_a = (str(a.epoch), a.upstream, a.rpm_release)
            evr_b = (str(b.epoch), b.upstream, b.rpm_release)
            assert rpm_compare(evr_a, evr_b) == -1, (evr_a, evr_b)


def test_a_newer_release_build_sorts_above_an_older_releases() -> None:
    """A host moving from bookworm to trixie upgrades onto the trixie build of a version,
    and a newer core version for either release sorts above both builds of an older one."""
    old, new = TARGETS["debian12"], TARGETS["debian13"]
    for pep440 in ("1.0.0rc1", "1.0.0", "1.0.0.post1"):
        version = map_version(pep440)
        on_old = version.for_target(old.deb_suffix, old.rpm_release_suffix).deb
        on_new = version.for_target(new.deb_suffix, new.rpm_release_suffix).deb
        assert dpkg_compare(on_old, on_new) == -1
    newer_old = map_version("1.0.1").for_target(old.deb_suffix, old.rpm_release_suffix).deb
    older_new = map_version("1.0.0").for_target(new.deb_suffix, new.rpm_release_suffix).deb
    assert dpkg_compare(older_new, newer_old) == -1


def test_a_tilde_target_suffix_would_break_the_rc_order() -> None:
    """Why the suffix is +debNN: with ~debNN a release sorts below its own rc."""
    assert dpkg_compare("1.0.0~deb12", "1.0.0~rc1~deb12") == -1
    assert dpkg_compare("1.0.0~rc1+deb12", "1.0.0+deb12") == -1
