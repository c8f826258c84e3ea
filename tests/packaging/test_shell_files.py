"""juice(1) and shell completion as an administrator meets them, in an installed Debian 12 root.

The root gets man-db and bash-completion next to the .deb, as a lab host has them, and
the checks go through those programs: ``man juice`` and bash's own completion loader
(the function bash-completion calls on the first <TAB> after ``juice``), never by
reading the packaged files. The .rpm must carry the same files.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging_helpers import apt_get
from support.packages import BuiltPackages
from support.roots import chroot_mounts, debian_root, remove_root, run_in_root

MAN_PAGE = "/usr/share/man/man1/juice.1.gz"
BASH = "/usr/share/bash-completion/completions/juice"
FISH = "/usr/share/fish/vendor_completions.d/juice.fish"
ZSH_DEB = "/usr/share/zsh/vendor-completions/_juice"
ZSH_RPM = "/usr/share/zsh/site-functions/_juice"

# Load bash-completion as an interactive bash does, set the words as bash sets them for
# <TAB> at the end of the line, let bash-completion find and source juice's script
# (_comp_load in bash-completion >= 2.12, __load_completion before), call the function
# it registered, and print COMPREPLY.
COMPLETE = r"""
source /usr/share/bash-completion/bash_completion
COMP_LINE=$1
COMP_POINT=${#COMP_LINE}
read -r -a COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
if declare -F _comp_load >/dev/null; then _comp_load juice; else __load_completion juice; fi
spec=$(complete -p juice) || exit 3
function=${spec##*-F }
function=${function%% *}
COMPREPLY=()
"$function" juice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, v2: BuiltPackages) -> Iterator[Path]:
    path = debian_root(tmp_path_factory.mktemp("shell") / "root")
    shutil.copy2(v2.deb, path / "tmp" / v2.deb.name)
    try:
        with chroot_mounts(path):
            update = apt_get(path, ["update", "-qq"])
            assert update.returncode == 0, update.stdout + update.stderr
            install = apt_get(
                path,
                ["install", "-y", "--no-install-recommends", "man-db", "bash-completion",
                 f"/tmp/{v2.deb.name}"],
                {"JUICE_SKIP_IMAGE_BUILD": "1"},
            )  # fmt: skip
            assert install.returncode == 0, install.stdout + install.stderr
            yield path
    finally:
        remove_root(path)


def complete(root: Path, line: str) -> list[str]:
    """What bash offers for <TAB> at the end of ``line`` in the root."""
    result = run_in_root(root, ["bash", "-c", COMPLETE, "complete", line])
    assert result.stderr == ""
    return [word for word in result.stdout.splitlines() if word]


def test_man_juice_shows_the_page(root: Path) -> None:
    shown = run_in_root(root, ["man", "juice"], env={"MANPAGER": "cat", "MANWIDTH": "80"}).stdout
    assert shown.startswith("JUICE(1)")
    assert "juice env build [OPTIONS] [NAMES]..." in shown
    assert "Render environments and make sure each has its image" in shown
    assert "juice 0.9.0" in shown  # the packaged version, in the footer
    # The page is in man-db's index too (its trigger ran mandb).
    whatis = run_in_root(root, ["whatis", "--long", "juice"]).stdout
    assert whatis.startswith("juice (1)") and "OrangeQS Juice host" in whatis


def test_bash_completes_commands_through_bash_completion(root: Path) -> None:
    assert complete(root, "juice env b") == ["build"]
    assert complete(root, "juice ") == ["config", "env"]
    assert complete(root, "juice env build --jo") == ["--jobs"]


def test_bash_completes_the_configured_environment_names(root: Path) -> None:
    config = root / "etc/juice/config/orchestration.toml"
    original = config.read_text()
    try:
        config.write_text(original + "\n[services.analysis]\n")
        assert complete(root, "juice env build ") == ["singleuser", "analysis"]
        assert complete(root, "juice env status a") == ["analysis"]
    finally:
        config.write_text(original)


def test_the_completion_scripts_are_what_the_installed_juice_prints(root: Path) -> None:
    """No drift: the packaged scripts equal click's output from the installed juice."""
    for shell, path in (("bash", BASH), ("zsh", ZSH_DEB), ("fish", FISH)):
        printed = run_in_root(root, ["sh", "-c", f"_JUICE_COMPLETE={shell}_source juice"]).stdout
        assert (root / path.lstrip("/")).read_text() == printed.rstrip("\n") + "\n", shell


def test_the_rpm_carries_the_same_files(v2: BuiltPackages, tmp_path: Path) -> None:
    """Same bytes at the same paths, but zsh's: RHEL and Fedora look in site-functions."""
    query = subprocess.run(
        ["rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEDIGESTS}\n]", str(v2.rpm)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    digests = dict(line.rsplit(" ", 1) for line in query.stdout.splitlines())
    listed = subprocess.run(
        ["rpm", "-qlp", str(v2.rpm)], capture_output=True, text=True, check=True
    ).stdout.split()
    deb = tmp_path / "deb"
    subprocess.run(["dpkg-deb", "-x", str(v2.deb), str(deb)], check=True)
    for deb_path, rpm_path in ((MAN_PAGE, MAN_PAGE), (BASH, BASH), (FISH, FISH),
                               (ZSH_DEB, ZSH_RPM)):  # fmt: skip
        assert rpm_path in listed
        data = (deb / deb_path.lstrip("/")).read_bytes()
        assert digests[rpm_path] == hashlib.sha256(data).hexdigest(), rpm_path
    assert ZSH_DEB not in listed
