"""Write the one layer of the slim image: the kept paths and every parent directory, in tree
order, with their original metadata, contents streamed from the source layers.

``contents`` overrides the content of some paths (a trimmed package database) or adds new
files (an attached SBOM): an overridden path keeps its metadata with the new size; a new
path (and its missing parents) gets mode 0644 (0755 for directories), owner root and mtime
0, so the layer stays a function of its inputs."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from slimmer.errors import SlimmerError
from slimmer.imagefs import Entry, EntryType, ImageFs
from slimmer.imagefs.engineview import output_entry
from slimmer.imagefs.paths import clean, parent
from slimmer.rebuild.tarwriter import END_OF_ARCHIVE, header, padding

COPY_CHUNK = 1 << 20
_TYPEFLAGS = {
    EntryType.FILE: b"0",
    EntryType.HARDLINK: b"1",
    EntryType.SYMLINK: b"2",
    EntryType.CHAR: b"3",
    EntryType.BLOCK: b"4",
    EntryType.DIR: b"5",
    EntryType.FIFO: b"6",
}


@dataclass(frozen=True)
class LayerInfo:
    digest: str  # sha256 of the uncompressed tar: the layer's diff_id
    size: int  # bytes of the tar
    entries: int
    content_bytes: int  # bytes of file contents (each hardlinked content once)


def kept_tree(
    fs: ImageFs, kept: Iterable[str], contents: Mapping[str, bytes] | None = None
) -> list[Entry]:
    """The entries to write: ``kept`` plus all their parents, in tree order. A kept directory
    brings only itself, not its contents. Raises ValueError for a path not in the image (other
    than the new files of ``contents``)."""
    made = _content_entries(fs, contents or {})
    paths: set[str] = {"/"}
    for raw in [*kept, *made]:
        path = clean(raw)
        if path not in made and fs.lookup(path) is None:
            raise ValueError(f"kept path {raw} is not in the image")
        while path not in paths:
            paths.add(path)
            path = parent(path)
    entries = [made.get(p) or fs.lookup(p) for p in sorted(paths, key=_tree_key)]
    return [e for e in entries if e is not None]


def _content_entries(fs: ImageFs, contents: Mapping[str, bytes]) -> dict[str, Entry]:
    """Entries for the paths of ``contents``: overridden files with their new size, new files
    and their missing parent directories."""
    made: dict[str, Entry] = {}
    for raw, data in contents.items():
        path = clean(raw)
        entry = fs.lookup(path)
        if entry is None:
            made[path] = Entry(path, EntryType.FILE, 0o644, size=len(data))
            directory = parent(path)
            while fs.lookup(directory) is None and directory not in made:
                made[directory] = Entry(directory, EntryType.DIR, 0o755)
                directory = parent(directory)
            found = fs.lookup(directory)
            if found is not None and found.type is not EntryType.DIR:
                raise ValueError(f"cannot add {path}: {directory} is not a directory")
        elif entry.type in (EntryType.FILE, EntryType.HARDLINK):
            made[path] = dataclasses.replace(
                entry, type=EntryType.FILE, size=len(data), linkname="", layer=-1, offset=-1
            )
        else:
            raise ValueError(f"cannot replace the content of {path}: it is a {entry.type.value}")
    return made


def _tree_key(path: str) -> list[str]:
    return path.split("/")


def write_layer(
    fs: ImageFs,
    kept: Iterable[str],
    out: BinaryIO,
    contents: Mapping[str, bytes] | None = None,
) -> LayerInfo:
    """Write the layer tar to ``out``. Hardlinked names stay hardlinks: the first kept name of
    a content (in tree order) carries it, the others link to it, so a kept link whose target
    was dropped still gets its content. ``contents``: new contents by path (module doc)."""
    sink = _HashingSink(out)
    carriers: dict[tuple[int, int], str] = {}
    content = 0
    given = {clean(p): d for p, d in (contents or {}).items()}
    entries = kept_tree(fs, kept, given)
    fs.prefetch(e for e in entries if e.path not in given)
    buffer = bytearray(COPY_CHUNK)
    for entry in entries:
        name = _member_name(entry)
        kind = entry.type
        linkname = entry.linkname if kind is EntryType.SYMLINK else ""
        size = 0
        if entry.path in given:
            size = entry.size
        elif kind in (EntryType.FILE, EntryType.HARDLINK):
            carrier = carriers.get((entry.layer, entry.offset))
            if carrier is None:
                carriers[(entry.layer, entry.offset)] = name
                kind, size = EntryType.FILE, entry.size
            else:
                kind, linkname = EntryType.HARDLINK, carrier
        shown = output_entry(entry)
        sink.write(
            header(
                name,
                _TYPEFLAGS[kind],
                mode=shown.mode,
                uid=shown.uid,
                gid=shown.gid,
                size=size,
                mtime=shown.mtime,
                linkname=linkname,
                uname=shown.uname,
                gname=shown.gname,
                devmajor=entry.devmajor,
                devminor=entry.devminor,
                xattrs=shown.xattrs,
            )
        )
        if size and entry.path in given:
            sink.write(given[entry.path])
            sink.write(padding(size))
            content += size
        elif size:
            _copy(fs, entry, sink, buffer)
            sink.write(padding(size))
            content += size
    sink.write(END_OF_ARCHIVE)
    return LayerInfo(sink.digest(), sink.count, len(entries), content)


def _member_name(entry: Entry) -> str:
    if entry.path == "/":
        return "./"
    name = entry.path[1:]
    return name + "/" if entry.type is EntryType.DIR else name


def _copy(fs: ImageFs, entry: Entry, sink: _HashingSink, buffer: bytearray) -> None:
    view = memoryview(buffer)
    remaining = entry.size
    try:
        with fs.open(entry) as source:
            while remaining:
                got = source.readinto(view[: min(remaining, len(buffer))])
                if not got:
                    raise OSError("unexpected end of file")
                sink.write(view[:got])
                remaining -= got
    except OSError as exc:
        raise SlimmerError(
            f"cannot copy {entry.path} from layer {entry.layer} of the image: {exc}",
            "the image's layer files changed while slimmer ran (or the disk is full); run again",
        ) from None


class _HashingSink:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes | memoryview) -> None:
        self._hash.update(data)
        self._out.write(data)
        self.count += len(data)

    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()
