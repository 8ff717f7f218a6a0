"""The streaming tar reader on well-formed archives of every header flavour, and on broken ones."""

from __future__ import annotations

import io
import tarfile

import pytest

from slimmer.imagefs.tarstream import TarError, TarReader
from tests.imagefs.crafted import raw_header, raw_layer


def record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + len(str(len(body) + 2))
    return str(length).encode() + body


def pax(*records: bytes, kind: bytes = b"x") -> tuple[bytes, bytes]:
    data = b"".join(records)
    return raw_header(b"PaxHeader", kind, len(data)), data


def members(data: bytes):
    return list(TarReader(io.BytesIO(data)))


def tar_of(fmt: int, *infos: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for info, data in infos:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def info(name: str, size: int = 0, **attrs: object) -> tarfile.TarInfo:
    made = tarfile.TarInfo(name)
    made.size = size
    for key, value in attrs.items():
        setattr(made, key, value)
    return made


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_reads_names_metadata_and_offsets_in_every_format(fmt: int) -> None:
    long_name = "d/" + "n" * 150 if fmt != tarfile.USTAR_FORMAT else "p" * 120 + "/file"
    data = tar_of(
        fmt,
        (info("etc/passwd", 5, mode=0o4755, uid=7, gid=8, mtime=1234567), b"hello"),
        (info(long_name, 3), b"abc"),
        (info("lnk", type=tarfile.SYMTYPE, linkname="etc/passwd"), None),
        (info("dir/", type=tarfile.DIRTYPE, mode=0o1777), None),
    )
    found = members(data)
    assert [m.name for m in found] == ["etc/passwd", long_name, "lnk", "dir/"]
    first = found[0]
    assert (first.mode, first.uid, first.gid, first.size, first.mtime) == (
        0o4755,
        7,
        8,
        5,
        1234567.0,
    )
    assert data[first.offset : first.offset + 5] == b"hello"
    assert data[found[1].offset : found[1].offset + 3] == b"abc"
    assert found[2].typeflag == b"2" and found[2].linkname == "etc/passwd"
    assert found[3].typeflag == b"5" and found[3].mode == 0o1777


def test_pax_records_give_xattrs_large_ids_fractional_mtime_and_utf8_names() -> None:
    pax = {
        "SCHILY.xattr.security.capability": "\x01\x00\x00\x02",
        "uid": "3000000",
        "mtime": "1700000000.25",
    }
    data = tar_of(tarfile.PAX_FORMAT, (info("bin/ping·", 1, pax_headers=pax), b"z"))
    (member,) = members(data)
    assert member.name == "bin/ping·"
    assert member.xattrs == {"security.capability": b"\x01\x00\x00\x02"}
    assert member.uid == 3000000
    assert member.mtime == 1700000000.25


def test_gnu_base256_numbers() -> None:
    data = tar_of(tarfile.GNU_FORMAT, (info("big", 0, uid=1 << 40), b""))
    assert members(data)[0].uid == 1 << 40


def test_non_utf8_names_survive_as_surrogates() -> None:
    data = raw_layer((raw_header(b"caf\xe9"), b""))
    (member,) = members(data)
    assert member.name.encode("utf-8", "surrogateescape") == b"caf\xe9"


def test_missing_end_blocks_are_accepted_at_a_header_boundary() -> None:
    data = raw_layer((raw_header(b"a", size=2), b"hi"), end=False)
    assert [m.name for m in members(data)] == ["a"]


def test_a_global_pax_header_applies_to_nothing_and_drops_what_was_pending() -> None:
    """As Go's archive/tar (the engine's reader): a `g` header is returned on its own, so its
    records reach no member, and an `x` or GNU long name read before it is lost."""
    data = raw_layer(
        pax(record(b"SCHILY.xattr.user.k", b"value"), record(b"uid", b"77"), kind=b"g"),
        (raw_header(b"a"), b""),
        pax(record(b"path", b"renamed"), record(b"uid", b"5")),
        pax(record(b"gid", b"66"), kind=b"g"),
        (raw_header(b"b"), b""),
        (raw_header(b"././@LongLink", b"L", 6), b"longn\0"),
        pax(record(b"mtime", b"1"), kind=b"g"),
        (raw_header(b"c"), b""),
    )
    found = members(data)
    assert [m.name for m in found] == ["a", "b", "c"]
    assert [(m.xattrs, m.uid, m.gid) for m in found] == [({}, 0, 0)] * 3


def test_read_data_hands_out_a_members_bytes() -> None:
    data = tar_of(tarfile.USTAR_FORMAT, (info("a", 3), b"abc"), (info("b", 2), b"de"))
    reader = TarReader(io.BytesIO(data))
    assert reader.next().name == "a"
    assert reader.read_data(10) == b"abc"
    assert reader.read_data(10) == b""
    assert reader.next().name == "b"  # the second member's data is skipped
    assert reader.next() is None


@pytest.mark.parametrize(
    "data, message",
    [
        (raw_layer((raw_header(b"a", size=1000), b"short"), end=False), "truncated"),
        (raw_header(b"a")[:300], "truncated inside a header"),
        (raw_layer((raw_header(b"a", size=1 << 60), b""), end=False), "truncated"),
        (b"\x00" * 512 + raw_header(b"a") + bytes(1024), "zero block in the middle"),
        (raw_header(b"a")[:148] + b"9999999\0" + raw_header(b"a")[156:], "checksum"),
        (raw_header(b"a")[:148] + b"0000001\0" + raw_header(b"a")[156:], "checksum"),
        (raw_layer((raw_header(b"L", b"L", 2 << 20), b"")), "too large"),
        (raw_layer((raw_header(b"s", b"S"), b"")), "sparse"),
        (raw_layer((raw_header(b"x", b"x", 12), b"20 path=a\x00b\n")), "malformed PAX"),
        (raw_layer(pax(record(b"path", b"a\0"))), "NUL byte"),
        (raw_layer((raw_header(b"x", b"x", 9), b"99 path=a")), "malformed PAX"),
        (raw_layer(pax(record(b"size", b"-5")), (raw_header(b"a"), b"")), "PAX size"),
        (raw_layer(pax(record(b"mtime", b"1e9")), (raw_header(b"a"), b"")), "PAX mtime"),
    ],
)
def test_broken_input_raises_tar_error(data: bytes, message: str) -> None:
    with pytest.raises(TarError, match=message):
        members(data)


def test_a_nul_inside_a_pax_linkpath_is_refused() -> None:
    data = raw_layer(pax(record(b"linkpath", b"a\0bc")), (raw_header(b"x", b"2"), b""))
    with pytest.raises(TarError, match="NUL"):
        members(data)


def test_a_huge_declared_size_is_skipped_by_seeking_and_reported_truncated() -> None:
    data = raw_layer((raw_header(b"a", size=1 << 40), b""), end=False)
    reader = TarReader(io.BytesIO(data), size=len(data))
    reader.next()
    with pytest.raises(TarError, match="truncated"):
        reader.next()
