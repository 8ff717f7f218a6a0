"""The layer index cache: each layer's tar headers (not its contents), keyed by its diff_id,
under ``$XDG_CACHE_HOME/slimmer/layers`` (default ``~/.cache/slimmer/layers``).

A cached layer is read again from its headers through the same checks as a tar (``read_diff``),
so a corrupt or hostile cache file can do no more than a hostile layer; one that fails its
checksum or its checks is deleted and counts as a miss. Files are written to a temporary name
and renamed (readers never see half a file); writers and the eviction hold a lock file. The
cache is bounded (``SLIMMER_CACHE_MAX_BYTES``, default 256 MiB): after a write, the least
recently used files (their modification time, refreshed on every hit) go first. A cache
directory or file that is not the user's own, or is writable by others, is not used.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from slimmer.imagefs.layer import LayerDiff, read_diff
from slimmer.imagefs.tarstream import BLOCK, REGULAR_TYPES, Member, TarError

MAGIC = b"slimmer-layer-index"
VERSION = 1
DEFAULT_MAX_BYTES = 256 << 20
MAX_FILE = 64 << 20  # a cache file (compressed)
MAX_PAYLOAD = 1 << 30  # its JSON (uncompressed)
_DIFF_ID = re.compile(r"sha256:([0-9a-f]{64})")
_HEADER = re.compile(rb"slimmer-layer-index (\d+) (\d{1,20}) ([0-9a-f]{64}) (\d{1,20})\n")


class CacheFileError(Exception):
    """A cache file that cannot be used (corrupt, hostile, from another version)."""


@dataclass(frozen=True)
class CachedLayer:
    diff_id: str
    size: int  # bytes of the uncompressed tar (what the diff_id hashes)
    diff: LayerDiff


def default_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "slimmer" / "layers"


def _max_bytes() -> int:
    text = os.environ.get("SLIMMER_CACHE_MAX_BYTES", "")
    return int(text) if text.isdigit() else DEFAULT_MAX_BYTES


class LayerCache:
    """Cached layer indexes in ``root`` (created 0700 when missing)."""

    def __init__(self, root: Path | None = None, max_bytes: int | None = None) -> None:
        self.root = root or default_root()
        self.max_bytes = _max_bytes() if max_bytes is None else max_bytes
        self.usable = self._prepare()

    def _prepare(self) -> bool:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            return _private(self.root.stat())
        except OSError:
            return False

    def _path(self, diff_id: str) -> Path | None:
        found = _DIFF_ID.fullmatch(diff_id)
        return self.root / f"{found.group(1)}.idx" if found and self.usable else None

    # ---- reading ---------------------------------------------------------------------------

    def size_of(self, diff_id: str) -> int | None:
        """The tar size of a cached layer (from its file's first line only), or None."""
        path = self._path(diff_id)
        line = None if path is None else _read_private(path, lambda h: h.readline(200))
        found = None if line is None else _HEADER.fullmatch(line)
        return int(found.group(2)) if found and int(found.group(1)) == VERSION else None

    def get(self, diff_id: str) -> CachedLayer | None:
        """The cached index of a layer, checked, or None (a bad file is removed)."""
        path = self._path(diff_id)
        data = None if path is None else _read_private(path, lambda h: h.read(MAX_FILE + 1))
        if path is None or data is None:
            return None
        try:
            cached = _decode(data, diff_id)
        except (CacheFileError, TarError, ValueError, RecursionError):
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used
        return cached

    def has_all(self, diff_ids: Iterable[str]) -> bool:
        return all(self.size_of(d) is not None for d in diff_ids)

    def known_by_size(self, diff_ids: Iterable[str]) -> Callable[[int], CachedLayer | None]:
        """For a stream whose blobs are named by something else than their diff_id: the
        cached layer of ``diff_ids`` an uncompressed blob of a given size may be (sizes that
        two of them share are left out; the blob's digest decides in the end)."""
        sizes: dict[int, str | None] = {}
        for diff_id in diff_ids:
            size = self.size_of(diff_id)
            if size is not None:
                sizes[size] = None if size in sizes and sizes[size] != diff_id else diff_id

        def known(size: int) -> CachedLayer | None:
            diff_id = sizes.get(size)
            return self.get(diff_id) if diff_id else None

        return known

    # ---- writing ---------------------------------------------------------------------------

    def put(self, diff_id: str, size: int, members: list[Member]) -> None:
        """Store a layer's index (atomically), then evict beyond the size bound. Failures to
        write are ignored: the cache is only an accelerator."""
        path = self._path(diff_id)
        if path is None:
            return
        data = _encode(diff_id, size, members)
        if len(data) > MAX_FILE:
            return
        try:
            with self._locked():
                handle, name = tempfile.mkstemp(dir=self.root, prefix=".idx-", suffix=".tmp")
                try:
                    with os.fdopen(handle, "wb") as out:
                        out.write(data)
                    os.replace(name, path)
                finally:
                    with contextlib.suppress(OSError):
                        os.unlink(name)
                self._evict()
        except OSError:
            return

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _evict(self) -> None:
        """Remove the least recently used files until the cache is within 90% of its bound."""
        files = []
        for path in self.root.glob("*.idx"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                files.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        if total <= self.max_bytes:
            return
        for _, size, path in sorted(files):
            if total <= self.max_bytes * 9 // 10:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size

    def clear(self) -> None:
        with self._locked():
            for path in self.root.glob("*.idx"):
                with contextlib.suppress(OSError):
                    path.unlink()


def _read_private(path: Path, read: Callable[[BinaryIO], bytes]) -> bytes | None:
    """What ``read`` takes from a cache file that is this user's own and no one else's (None
    when it is not, or cannot be read)."""
    try:
        with open(path, "rb") as handle:
            if not _private(os.fstat(handle.fileno())):
                return None
            return read(handle)
    except OSError:
        return None


def _private(stat: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    return stat.st_uid == os.geteuid() and not stat.st_mode & 0o022


# ---- the file format --------------------------------------------------------------------------


def _encode(diff_id: str, size: int, members: list[Member]) -> bytes:
    records = [
        [
            m.name, m.typeflag.decode("latin-1"), m.mode, m.uid, m.gid, m.size, m.mtime,
            m.linkname, m.uname, m.gname, m.devmajor, m.devminor, m.offset,
            {k: base64.b64encode(v).decode("ascii") for k, v in m.xattrs.items()},
        ]
        for m in members
    ]  # fmt: skip
    document = {"diff_id": diff_id, "size": size, "members": records}
    payload = zlib.compress(json.dumps(document, separators=(",", ":")).encode("utf-8"), 6)
    digest = hashlib.sha256(payload).hexdigest()
    return b"%s %d %d %s %d\n" % (MAGIC, VERSION, size, digest.encode(), len(payload)) + payload


def _decode(data: bytes, diff_id: str) -> CachedLayer:
    line_end = data.find(b"\n", 0, 200) + 1
    found = _HEADER.fullmatch(data[:line_end])
    if not found or int(found.group(1)) != VERSION:
        raise CacheFileError("not a cache file of this version")
    payload = data[line_end:]
    if len(payload) != int(found.group(4)) or hashlib.sha256(payload).hexdigest() != found.group(
        3
    ).decode("ascii"):
        raise CacheFileError("checksum mismatch")
    inflate = zlib.decompressobj()
    try:
        text = inflate.decompress(payload, MAX_PAYLOAD)
    except zlib.error as exc:
        raise CacheFileError(str(exc)) from None
    if inflate.unconsumed_tail or not inflate.eof:
        raise CacheFileError("payload too large or truncated")
    document = json.loads(text)
    size = int(found.group(2))
    if not isinstance(document, dict) or document.get("diff_id") != diff_id:
        raise CacheFileError("another layer's index")
    if document.get("size") != size or not isinstance(document.get("members"), list):
        raise CacheFileError("malformed index")
    members = [_member(record) for record in document["members"]]
    _check_offsets(members, size)
    return CachedLayer(diff_id, size, read_diff(members))


_FIELDS = (str, str, int, int, int, int, (int, float), str, str, str, int, int, int, dict)


def _member(record: Any) -> Member:
    if not isinstance(record, list) or len(record) != len(_FIELDS):
        raise CacheFileError("malformed member")
    for value, kind in zip(record, _FIELDS, strict=True):
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CacheFileError("malformed member field")
    typeflag = record[1].encode("latin-1")
    if len(typeflag) != 1:
        raise CacheFileError("bad type flag")
    try:
        xattrs = {
            str(k): base64.b64decode(v, validate=True) for k, v in record[13].items()
        }
    except (binascii.Error, TypeError, ValueError):
        raise CacheFileError("bad attribute value") from None
    return Member(
        name=record[0], typeflag=typeflag, mode=record[2] & 0o7777, uid=record[3],
        gid=record[4], size=record[5], mtime=float(record[6]), linkname=record[7],
        uname=record[8], gname=record[9], devmajor=record[10], devminor=record[11],
        offset=record[12], xattrs=xattrs,
    )  # fmt: skip


def _check_offsets(members: list[Member], size: int) -> None:
    """Data lies after its header, in order, without overlap, inside the layer: two names
    never share a content unless the tar said they are hardlinks."""
    next_header = 0
    for member in members:
        if member.size < 0 or member.offset < next_header + BLOCK or member.offset > size:
            raise CacheFileError("member data overlaps or is out of order")
        next_header = member.offset
        if member.typeflag in REGULAR_TYPES:
            next_header += -(-member.size // BLOCK) * BLOCK
        if next_header > size:
            raise CacheFileError("member data beyond the layer")
