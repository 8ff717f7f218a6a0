"""A streaming tar reader for untrusted input: ustar, GNU and PAX headers, bounded memory.

It reads from any object with ``read(n)`` (a file, a decompressor, a member of an outer tar) in
large chunks. File data is never held: it is skipped, or handed out piecewise with
``read_data``. Every malformed header raises ``TarError``; nothing here touches the host
filesystem. ``Member.offset`` is where a member's data starts in the (uncompressed) stream.

Headers are read as Go's archive/tar (the engine's reader) reads them: a PAX global header
(``g``) is parsed (a malformed one is an error) but applies to nothing, and extended headers
pending before it are dropped; numbers must fit a signed 64-bit integer; only
``SCHILY.xattr.*`` records are extended attributes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

BLOCK = 512
CHUNK = 1 << 20
MAX_META = 1 << 20  # the largest PAX or GNU long-name record accepted
ZERO_BLOCK = bytes(BLOCK)

REGULAR_TYPES = (b"0", b"\0", b"7")
HEADER_ONLY_TYPES = (b"1", b"2", b"3", b"4", b"5", b"6")
_DECIMAL = re.compile(rb"[0-9]+")
_TIME = re.compile(rb"(-?[0-9]+)(?:\.([0-9]*))?")
INT64_MAX = (1 << 63) - 1
XATTR_PREFIX = "SCHILY.xattr."


Failure = Callable[[str], "TarError"]
DEVICE_TYPES = (b"3", b"4")


class Reader(Protocol):
    def read(self, size: int, /) -> bytes: ...


class TarError(Exception):
    """Malformed or hostile tar input. ``entry`` names the member concerned; when its header
    could not be read, ``after`` names the member before it ("" for the first)."""

    def __init__(self, message: str, entry: str = "", after: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.entry = entry
        self.after = after

    def where(self) -> str:
        """The place, for messages: the entry, or the header that could not be read."""
        if self.entry:
            return f"entry {self.entry!r}"
        return f"the header after entry {self.after!r}" if self.after else "the first header"


class StreamError(TarError):
    """A layer's compressed stream is corrupt or truncated."""

    def where(self) -> str:
        return "its compressed stream"


@dataclass(slots=True)
class Member:
    name: str
    typeflag: bytes
    mode: int
    uid: int
    gid: int
    size: int  # data bytes that follow the header (0 for header-only types)
    mtime: float
    linkname: str
    uname: str
    gname: str
    devmajor: int
    devminor: int
    offset: int  # stream offset of the data
    xattrs: dict[str, bytes] = field(default_factory=dict)


def decode_name(raw: bytes) -> str:
    """Names as str, any byte kept (undecodable bytes become surrogate escapes)."""
    return raw.decode("utf-8", "surrogateescape")


class TarReader:
    """Iterate the members of a tar stream. Nothing after the end of the archive is read
    (up to one chunk may already be buffered): a caller that needs the whole stream, to
    hash it, reads the rest itself.

    ``size``: when the source is a seekable file of known size, data is skipped by seeking.
    """

    def __init__(self, src: Reader, size: int | None = None) -> None:
        self._src = src
        self._seek_size = size
        self._buf = b""
        self._pos = 0  # read position in _buf
        self._off = 0  # stream offset of _buf[0]
        self._remaining = 0  # data bytes of the current member not yet consumed
        self._padding = 0
        self._ended = False
        self._name = ""  # the member being read ("" while its header is not parsed)
        self._previous = ""

    def tell(self) -> int:
        return self._off + self._pos

    def __iter__(self) -> TarReader:
        return self

    def __next__(self) -> Member:
        member = self.next()
        if member is None:
            raise StopIteration
        return member

    # ---- members --------------------------------------------------------------------------

    def next(self) -> Member | None:
        if self._ended:
            return None
        self._skip(self._remaining + self._padding)
        self._remaining = self._padding = 0
        self._previous, self._name = self._name, ""
        records: dict[str, bytes] = {}
        long_name: bytes | None = None
        long_link: bytes | None = None
        while True:
            block = self._read_block()
            if block is None:
                if records or long_name is not None or long_link is not None:
                    raise self._error("archive ends after an extended header")
                return self._end()
            if block == ZERO_BLOCK:
                following = self._read_block()
                if following is None or following == ZERO_BLOCK:
                    return self._end()
                raise self._error("a zero block in the middle of the archive")
            _verify_checksum(block, self._error)
            typeflag = block[156:157]
            size = _number(block[124:136], "size", self._error)
            if size < 0:
                raise self._error("negative size")
            if typeflag in (b"x", b"g", b"L", b"K"):
                data = self._read_meta(size)
                if typeflag == b"x":
                    records.update(_parse_pax(data, self._error))
                elif typeflag == b"g":  # checked, applied to nothing; what was pending is lost
                    _parse_pax(data, self._error)
                    records, long_name, long_link = {}, None, None
                elif typeflag == b"L":
                    long_name = data.split(b"\0", 1)[0]
                else:
                    long_link = data.split(b"\0", 1)[0]
                continue
            if typeflag in (b"S", b"M", b"N") or (
                records and any(k.startswith("GNU.sparse.") for k in records)
            ):
                raise self._error("sparse and multi-volume members are not supported")
            member = self._member(block, typeflag, size, records, long_name, long_link)
            self._name = member.name
            self._remaining = member.size
            self._padding = _pad(member.size)
            return member

    def read_data(self, size: int) -> bytes:
        """Up to ``size`` bytes of the current member's data (b"" when it is all read)."""
        size = min(size, self._remaining)
        if size <= 0:
            return b""
        if self._pos >= len(self._buf):
            chunk = self._src.read(CHUNK)
            if not chunk:
                raise self._error("archive is truncated inside a member's data")
            self._off += len(self._buf)
            self._buf, self._pos = chunk, 0
        data = self._buf[self._pos : self._pos + size]
        self._pos += len(data)
        self._remaining -= len(data)
        return data

    # ---- internals ------------------------------------------------------------------------

    def _member(
        self,
        block: bytes,
        typeflag: bytes,
        size: int,
        local: dict[str, bytes],
        long_name: bytes | None,
        long_link: bytes | None,
    ) -> Member:
        # an empty value keeps the header's field (an empty xattr is kept: the layer drops it)
        records = {k: v for k, v in local.items() if v or k.startswith(XATTR_PREFIX)}
        magic = block[257:263]
        raw_name = block[0:100].split(b"\0", 1)[0]
        if magic == b"ustar\0":  # POSIX: a prefix field extends the name
            prefix = block[345:500].split(b"\0", 1)[0]
            if prefix:
                raw_name = prefix + b"/" + raw_name
        if long_name is not None:
            raw_name = long_name
        raw_link = long_link if long_link is not None else block[157:257].split(b"\0", 1)[0]
        name = decode_name(records.get("path") or raw_name)
        linkname = decode_name(records.get("linkpath") or raw_link)
        self._name = name
        if "\0" in name or "\0" in linkname:
            raise self._error("NUL byte in a name")
        if typeflag == b"\0" and name.endswith("/"):  # old V7 archives mark directories so
            typeflag = b"5"
        if "size" in records:
            size = _pax_int(records["size"], "size", self._error)
        if typeflag in HEADER_ONLY_TYPES:
            size = 0
        device = typeflag in DEVICE_TYPES
        uid = _pax_int(records["uid"], "uid", self._error) if "uid" in records else None
        gid = _pax_int(records["gid"], "gid", self._error) if "gid" in records else None
        mtime = (
            _pax_time(records["mtime"], self._error)
            if "mtime" in records
            else float(_number(block[136:148], "mtime", self._error))
        )
        return Member(
            name=name,
            typeflag=typeflag,
            mode=_number(block[100:108], "mode", self._error) & 0o7777,
            uid=uid if uid is not None else _number(block[108:116], "uid", self._error),
            gid=gid if gid is not None else _number(block[116:124], "gid", self._error),
            size=size,
            mtime=mtime,
            linkname=linkname,
            uname=decode_name(records.get("uname") or block[265:297].split(b"\0", 1)[0]),
            gname=decode_name(records.get("gname") or block[297:329].split(b"\0", 1)[0]),
            devmajor=_number(block[329:337], "devmajor", self._error) if device else 0,
            devminor=_number(block[337:345], "devminor", self._error) if device else 0,
            offset=self.tell(),
            xattrs=_xattrs(records),
        )

    def _error(self, message: str) -> TarError:
        return TarError(message, self._name, self._previous)

    def _end(self) -> None:
        self._ended = True
        self._off += len(self._buf)
        self._buf, self._pos = b"", 0
        return None

    def _read_meta(self, size: int) -> bytes:
        if size > MAX_META:
            raise self._error(f"extended header of {size} bytes is too large")
        if not self._fill(size):
            raise self._error("archive is truncated inside an extended header")
        data = self._buf[self._pos : self._pos + size]
        self._pos += size
        self._skip(_pad(size))
        return data

    def _read_block(self) -> bytes | None:
        if not self._fill(BLOCK):
            if self._pos < len(self._buf):
                raise self._error("archive is truncated inside a header")
            return None
        block = self._buf[self._pos : self._pos + BLOCK]
        self._pos += BLOCK
        return block

    def _fill(self, size: int) -> bool:
        """Make ``size`` bytes available at the read position; False at end of stream."""
        while len(self._buf) - self._pos < size:
            chunk = self._src.read(CHUNK)
            if not chunk:
                return False
            self._off += self._pos
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0
        return True

    def _skip(self, size: int) -> None:
        available = len(self._buf) - self._pos
        if size <= available:
            self._pos += size
            return
        size -= available
        self._off += len(self._buf)
        self._buf, self._pos = b"", 0
        if self._seek_size is not None:
            target = self._off + size
            if target > self._seek_size:
                raise self._error("archive is truncated inside a member's data")
            self._src.seek(target)  # type: ignore[attr-defined]
            self._off = target
            return
        while size > 0:
            chunk = self._src.read(CHUNK)
            if not chunk:
                raise self._error("archive is truncated inside a member's data")
            if len(chunk) > size:
                self._buf, self._pos = chunk, size
                return
            self._off += len(chunk)
            size -= len(chunk)


def _pad(size: int) -> int:
    return -size % BLOCK


def _verify_checksum(block: bytes, error: Failure) -> None:
    stored_field = block[148:156]
    try:
        stored = _number(stored_field, "checksum", error)
    except TarError:
        raise error("not a tar header (bad checksum field)") from None
    unsigned = sum(block) - sum(stored_field) + 8 * 32
    if stored == unsigned:
        return
    signed = (
        unsigned
        - 256 * sum(1 for b in block if b > 127)
        + 256 * sum(1 for b in stored_field if b > 127)
    )
    if stored != signed:
        raise error("corrupt tar header (checksum mismatch)")


def _number(field_bytes: bytes, what: str, error: Failure) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit is set; as Go,
    a value that does not fit a signed 64-bit integer is an error."""
    if field_bytes and field_bytes[0] & 0x80:
        bits = 8 * len(field_bytes) - 1
        value = int.from_bytes(field_bytes, "big") & ((1 << bits) - 1)
        value = value - (1 << bits) if value >> (bits - 1) else value
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise error(f"{what} field does not fit 64 bits")
        return value
    text = field_bytes.split(b"\0", 1)[0].strip(b" ")
    if text.isdigit():
        try:
            return int(text, 8)
        except ValueError:
            pass
    elif not text:
        return 0
    raise error(f"invalid {what} field {text[:20]!r}")


def _pax_int(value: bytes, what: str, error: Failure) -> int:
    """A PAX decimal number, at most a signed 64-bit integer (Go refuses larger ones)."""
    digits = value.lstrip(b"0")
    if not _DECIMAL.fullmatch(value) or len(digits) > 19 or int(digits or b"0") > INT64_MAX:
        raise error(f"invalid PAX {what} {value[:20]!r}")
    return int(digits or b"0")


def _pax_time(value: bytes, error: Failure) -> float:
    """A PAX time "SECONDS[.FRACTION]": seconds fit 64 bits, the fraction is cut at 9 digits
    (as Go reads it); the result is always a finite float."""
    found = _TIME.fullmatch(value)
    if not found:
        raise error(f"invalid PAX mtime {value[:30]!r}")
    seconds, fraction = found.group(1), found.group(2) or b""
    negative = seconds.startswith(b"-")
    whole = _pax_int(seconds.lstrip(b"-"), "mtime", error)
    nanoseconds = int(fraction[:9].ljust(9, b"0"))
    magnitude = whole + nanoseconds / 1e9
    return -magnitude if negative else magnitude


def _parse_pax(data: bytes, error: Failure) -> dict[str, bytes]:
    """PAX records "LEN KEY=VALUE\\n" (an empty value, kept here, unsets a key)."""
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:  # some writers pad the record block with NULs
            break
        space = data.find(b" ", pos, pos + 21)
        if space < 0 or not _DECIMAL.fullmatch(data[pos:space]):
            raise error("malformed PAX record")
        end = pos + int(data[pos:space])
        if end <= space + 1 or end > len(data) or data[end - 1] != 0x0A:
            raise error("malformed PAX record length")
        key, eq, value = data[space + 1 : end - 1].partition(b"=")
        if not eq or not key:
            raise error("malformed PAX record (no key)")
        decoded = decode_name(key)
        if b"\0" in value and not decoded.startswith(XATTR_PREFIX):
            raise error(f"NUL byte in PAX {decoded}")
        records[decoded] = value
        pos = end
    return records


def _xattrs(records: dict[str, bytes]) -> dict[str, bytes]:
    """The ``SCHILY.xattr.*`` records: Go's reader (so the engine) knows no other kind, and
    ignores ``LIBARCHIVE.xattr.*``."""
    return {k[len(XATTR_PREFIX) :]: v for k, v in records.items() if k.startswith(XATTR_PREFIX)}
