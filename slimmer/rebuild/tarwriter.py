"""Deterministic tar headers: ustar blocks plus a PAX extended header whenever a value does not
fit ustar (long or non-ASCII names, large ids or sizes, sub-second mtimes, xattrs).

The same arguments always give the same bytes: nothing here reads the clock or the host.
"""

from __future__ import annotations

from collections.abc import Mapping

BLOCK = 512
END_OF_ARCHIVE = bytes(2 * BLOCK)
PAX_NAME = b"././@PaxHeader"
_MAX_ID = 0o7777777
_MAX_SIZE = 0o77777777777


def padding(size: int) -> bytes:
    return bytes(-size % BLOCK)


def header(
    name: str,
    typeflag: bytes,
    *,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    size: int = 0,
    mtime: float = 0,
    linkname: str = "",
    uname: str = "",
    gname: str = "",
    devmajor: int = 0,
    devminor: int = 0,
    xattrs: Mapping[str, bytes] | None = None,
) -> bytes:
    """The header block(s) of one member; ``name`` is relative ("usr/bin/", "etc/passwd")."""
    pax: dict[bytes, bytes] = {}
    raw_name = _field_text(name, 100, b"path", pax)
    raw_link = _field_text(linkname, 100, b"linkpath", pax)
    raw_uname = _field_text(uname, 32, b"uname", pax)
    raw_gname = _field_text(gname, 32, b"gname", pax)
    uid = _field_number(uid, _MAX_ID, b"uid", pax)
    gid = _field_number(gid, _MAX_ID, b"gid", pax)
    size = _field_number(size, _MAX_SIZE, b"size", pax)
    if mtime != int(mtime) or not 0 <= mtime <= _MAX_SIZE:
        pax[b"mtime"] = _format_time(mtime)
        mtime = min(max(int(mtime), 0), _MAX_SIZE)
    if max(devmajor, devminor) > _MAX_ID or min(devmajor, devminor) < 0:
        raise ValueError(f"device numbers {devmajor},{devminor} of {name} do not fit a tar header")
    for key in sorted(xattrs or {}):
        pax[b"SCHILY.xattr." + key.encode("utf-8", "surrogateescape")] = (xattrs or {})[key]
    block = _ustar(
        raw_name,
        mode & 0o7777,
        uid,
        gid,
        size,
        int(mtime),
        typeflag,
        raw_link,
        raw_uname,
        raw_gname,
        devmajor,
        devminor,
    )
    if not pax:
        return block
    records = b"".join(_record(k, v) for k, v in pax.items())
    pax_block = _ustar(PAX_NAME, 0o644, 0, 0, len(records), 0, b"x", b"", b"", b"", 0, 0)
    return pax_block + records + padding(len(records)) + block


def _field_text(text: str, width: int, key: bytes, pax: dict[bytes, bytes]) -> bytes:
    raw = text.encode("utf-8", "surrogateescape")
    if len(raw) > width or not raw.isascii():
        pax[key] = raw
        return raw[:width]
    return raw


def _field_number(value: int, limit: int, key: bytes, pax: dict[bytes, bytes]) -> int:
    if value < 0:
        raise ValueError(f"negative {key.decode()} {value}")
    if value > limit:
        pax[key] = str(value).encode()
        return 0
    return value


def _format_time(mtime: float) -> bytes:
    text = f"{mtime:.9f}".rstrip("0").rstrip(".")
    return text.encode()


def _record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _ustar(
    name: bytes,
    mode: int,
    uid: int,
    gid: int,
    size: int,
    mtime: int,
    typeflag: bytes,
    linkname: bytes,
    uname: bytes,
    gname: bytes,
    devmajor: int,
    devminor: int,
) -> bytes:
    block = b"".join(
        (
            name.ljust(100, b"\0"),
            _octal(mode, 8),
            _octal(uid, 8),
            _octal(gid, 8),
            _octal(size, 12),
            _octal(mtime, 12),
            b" " * 8,
            typeflag,
            linkname.ljust(100, b"\0"),
            b"ustar\x0000",
            uname.ljust(32, b"\0"),
            gname.ljust(32, b"\0"),
            _octal(devmajor, 8),
            _octal(devminor, 8),
            bytes(167),
        )
    )
    checksum = b"%06o\0 " % sum(block)
    return block[:148] + checksum + block[156:]
