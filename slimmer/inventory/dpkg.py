"""dpkg: ``/var/lib/dpkg/status`` (or distroless' ``status.d/``), each package's
``info/NAME[:ARCH].list`` and ``.md5sums``, and its machine-readable copyright file."""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterator

from debian.deb822 import Deb822

from slimmer.inventory.files import DATABASE_LIMIT, MANIFEST_LIMIT, Reader
from slimmer.inventory.model import OsInfo, Package
from slimmer.inventory.purls import os_purl

ADMIN_DIR = "/var/lib/dpkg"
STATUS = f"{ADMIN_DIR}/status"
STATUS_D = f"{ADMIN_DIR}/status.d"
INFO = f"{ADMIN_DIR}/info"
LIST_LIMIT = 16 << 20
COPYRIGHT_FORMAT = "Format:"


def paragraphs(data: bytes) -> Iterator[Deb822]:
    """The stanzas of a deb822 file (dpkg status, copyright), without apt_pkg."""
    yield from Deb822.iter_paragraphs(io.BytesIO(data), use_apt_pkg=False, encoding="utf-8")


def installed(stanza: Deb822) -> bool:
    """dpkg's status says the package is there (not purged, not only its config files)."""
    words = stanza.get("Status", "install ok installed").split()
    return len(words) == 3 and words[2] not in ("not-installed", "config-files")


def info_base(stanza: Deb822, info_names: set[str]) -> str:
    """The name of the package's files in info/: NAME:ARCH for Multi-Arch: same packages."""
    name, arch = stanza.get("Package", ""), stanza.get("Architecture", "")
    qualified = f"{name}:{arch}"
    if f"{qualified}.list" in info_names or f"{qualified}.md5sums" in info_names:
        return qualified
    return name


def read_dpkg(reader: Reader, os: OsInfo | None) -> tuple[list[Package], list[str]]:
    """The installed packages and the database files read."""
    packages: list[Package] = []
    databases: list[str] = []
    status = reader.read(STATUS, DATABASE_LIMIT)
    if status is not None:
        databases.append(STATUS)
        info_names = set(reader.fs.listdir(INFO))
        for stanza in _stanzas(reader, status, STATUS):
            base = info_base(stanza, info_names)
            records = tuple(f"{INFO}/{n}" for n in sorted(info_names) if n.startswith(base + "."))
            lists = [r for r in records if r.endswith((".list", ".md5sums"))]
            packages.append(_package(reader, os, stanza, STATUS, records, lists))
    for name in reader.fs.listdir(STATUS_D):
        if name.endswith((".md5sums", ".list")) or name.startswith("."):
            continue
        path = f"{STATUS_D}/{name}"
        data = reader.read(path, MANIFEST_LIMIT)
        if data is None:
            continue
        databases.append(path)
        for stanza in _stanzas(reader, data, path):
            sums = f"{STATUS_D}/{name}.md5sums"
            extra = [sums] if reader.file(sums) is not None else []
            packages.append(_package(reader, os, stanza, path, (path, *extra), extra))
    return packages, databases


def _stanzas(reader: Reader, data: bytes, path: str) -> Iterator[Deb822]:
    try:
        for stanza in paragraphs(data):
            if not stanza.get("Package") or not stanza.get("Version"):
                reader.warn(f"{path}: a stanza without Package or Version; skipped")
            elif installed(stanza):
                yield stanza
    except (ValueError, UnicodeError) as exc:
        reader.warn(f"{path}: not a dpkg database ({exc}); the rest skipped")


def _package(
    reader: Reader,
    os: OsInfo | None,
    stanza: Deb822,
    source: str,
    records: tuple[str, ...],
    lists: list[str],
) -> Package:
    name, version = stanza["Package"], stanza["Version"]
    arch = stanza.get("Architecture", "")
    upstream = stanza.get("Source", "").split(" ")[0]
    files = _files(reader, lists)
    return Package(
        ecosystem="deb",
        name=name,
        version=version,
        arch=arch,
        licenses=copyright_licenses(reader, name),
        purl=os_purl(
            "deb",
            os,
            "debian",
            name,
            version,
            arch,
            upstream=upstream if upstream != name else "",
        ),
        files=files,
        source=source,
        records=records,
        source_package=upstream or name,
    )


def _files(reader: Reader, lists: list[str]) -> tuple[str, ...]:
    """The image paths listed by the package's .list (or, in status.d, its .md5sums)."""
    found: dict[str, None] = {}
    chosen = [p for p in lists if p.endswith(".list")] or lists
    for path in chosen:
        data = reader.read(path, LIST_LIMIT)
        if data is None:
            continue
        for line in data.decode("utf-8", errors="surrogateescape").splitlines():
            listed = md5sums_path(line) if path.endswith(".md5sums") else line
            if listed and listed not in ("/.", "/"):
                found.setdefault(reader.canonical(listed))
    return tuple(found)


def md5sums_path(line: str) -> str:
    """The path of one md5sums line ("HASH  relative/path"), absolute; "" if malformed."""
    digest, _, rest = line.partition(" ")
    rest = rest.lstrip(" *")
    if len(digest) != 32 or not rest:
        return ""
    return "/" + rest


def copyright_licenses(reader: Reader, name: str) -> tuple[str, ...]:
    """The License: short names of /usr/share/doc/NAME/copyright when it is machine-readable
    (DEP-5), in order of appearance, each once; () otherwise."""
    data = reader.read(posixpath.join("/usr/share/doc", name, "copyright"), quiet=True)
    if not data or not data.startswith(COPYRIGHT_FORMAT.encode()):
        return ()
    licenses: dict[str, None] = {}
    try:
        for stanza in paragraphs(data):
            if "Files" in stanza and stanza.get("License"):
                licenses.setdefault(stanza["License"].splitlines()[0].strip())
    except (ValueError, UnicodeError):
        return ()
    return tuple(name for name in licenses if name)
