"""One layer blob: detect its compression, keep it as an uncompressed tar, index its own tree.

A layer's own tree is what the engine's overlay driver unpacks into a fresh directory: entries
in tar order (a later duplicate replaces an earlier one, a directory over a directory only
updates its metadata), missing parents created as 0755 root directories, whiteouts kept as
markers and opaque directories noted. Merging the layers happens in ``merge``.

Work is bounded: a layer's uncompressed tar may not exceed ``max_bytes`` (nothing after the end
of the archive is spooled, only hashed for the diff_id), memory grows with the number of
entries, hardlink groups cost linear time. Values the engine would not unpack as written, or
the rebuild could not write back, are refused with the layer and entry named.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from slimmer.errors import ImageFormatError, SlimmerError
from slimmer.imagefs.engineview import CAPABILITY, engine_mtime, engine_xattrs
from slimmer.imagefs.model import Entry, EntryType
from slimmer.imagefs.paths import PathEscape, join, normalise, parent
from slimmer.imagefs.streams import (
    GZIP_MAGIC,
    ZSTD_MAGIC,
    Gunzip,
    Limited,
    Prefixed,
    Tee,
    TooLarge,
    Unzstd,
    read_head,
)
from slimmer.imagefs.tarstream import (
    BLOCK,
    CHUNK,
    ZERO_BLOCK,
    Member,
    Reader,
    TarError,
    TarReader,
)
from slimmer.imagefs.tree import Tree

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
META_PREFIX = ".wh..wh."  # other aufs bookkeeping names: skipped, as the engine does
PATH_MAX = 4096  # longer names cannot be unpacked by the engine either
HINT = "the image archive is corrupt or was crafted to attack; re-create it with `docker save`"
DEFAULT_MAX_LAYER_BYTES = 32 << 30  # the largest uncompressed layer read by default
MAX_ID = (1 << 31) - 1  # runc's largest uid/gid
# Directories no entry names are made for the names under them. A real layer names its
# directories (or misses a few); a crafted one can make thousands of 4 kB paths out of each
# name (80 names at depth 2000: 330 MB of paths from a 370 kB layer). Their cost (path bytes
# plus an entry's overhead) is bounded per layer; a legit layer stays far below.
IMPLICIT_DIRECTORY_BUDGET = 32 << 20
ENTRY_OVERHEAD = 256  # bytes an entry costs besides its path (object, dict slots, child set)
MAX_DEVICE = 0o7777777  # what a tar header (ustar or PAX) can carry back
XATTR_NAME_MAX = 255  # the kernel's limits for one extended attribute
XATTR_SIZE_MAX = 65536
MTIME_LIMIT = float(1 << 63)

_TYPES = {
    b"0": EntryType.FILE,
    b"\0": EntryType.FILE,
    b"7": EntryType.FILE,
    b"1": EntryType.HARDLINK,
    b"2": EntryType.SYMLINK,
    b"3": EntryType.CHAR,
    b"4": EntryType.BLOCK,
    b"5": EntryType.DIR,
    b"6": EntryType.FIFO,
}
_CONTENT = (EntryType.FILE, EntryType.HARDLINK)


@dataclass
class LayerDiff:
    """A layer's own tree (entries of None are whiteouts) and its opaque directories."""

    tree: Tree
    opaque: set[str] = field(default_factory=set)


@dataclass
class LayerBlob:
    path: Path  # the file holding the uncompressed layer tar...
    start: int  # ...from this offset on
    digest: str  # sha256 of the blob as stored (compressed or not)
    diff_id: str  # sha256 of the uncompressed tar
    size: int  # bytes of the uncompressed tar
    diff: LayerDiff
    members: list[Member] | None = None  # the members read (when asked for, for the cache)
    total: int = 0  # bytes the diff_id hashes


class KnownLayer(Protocol):
    """A layer whose index is known (the cache) when its blob turns out to have this diff_id."""

    diff_id: str
    diff: LayerDiff


def sniff(head: bytes) -> str:
    """The format of a blob from its first bytes: "tar", "gzip", "zstd", or a description of
    what it is instead."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if not head or (len(head) >= BLOCK and _looks_like_tar(head[:BLOCK])):
        return "tar"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz-compressed data"
    if head.startswith(b"BZh"):
        return "bzip2-compressed data"
    if head.lstrip()[:1] in (b"{", b"["):
        return "JSON"
    return "data of an unknown format"


def _looks_like_tar(block: bytes) -> bool:
    if block == ZERO_BLOCK:
        return True
    field_text = block[148:156].split(b"\0", 1)[0].strip(b" ")
    if not field_text or not all(48 <= c <= 55 for c in field_text):
        return False
    return int(field_text, 8) == sum(block) - sum(block[148:156]) + 8 * 32


def ingest(
    src: Reader,
    label: str,
    spool: Path,
    in_place: tuple[Path, int] | None = None,
    max_bytes: int = DEFAULT_MAX_LAYER_BYTES,
    known: KnownLayer | None = None,
    seen: list[Member] | None = None,
) -> LayerBlob:
    """Read a layer blob once: hash it, decompress it, write the tar to ``spool`` (unless it
    is uncompressed and ``in_place`` says which file, from which offset, it already is) and
    index it. Bytes after the end of the archive are hashed (they are part of the diff_id)
    but not spooled; more than ``max_bytes`` of uncompressed tar is an error.

    ``known``: an uncompressed streamed blob is spooled whole and hashed, and when it is that
    layer its index is taken as is (else the spooled tar is read). ``seen`` collects the
    members read, for the cache (``LayerBlob.members``)."""
    raw = Tee(src)
    head = read_head(raw, BLOCK)
    kind = sniff(head)
    if kind not in ("tar", "gzip", "zstd"):
        raise ImageFormatError(
            printable(f"layer {label} is {kind}, not a tar, gzip or zstd stream"),
            "slimmer reads uncompressed, gzip and zstd layers; recompress the image",
        )
    stream: Reader = Prefixed(head, raw)
    if kind == "gzip":
        stream = Gunzip(stream)
    elif kind == "zstd":
        stream = Unzstd(stream)
    keep = in_place if kind == "tar" and in_place is not None else None
    compressed = kind != "tar"  # else the tar's digest is the blob's: hash it once
    stream = Limited(stream, max_bytes)
    read: list[Member] | None = seen
    try:
        if known is not None and keep is None and not compressed:
            with open(spool, "wb") as sink:
                tar = Tee(stream, sink, hashing=False)
                while tar.read(CHUNK):
                    pass
            if raw.digest() == known.diff_id:
                diff, read = known.diff, None
            else:
                diff = _read_spooled(spool, tar.written, seen)
        elif keep is not None:
            tar = Tee(stream, hashing=compressed)
            diff = _read_all(tar, seen)
        else:
            with open(spool, "wb") as sink:
                tar = Tee(stream, sink, hashing=compressed)
                diff = _read_all(tar, seen)
        while raw.read(CHUNK):  # a decompressor may stop before its input ends
            pass
    except TarError as exc:
        spool.unlink(missing_ok=True)
        raise layer_error(label, exc) from None
    except OSError as exc:
        spool.unlink(missing_ok=True)
        raise SlimmerError(
            f"cannot read or copy layer {label} (to {spool}): {exc.strerror or exc}",
            "free disk space in the work directory (or point TMPDIR to a larger disk)",
        ) from None
    diff_id = tar.digest() if compressed else raw.digest()
    path, start = keep or (spool, 0)
    size = tar.count if keep else tar.written
    total = tar.count if compressed else raw.count
    return LayerBlob(path, start, raw.digest(), diff_id, size, diff, read, total)


def _read_all(tar: Tee, seen: list[Member] | None = None) -> LayerDiff:
    """Index the tar, then read what follows its end without spooling it (the digest needs
    it; the cap bounds it)."""
    diff = read_diff(TarReader(tar), seen)
    tar.sink = None
    while tar.read(CHUNK):
        pass
    return diff


def _read_spooled(spool: Path, size: int, seen: list[Member] | None) -> LayerDiff:
    """Index a tar already spooled (data skipped by seeking)."""
    with open(spool, "rb") as handle:
        return read_diff(TarReader(handle, size=size), seen)


def copy_diff(diff: LayerDiff, index: int) -> LayerDiff:
    """A copy of a layer's own tree whose entries (set to layer ``index``) merging and
    indexing will not touch."""
    tree = Tree()
    tree.entries = {
        path: None if entry is None else dataclasses.replace(entry, layer=index)
        for path, entry in diff.tree.entries.items()
    }
    tree.children = {path: set(children) for path, children in diff.tree.children.items()}
    return LayerDiff(tree, set(diff.opaque))


def layer_error(label: str, exc: TarError) -> ImageFormatError:
    if isinstance(exc, TooLarge):
        return ImageFormatError(
            printable(f"layer {label} is larger than {exc.limit} bytes uncompressed"),
            "it may be a decompression bomb; if the image is trusted, raise --max-layer-bytes",
        )
    return ImageFormatError(printable(f"layer {label}, {exc.where()}: {exc.message}"), HINT)


def printable(text: str) -> str:
    """``text`` with what a terminal cannot take (surrogate escapes of undecodable bytes,
    control characters) written as escapes."""
    escaped = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() or c == " " else ascii(c)[1:-1] for c in escaped)


def read_diff(reader: Iterable[Member], seen: list[Member] | None = None) -> LayerDiff:
    """A layer's own tree from its members (a TarReader, or members kept before: every check
    runs again); ``seen`` collects the members read, for the layer cache."""
    builder = _DiffBuilder()
    for member in reader:
        builder.add(member)
        if seen is not None:
            seen.append(member)
    builder.settle_links()
    return LayerDiff(builder.tree, builder.opaque)


@dataclass
class _LinkGroup:
    """Names sharing one content, and the inode metadata they end up with: the engine applies
    each link's header to the shared inode, so the last header wins and xattrs add up."""

    entries: list[Entry]
    last: Entry
    xattrs: dict[str, bytes]


class _DiffBuilder:
    def __init__(self) -> None:
        self.tree = Tree()
        self.entries = self.tree.entries
        self.opaque: set[str] = set()
        self._links: dict[int, _LinkGroup] = {}  # content offset -> the names sharing it
        self._implicit_cost = 0  # of the directories made for names under them

    def add(self, member: Member) -> None:
        if len(member.name.encode("utf-8", "surrogateescape")) > PATH_MAX:
            raise TarError(f"name longer than {PATH_MAX} bytes", member.name[:200] + "...")
        try:
            path = normalise(member.name)
        except PathEscape:
            raise TarError("name climbs out of the image root with '..'", member.name) from None
        if path == "/":
            if member.typeflag != b"5":
                raise TarError("the image root is not a directory", member.name)
            check_values(member)
            self.entries["/"] = _entry("/", EntryType.DIR, member)
            return
        if "/" + WHITEOUT in path and self._whiteout(path, member):
            return
        kind = _TYPES.get(member.typeflag)
        if kind is None:
            raise TarError(f"unsupported entry type {member.typeflag!r}", member.name)
        check_values(member)
        self._directory(parent(path), member)
        if kind is EntryType.HARDLINK:
            self._hardlink(path, member)
        else:
            self._place(path, _entry(path, kind, member))

    def _whiteout(self, path: str, member: Member) -> bool:
        """Apply a whiteout, opaque marker or aufs bookkeeping entry; False for other names."""
        names = path[1:].split("/")
        base = names[-1]
        if any(n.startswith(META_PREFIX) for n in names):
            if base == OPAQUE and not any(n.startswith(WHITEOUT) for n in names[:-1]):
                self._directory(parent(path), member)
                self.opaque.add(parent(path))
            return True
        if any(n.startswith(WHITEOUT) for n in names[:-1]):
            raise TarError("entry inside a whiteout", member.name)
        if not base.startswith(WHITEOUT):
            return False
        hidden = base[len(WHITEOUT) :]
        if hidden in ("", ".", ".."):
            raise TarError("invalid whiteout name", member.name)
        self._directory(parent(path), member)
        self._place(join(parent(path), hidden), None)
        return True

    def _hardlink(self, path: str, member: Member) -> None:
        try:
            target_path = normalise(member.linkname)
        except PathEscape:
            raise TarError("hardlink target climbs out of the image root", member.name) from None
        target = self.entries.get(target_path)
        if target is None:
            raise TarError(
                f"hardlink to {target_path}, which is not an earlier entry of this layer",
                member.name,
            )
        if target.type not in _CONTENT:
            raise TarError(f"hardlink to {target_path}, a {target.type.value}", member.name)
        entry = _entry(path, EntryType.HARDLINK, member)
        entry.linkname = target_path
        entry.size, entry.offset = target.size, target.offset
        group = self._links.get(target.offset)
        if group is None:
            group = self._links[target.offset] = _LinkGroup([target], target, dict(target.xattrs))
        group.entries.append(entry)
        group.last = entry
        group.xattrs.pop(CAPABILITY, None)  # the engine's chown of this name clears it
        group.xattrs.update(entry.xattrs)
        self._place(path, entry)

    def settle_links(self) -> None:
        """Give every name of a hardlink group the group's final metadata (once per group,
        so that a group of n names costs O(n)). The names share one read-only xattr dict."""
        for group in self._links.values():
            last = group.last
            xattrs = engine_xattrs(EntryType.FILE, last.mode, group.xattrs)
            for entry in group.entries:
                entry.mode, entry.uid, entry.gid = last.mode, last.uid, last.gid
                entry.uname, entry.gname, entry.mtime = last.uname, last.gname, last.mtime
                entry.xattrs = xattrs

    def _directory(self, path: str, member: Member) -> None:
        """Make sure ``path`` is a directory of this layer, creating missing ones as the
        engine does (0755, root); a non-directory of this layer on the way is an error."""
        missing: list[str] = []
        while path != "/":
            existing = self.entries.get(path)
            if existing is not None and existing.type is EntryType.DIR:
                break
            if path in self.entries:
                raise TarError(f"entry under {path}, which is not a directory here", member.name)
            missing.append(path)
            self._implicit_cost += len(path) + ENTRY_OVERHEAD
            path = parent(path)
        if self._implicit_cost > IMPLICIT_DIRECTORY_BUDGET:
            raise TarError(
                f"over {IMPLICIT_DIRECTORY_BUDGET >> 20} MiB of directories that no entry names "
                "(names deep under new directories)",
                member.name[:200],
            )
        for path in reversed(missing):
            self.tree.put(path, Entry(path, EntryType.DIR, 0o755))

    def _place(self, path: str, entry: Entry | None) -> None:
        old = self.entries.get(path, _MISSING)
        if old is _MISSING:
            self.tree.put(path, entry)
        elif (
            old is not None
            and entry is not None
            and old.type is EntryType.DIR
            and entry.type is EntryType.DIR
        ):
            # a directory over a directory: new metadata, the extended attributes add up
            merged = {**old.xattrs, **entry.xattrs}
            entry.xattrs = engine_xattrs(EntryType.DIR, entry.mode, merged)
            self.entries[path] = entry
        else:
            self.tree.remove(path)
            self.tree.put(path, entry)


_MISSING = Entry("", EntryType.FILE, 0)


def check_values(member: Member) -> None:
    """Refuse what the engine would not unpack as written or the rebuild could not write
    back: ids outside 0..2^31-1 (runc's range), device numbers a header cannot carry, a
    modification time beyond 64-bit seconds, extended attributes the kernel refuses."""
    for what, value in (("uid", member.uid), ("gid", member.gid)):
        if not 0 <= value <= MAX_ID:
            raise TarError(f"{what} {value} is outside 0..{MAX_ID}", member.name)
    for what, value in (("major", member.devmajor), ("minor", member.devminor)):
        if not 0 <= value <= MAX_DEVICE:
            raise TarError(f"device {what} number {value} is outside 0..{MAX_DEVICE}", member.name)
    if not (math.isfinite(member.mtime) and abs(member.mtime) < MTIME_LIMIT):
        raise TarError(f"modification time {member.mtime} is out of range", member.name)
    for name, value in member.xattrs.items():
        raw = name.encode("utf-8", "surrogateescape")
        if not raw or b"\0" in raw or b"=" in raw or len(raw) > XATTR_NAME_MAX:
            raise TarError(f"invalid extended attribute name {name[:80]!r}", member.name)
        if len(value) > XATTR_SIZE_MAX:
            raise TarError(
                f"extended attribute {name[:80]!r} is larger than {XATTR_SIZE_MAX} bytes",
                member.name,
            )


def _entry(path: str, kind: EntryType, member: Member) -> Entry:
    """The entry as the engine unpacks the member (``engineview``)."""
    mode = 0o777 if kind is EntryType.SYMLINK else member.mode  # as Linux shows any symlink
    xattrs = {k: v for k, v in member.xattrs.items() if v}  # the engine sets no empty one
    content_kind = EntryType.FILE if kind is EntryType.HARDLINK else kind
    return Entry(
        path=path,
        type=kind,
        mode=mode,
        uid=member.uid,
        gid=member.gid,
        uname=member.uname,
        gname=member.gname,
        size=member.size if kind is EntryType.FILE else 0,
        mtime=engine_mtime(kind, member.mtime),
        linkname=member.linkname if kind is EntryType.SYMLINK else "",
        xattrs=engine_xattrs(content_kind, mode, xattrs),
        devmajor=member.devmajor,
        devminor=member.devminor,
        offset=member.offset if kind is EntryType.FILE else -1,
    )
