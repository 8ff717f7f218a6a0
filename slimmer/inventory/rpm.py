"""rpm: the sqlite rpmdb of rpm >= 4.16 (``rpmdb.sqlite``), each row of its Packages table an
rpm header blob, parsed here (no librpm). The Berkeley DB (``Packages``) and NDB
(``Packages.db``) formats of older and SUSE systems are named in a warning, not read."""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from slimmer.inventory.files import DATABASE_LIMIT, Reader
from slimmer.inventory.model import OsInfo, Package
from slimmer.inventory.purls import os_purl

DB_DIRS = ("/usr/lib/sysimage/rpm", "/var/lib/rpm")
SQLITE = "rpmdb.sqlite"
UNREAD = ("Packages", "Packages.db")
MAX_ENTRIES = 1 << 16  # index entries in one header
MAX_HEADER = 64 << 20

NAME, VERSION, RELEASE, EPOCH, LICENSE, ARCH, SOURCERPM = 1000, 1001, 1002, 1003, 1014, 1022, 1044
DIRINDEXES, BASENAMES, DIRNAMES = 1116, 1117, 1118
INT32, STRING, STRING_ARRAY, I18NSTRING = 4, 6, 8, 9
WANTED = {NAME, VERSION, RELEASE, EPOCH, LICENSE, ARCH, SOURCERPM, DIRINDEXES, BASENAMES, DIRNAMES}


class HeaderError(ValueError):
    pass


@dataclass
class RpmHeader:
    tags: dict[int, object]

    def text(self, tag: int) -> str:
        value = self.tags.get(tag)
        if isinstance(value, list):
            value = value[0] if value else ""
        return value if isinstance(value, str) else ""

    def number(self, tag: int) -> int | None:
        value = self.tags.get(tag)
        return value[0] if isinstance(value, list) and value and isinstance(value[0], int) else None

    def files(self) -> list[str]:
        names, dirs, indexes = (self.tags.get(t) for t in (BASENAMES, DIRNAMES, DIRINDEXES))
        if not (isinstance(names, list) and isinstance(dirs, list) and isinstance(indexes, list)):
            return []
        if len(names) != len(indexes):
            raise HeaderError("BASENAMES and DIRINDEXES differ in length")
        found = []
        for name, index in zip(names, indexes, strict=True):
            if not isinstance(index, int) or not 0 <= index < len(dirs):
                raise HeaderError(f"directory index {index} out of range")
            found.append(f"{dirs[index]}{name}")
        return found


def parse_header(blob: bytes) -> RpmHeader:
    """An rpm header as stored in the rpmdb (no lead, no magic): entry count, data length,
    the 16-byte index entries (tag, type, offset, count), then the data store."""
    if len(blob) < 8:
        raise HeaderError("shorter than a header")
    count, length = struct.unpack(">II", blob[:8])
    store_start = 8 + 16 * count
    if count > MAX_ENTRIES or store_start + length > len(blob):
        raise HeaderError(f"{count} entries and {length} data bytes do not fit {len(blob)} bytes")
    store = blob[store_start : store_start + length]
    tags: dict[int, object] = {}
    for number in range(count):
        tag, kind, offset, items = struct.unpack_from(">iIiI", blob, 8 + 16 * number)
        if tag in WANTED:
            tags[tag] = _value(store, kind, offset, items)
    return RpmHeader(tags)


def _value(store: bytes, kind: int, offset: int, items: int) -> object:
    if not 0 <= offset <= len(store) or items > len(store):
        raise HeaderError(f"entry at {offset} with {items} items is outside the data")
    if kind == INT32:
        if offset + 4 * items > len(store):
            raise HeaderError("INT32 array past the data")
        return list(struct.unpack_from(f">{items}i", store, offset))
    if kind in (STRING, STRING_ARRAY, I18NSTRING):
        wanted = 1 if kind == STRING else items
        values, position = [], offset
        for _ in range(wanted):
            end = store.find(b"\0", position)
            if end < 0:
                raise HeaderError("unterminated string")
            values.append(store[position:end].decode("utf-8", errors="replace"))
            position = end + 1
        return values[0] if kind == STRING else values
    return None


def read_rpm(reader: Reader, os: OsInfo | None) -> tuple[list[Package], list[str]]:
    for directory in DB_DIRS:
        path = f"{directory}/{SQLITE}"
        entry = reader.file(path)
        if entry is not None:
            data = reader.read_entry(entry, DATABASE_LIMIT, path)
            if data is None:
                return [], []
            resolved = reader.fs.resolve(path).path
            wal = reader.file(f"{resolved}-wal")
            if wal is not None and wal.size:
                reader.warn(f"{resolved}-wal: changes not yet in the rpm database are not read")
            return list(_packages(reader, os, data, resolved)), [resolved]
    for directory in DB_DIRS:
        for name in UNREAD:
            if reader.file(f"{directory}/{name}") is not None:
                reader.warn(
                    f"{directory}/{name}: rpm databases before rpm 4.16 (Berkeley DB, NDB) are "
                    "not read; their packages are missing from the inventory"
                )
                return [], []
    return [], []


def _packages(reader: Reader, os: OsInfo | None, data: bytes, path: str) -> Iterator[Package]:
    for number, blob in _blobs(reader, data, path):
        try:
            header = parse_header(blob)
            files = header.files()
        except HeaderError as exc:
            reader.warn(f"{path}: package {number}: {exc}; skipped")
            continue
        name, version, release = header.text(NAME), header.text(VERSION), header.text(RELEASE)
        if not name or name == "gpg-pubkey":
            continue
        epoch = header.number(EPOCH)
        full = f"{version}-{release}" if release else version
        arch = header.text(ARCH)
        license_ = header.text(LICENSE)
        yield Package(
            ecosystem="rpm",
            name=name,
            version=f"{epoch}:{full}" if epoch else full,
            arch=arch,
            licenses=(license_,) if license_ else (),
            purl=os_purl("rpm", os, "redhat", name, full, arch, epoch=str(epoch) if epoch else ""),
            files=tuple(dict.fromkeys(reader.canonical(f) for f in files)),
            source=f"{path}#{number}",
            source_package=header.text(SOURCERPM),
        )


def _blobs(reader: Reader, data: bytes, path: str) -> Iterator[tuple[int, bytes]]:
    """(hnum, blob) rows of the Packages table, from the database held in memory."""
    if data[18:20] == b"\x02\x02":  # WAL mode, which an in-memory copy cannot use:
        data = data[:18] + b"\x01\x01" + data[20:]  # read it as a rollback-journal database
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)  # type: ignore[attr-defined]
        rows = connection.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    except (sqlite3.Error, AttributeError) as exc:
        reader.warn(f"{path}: not a readable rpm sqlite database ({exc}); skipped")
        return
    finally:
        connection.close()
    for number, blob in rows:
        if isinstance(blob, bytes) and len(blob) <= MAX_HEADER:
            yield number, blob
