"""rpm header parsing on crafted blobs and a crafted sqlite rpmdb (the real rpm tool's
database is checked in test_inventory_rpm_tool.py)."""

from __future__ import annotations

import sqlite3
import struct

import pytest

from slimmer.inventory import read_inventory
from slimmer.inventory.rpm import HeaderError, parse_header
from tests.imagefs.crafted import file, layer, open_layers

STRING, STRING_ARRAY, INT32 = 6, 8, 4


def header(entries: list[tuple[int, int, bytes, int]]) -> bytes:
    """An rpm header blob: (tag, type, data, count) entries, data stored in order."""
    index, store = b"", b""
    for tag, kind, data, count in entries:
        if kind == INT32:
            store += bytes(-len(store) % 4)
        index += struct.pack(">iIiI", tag, kind, len(store), count)
        store += data
    return struct.pack(">II", len(entries), len(store)) + index + store


def package_blob(name: str) -> bytes:
    return header(
        [
            (1000, STRING, name.encode() + b"\0", 1),
            (1001, STRING, b"3.0.7\0", 1),
            (1002, STRING, b"1.el9\0", 1),
            (1003, INT32, struct.pack(">i", 1), 1),
            (1014, STRING, b"Apache-2.0\0", 1),
            (1022, STRING, b"x86_64\0", 1),
            (1116, INT32, struct.pack(">ii", 0, 1), 2),
            (1117, STRING_ARRAY, b"lib64\0libssl.so.3\0", 2),
            (1118, STRING_ARRAY, b"/usr/\0/usr/lib64/\0", 2),
        ]
    )


def rpmdb(rows: list[tuple[int, bytes]], wal: bool) -> bytes:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    connection.executemany("INSERT INTO Packages VALUES (?, ?)", rows)
    connection.commit()
    data = bytearray(connection.serialize())
    connection.close()
    if wal:
        data[18:20] = b"\x02\x02"  # as rpm leaves it: write-ahead-log mode
    return bytes(data)


@pytest.mark.parametrize("wal", [False, True])
def test_sqlite_rpmdb(tmp_path, wal: bool) -> None:
    rows = [(1, package_blob("openssl-libs")), (2, b"\x00\x00\x01\x00garbage"), (3, b"")]
    image = layer(
        [
            file("etc/os-release", b'ID="rocky"\nVERSION_ID="9.3"\n'),
            file("usr/lib/sysimage/rpm/rpmdb.sqlite", rpmdb(rows, wal)),
            file("usr/lib64/libssl.so.3", b"\x7fELF"),
        ]
    )
    with open_layers(tmp_path, image) as fs:
        inventory = read_inventory(fs)
    (package,) = inventory.packages
    assert (package.name, package.version, package.arch) == (
        "openssl-libs",
        "1:3.0.7-1.el9",
        "x86_64",
    )
    assert (
        package.purl
        == "pkg:rpm/rocky/openssl-libs@3.0.7-1.el9?arch=x86_64&distro=rocky-9.3&epoch=1"
    )
    assert package.licenses == ("Apache-2.0",)
    assert package.files == ("/usr/lib64", "/usr/lib64/libssl.so.3")
    assert inventory.owner("/usr/lib64/libssl.so.3") is package
    assert any("package 2" in w for w in inventory.warnings)
    assert any("package 3" in w for w in inventory.warnings)


def test_berkeley_db_is_named_not_read(tmp_path) -> None:
    with open_layers(tmp_path, layer([file("var/lib/rpm/Packages", b"\x00" * 64)])) as fs:
        inventory = read_inventory(fs)
    assert inventory.packages == []
    assert any("Berkeley DB" in w for w in inventory.warnings)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x00\x00\x00\x01\x00\x00\x00\x00",  # one entry announced, none there
        # NAME as a STRING at offset 0 of a store with no NUL: unterminated
        struct.pack(">IIiIiI", 1, 4, 1000, 6, 0, 1) + b"abcd",
        # BASENAMES as a STRING_ARRAY of 2**31 strings in 4 bytes
        struct.pack(">IIiIiI", 1, 4, 1117, 8, 0, 1 << 31) + b"a\0b\0",
        # an entry whose data offset lies past the store
        struct.pack(">IIiIiI", 1, 4, 1001, 6, 99, 1) + b"1.0\0",
    ],
)
def test_parse_header_rejects_truncated_blobs(blob: bytes) -> None:
    with pytest.raises(HeaderError):
        parse_header(blob)


def test_directory_index_out_of_range() -> None:
    blob = header(
        [
            (1116, INT32, struct.pack(">i", 5), 1),
            (1117, STRING_ARRAY, b"x\0", 1),
            (1118, STRING_ARRAY, b"/usr/\0", 1),
        ]
    )
    with pytest.raises(HeaderError):
        parse_header(blob).files()
