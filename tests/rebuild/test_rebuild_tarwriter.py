"""Tar headers written for the slim layer: standard (read back by Python's tarfile and by the
image reader) and deterministic."""

from __future__ import annotations

import io
import tarfile

import pytest

from slimmer.imagefs.tarstream import TarReader
from slimmer.rebuild.tarwriter import END_OF_ARCHIVE, header, padding

CAP = b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"


def archive(*members: tuple[bytes, bytes]) -> bytes:
    return b"".join(h + d + padding(len(d)) for h, d in members) + END_OF_ARCHIVE


def test_a_plain_member_is_a_single_ustar_block() -> None:
    block = header("usr/bin/env", b"0", mode=0o755, uid=1, gid=2, size=3, mtime=1700000000)
    assert len(block) == 512
    assert block[257:265] == b"ustar\x0000"
    with tarfile.open(fileobj=io.BytesIO(archive((block, b"abc")))) as tar:
        member = tar.getmember("usr/bin/env")
    assert (member.mode, member.uid, member.gid, member.size, member.mtime) == (
        0o755,
        1,
        2,
        3,
        1700000000,
    )


@pytest.mark.parametrize(
    "name, attrs, check",
    [
        ("d/" + "long" * 40, {}, lambda m: m.name == "d/" + "long" * 40),
        (
            "caf\udce9/naïve",
            {},
            lambda m: m.name.encode("utf-8", "surrogateescape") == b"caf\xe9/na\xc3\xafve",
        ),
        (
            "big-ids",
            {"uid": 1 << 33, "gid": 3_000_000},
            lambda m: (m.uid, m.gid) == (1 << 33, 3_000_000),
        ),
        ("frac", {"mtime": 1700000000.5}, lambda m: m.mtime == 1700000000.5),
        ("old", {"mtime": -5}, lambda m: m.mtime == -5),
        ("link", {"linkname": "t/" * 80}, lambda m: m.linkname == "t/" * 80),
        (
            "names",
            {"uname": "u" * 40, "gname": "grüppe"},
            lambda m: (m.uname, m.gname) == ("u" * 40, "grüppe"),
        ),
    ],
)
def test_values_that_do_not_fit_ustar_go_into_pax_records(name, attrs, check) -> None:
    typeflag = b"2" if "linkname" in attrs else b"0"
    data = archive((header(name, typeflag, **attrs), b""))
    with tarfile.open(fileobj=io.BytesIO(data), encoding="utf-8", errors="surrogateescape") as tar:
        (member,) = tar.getmembers()
    assert check(member)
    (read_back,) = list(TarReader(io.BytesIO(data)))
    assert read_back.name == name


def test_binary_xattrs_round_trip() -> None:
    xattrs = {"security.capability": CAP, "user.empty": b"", "trusted.x": b"\xff\x00\xfe"}
    data = archive((header("bin/ping", b"0", mode=0o4755, xattrs=xattrs), b""))
    (member,) = list(TarReader(io.BytesIO(data)))
    assert member.xattrs == xattrs
    assert member.mode == 0o4755


def test_devices_and_directories() -> None:
    data = archive(
        (header("dev/null", b"3", mode=0o666, devmajor=1, devminor=3), b""),
        (header("tmp/", b"5", mode=0o1777), b""),
    )
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        null, tmp = tar.getmembers()
    assert null.ischr() and (null.devmajor, null.devminor) == (1, 3)
    assert tmp.isdir() and tmp.mode == 0o1777


def test_headers_are_deterministic() -> None:
    attrs = {"mode": 0o644, "mtime": 1.25, "xattrs": {"b": b"2", "a": b"1"}}
    assert header("f", b"0", **attrs) == header("f", b"0", **attrs)
    swapped = {**attrs, "xattrs": {"a": b"1", "b": b"2"}}
    assert header("f", b"0", **attrs) == header("f", b"0", **swapped)


def test_impossible_values_are_refused() -> None:
    with pytest.raises(ValueError):
        header("f", b"0", uid=-1)
    with pytest.raises(ValueError):
        header("dev/x", b"3", devmajor=1 << 30)
