"""The image's OS identity: os-release (and the file it links to) and the release files of
the distributions that have one."""

from __future__ import annotations

import shlex

from slimmer.inventory.files import Reader
from slimmer.inventory.model import OsInfo

OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
RELEASE_FILES = (
    "/etc/debian_version",
    "/etc/alpine-release",
    "/etc/redhat-release",
    "/etc/system-release",
    "/etc/centos-release",
    "/etc/fedora-release",
    "/etc/rocky-release",
    "/etc/almalinux-release",
    "/etc/oracle-release",
    "/etc/SuSE-release",
    "/etc/lsb-release",
    "/etc/issue",
)
RELEASE_LIMIT = 64 << 10


def read_os(reader: Reader) -> OsInfo | None:
    """The identity and every image path that makes it up (symlinks included); None when the
    image says nothing about its OS."""
    files: list[str] = []
    fields: dict[str, str] = {}
    for path in OS_RELEASE:
        resolution = reader.fs.resolve(path)
        if resolution.entry is None:
            continue
        files += [*resolution.links, resolution.path]
        if not fields:
            fields = parse_os_release(reader.text(path, RELEASE_LIMIT) or "")
    for path in RELEASE_FILES:
        resolution = reader.fs.resolve(path)
        if resolution.entry is not None and reader.file(path) is not None:
            files += [*resolution.links, resolution.path]
    if not fields:
        fields = _from_release_files(reader)
    if not fields and not files:
        return None
    return OsInfo(
        id=fields.get("ID", ""),
        version_id=fields.get("VERSION_ID", ""),
        pretty_name=fields.get("PRETTY_NAME", ""),
        files=tuple(dict.fromkeys(files)),
        version_codename=fields.get("VERSION_CODENAME", ""),
    )


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines with shell quoting, as os-release(5) defines them; bad lines skipped."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        fields[key.strip()] = " ".join(words)
    return fields


def _from_release_files(reader: Reader) -> dict[str, str]:
    """For images without os-release: Debian and Alpine say their version in one file."""
    debian = reader.text("/etc/debian_version", RELEASE_LIMIT, quiet=True)
    if debian:
        version = debian.strip()
        return {"ID": "debian", "VERSION_ID": version.split(".")[0], "PRETTY_NAME": version}
    alpine = reader.text("/etc/alpine-release", RELEASE_LIMIT, quiet=True)
    if alpine:
        version = alpine.strip()
        return {"ID": "alpine", "VERSION_ID": version, "PRETTY_NAME": f"Alpine Linux {version}"}
    return {}
