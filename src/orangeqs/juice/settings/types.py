"""Validated string types for values that end up in generated files.

Every value that reaches a Containerfile, a systemd unit or a podman command line is
checked here, so that no value can add a line to a generated file or escape the
directory it names.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import AfterValidator, Field

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def single_line(value: str) -> str:
    """Reject newlines and other control characters (they would inject lines)."""
    if match := _CONTROL.search(value):
        raise ValueError(
            f"contains the control character {match.group()!r}; "
            "values must be a single line of printable text"
        )
    return value


def _matching(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        single_line(value)
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


# Environment and service names become unit names (juice-<name>-build.service) and
# image names (juice-<name>), so they must be valid as both.
# Separators as in an image name component: one '_', two '__', or any number of '-'.
NAME_PATTERN = r"(?=.{1,63}$)[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*"
Name = Annotated[
    str,
    _matching(
        NAME_PATTERN,
        "a valid name: use lowercase letters and digits, separated by '-', '_' or '__' "
        "(at most 63 characters), because it names a systemd unit and an image",
    ),
]

SingleLine = Annotated[str, AfterValidator(single_line)]

EnvVarName = Annotated[
    str,
    _matching(r"[A-Za-z_][A-Za-z0-9_]*", "a valid environment variable name"),
]

_IMAGE_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
ImageReference = Annotated[
    str,
    _matching(
        rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_IMAGE_COMPONENT}(?:/{_IMAGE_COMPONENT})*"
        r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?",
        "a valid image reference (e.g. docker.io/library/debian:bookworm-slim)",
    ),
]

# Where environment images are pushed and pulled: a registry host with a '.' or a port
# (so podman never reads it as a repository, and never as juice's own localhost/ names)
# and an optional repository path, without a tag; juice appends /juice-<name>:<tag>.
_REGISTRY_HOST = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?"
RegistryPrefix = Annotated[
    str,
    _matching(
        rf"(?=[^/]*[.:]){_REGISTRY_HOST}(?:/{_IMAGE_COMPONENT})*",
        "a registry and repository prefix such as 'registry.lab.example:5000/juice' "
        "(a host name with a '.' or a port, then lowercase path components; no scheme, "
        "no tag, no trailing '/')",
    ),
]

PythonVersion = Annotated[
    str,
    _matching(r"3\.[0-9]{1,2}(?:\.[0-9]{1,3})?", "a Python version such as '3.12' or '3.12.4'"),
]

SystemPackage = Annotated[
    str,
    _matching(
        r"[A-Za-z0-9][A-Za-z0-9+._:~=*-]*",
        "a system package name (letters, digits and + . _ : ~ = * -)",
    ),
]

Architecture = Annotated[
    str, _matching(r"[a-z0-9_]+", "an architecture name such as 'amd64' or 'arm64'")
]


def _requirement(value: str) -> str:
    single_line(value)
    try:
        Requirement(value)
    except InvalidRequirement as error:
        reason = str(error).splitlines()[0]
        raise ValueError(f"{value!r} is not a valid dependency specifier: {reason}") from None
    return value


DependencySpecifier = Annotated[str, AfterValidator(_requirement)]


def _extra_line(value: str) -> str:
    # A trailing backslash continues onto the next item, as in OrangeQS Juice's
    # template; only the last item must not have one (see UvEnvironment).
    single_line(value)
    if "<<" in value:
        raise ValueError(
            "contains '<<': a here-document, which the podman of Debian 12 (4.3) cannot "
            "build, and which would swallow the generated lines that follow; put the "
            "commands on the line itself"
        )
    return value


def continues_onto_next_line(line: str) -> bool:
    """Whether a Containerfile line ends with a continuation backslash."""
    return line.rstrip().endswith("\\")


ContainerfileLine = Annotated[str, AfterValidator(_extra_line)]


def clean_absolute_path(value: str) -> str:
    """An absolute path with no '..' component."""
    single_line(value)
    path = PurePosixPath(value)
    if not path.is_absolute():
        raise ValueError(f"{value!r} is not an absolute path")
    if ".." in path.parts:
        raise ValueError(f"{value!r} must not contain '..'")
    return value


_NAMED_VOLUME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MOUNT_OPTIONS = re.compile(r"[A-Za-z0-9_=-]+(?:,[A-Za-z0-9_=-]+)*")


def _volume(value: str) -> str:
    single_line(value)
    parts = value.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"{value!r} is not of the form SOURCE:TARGET[:OPTIONS] (podman -v)")
    source, target = parts[0], parts[1]
    if source.startswith("/"):
        clean_absolute_path(source)
    elif not _NAMED_VOLUME.fullmatch(source):
        raise ValueError(f"{value!r}: source must be an absolute path or a volume name")
    clean_absolute_path(target)
    if len(parts) == 3 and not _MOUNT_OPTIONS.fullmatch(parts[2]):
        raise ValueError(f"{value!r}: options must be comma-separated words such as ro,z")
    return value


Volume = Annotated[str, AfterValidator(_volume)]


# Container paths that reach shell lines of the Containerfile unquoted: a plain charset.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._@+/-]+")


def container_path(value: str) -> str:
    """An absolute container path of plain characters, with no '..' component."""
    clean_absolute_path(value)
    if not _PLAIN_PATH.fullmatch(value):
        raise ValueError(f"{value!r} may contain only letters, digits and . _ @ + - /")
    return value


def home_relative_path(value: str) -> str:
    """A container path, absolute or starting with '~' (the container user's home)."""
    single_line(value)
    if value == "~" or value.startswith("~/"):
        container_path("/" + value[1:].lstrip("/"))
        return value
    return container_path(value)


def expand_home(value: str, home: str) -> str:
    """`value` with a leading '~' replaced by `home` (other values unchanged)."""
    if value == "~":
        return home
    if value.startswith("~/"):
        return str(PurePosixPath(home) / value[2:])
    return value


def host_folder(value: str) -> str:
    """A host folder to mount: absolute, plain characters (it is part of a podman -v
    argument), and not the root."""
    container_path(value)
    if PurePosixPath(value) == PurePosixPath("/"):
        raise ValueError("'/' would mount the whole host; name a folder")
    return value


ContainerPath = Annotated[str, AfterValidator(container_path)]
HostFolder = Annotated[str, AfterValidator(host_folder)]
HomeRelativePath = Annotated[str, AfterValidator(home_relative_path)]

# A TCP/UDP port number, as podman -p takes it.
Port = Annotated[int, Field(ge=1, le=65535)]

# A host user or group id for the container user; 0 (root) and the 'nobody' ids are refused.
AccountId = Annotated[int, Field(ge=1, le=4294967294)]


def _device(value: str) -> str:
    single_line(value)
    parts = value.split(":")
    if len(parts) > 3:
        raise ValueError(f"{value!r} is not of the form HOST[:CONTAINER][:PERMISSIONS]")
    clean_absolute_path(parts[0])
    rest = parts[1:]
    if rest and re.fullmatch(r"[rwm]{1,3}", rest[-1]):
        rest = rest[:-1]
    for path in rest:
        clean_absolute_path(path)
    return value


# podman --device: HOST[:CONTAINER][:PERMISSIONS], e.g. /dev/ttyUSB0 or /dev/dri:/dev/dri:rw.
DevicePath = Annotated[str, AfterValidator(_device)]

GroupName = Annotated[
    str,
    _matching(
        r"[A-Za-z_][A-Za-z0-9_.-]*\$?|[0-9]+",
        "a group name or a numeric group id (podman --group-add)",
    ),
]

# What podman --memory accepts (go-units RAMInBytes: the pattern
# ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ and then a float parse, which refuses "1.2.3").
MemorySize = Annotated[
    str,
    _matching(
        r"[0-9]+(?:\.[0-9]+)? ?[kKmMgGtTpP]?[iI]?[bB]?",
        "a memory size as podman --memory takes it: a number and an optional unit "
        "K, M, G, T or P (powers of 1024; 'i' and 'B' optional), such as '512M', '1.5G' or "
        "'2GiB'",
    ),
]

ServiceEntrypoint = Annotated[
    str,
    _matching(
        r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_.]*",
        "an entrypoint of the form 'package.module:Class'",
    ),
]
