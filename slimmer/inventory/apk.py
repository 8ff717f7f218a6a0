"""apk: ``/lib/apk/db/installed``, one stanza per package of ``X:value`` lines (P name,
V version, A arch, L license, o origin; F a directory, R a file in the last F)."""

from __future__ import annotations

from collections.abc import Iterator

from slimmer.inventory.files import DATABASE_LIMIT, Reader
from slimmer.inventory.model import OsInfo, Package
from slimmer.inventory.purls import os_purl

INSTALLED = "/lib/apk/db/installed"


def stanzas(text: str) -> Iterator[list[tuple[str, str]]]:
    """The stanzas of an apk database as (key, value) lines, in order."""
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                yield current
            current = []
            continue
        key, sep, value = line.partition(":")
        if sep and len(key) == 1:
            current.append((key, value))
    if current:
        yield current


def stanza_files(stanza: list[tuple[str, str]]) -> Iterator[tuple[str, bool]]:
    """(absolute path, is a directory) for every F: and R: line of a stanza."""
    directory = ""
    for key, value in stanza:
        if key == "F":
            directory = value.strip("/")
            yield "/" + directory, True
        elif key == "R" and value:
            yield "/" + (f"{directory}/{value}" if directory else value), False


def read_apk(reader: Reader, os: OsInfo | None) -> tuple[list[Package], list[str]]:
    data = reader.read(INSTALLED, DATABASE_LIMIT)
    if data is None:
        return [], []
    packages = []
    for stanza in stanzas(data.decode("utf-8", errors="replace")):
        fields = {k: v for k, v in stanza if k in "PVALo"}
        name, version = fields.get("P", ""), fields.get("V", "")
        if not name or not version:
            reader.warn(f"{INSTALLED}: a stanza without P: or V:; skipped")
            continue
        arch, origin = fields.get("A", ""), fields.get("o", "")
        files = dict.fromkeys(reader.canonical(p) for p, _ in stanza_files(stanza) if p != "/")
        packages.append(
            Package(
                ecosystem="apk",
                name=name,
                version=version,
                arch=arch,
                licenses=(fields["L"].strip(),) if fields.get("L", "").strip() else (),
                purl=os_purl(
                    "apk",
                    os,
                    "alpine",
                    name,
                    version,
                    arch,
                    upstream=origin if origin != name else "",
                ),
                files=tuple(files),
                source=INSTALLED,
                source_package=origin or name,
            )
        )
    return packages, [INSTALLED]
