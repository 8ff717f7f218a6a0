"""Where image bytes come from: the engine's save stream, an image archive file, an OCI layout
directory. Each is a *store* of named members ("manifest.json", "blobs/sha256/...");
``layout`` reads the image out of a store whatever its layout.

Member names are only keys: nothing is ever written or opened under a name taken from an
archive. Stream members are spooled to numbered files in the work directory: layers up to the
layer size limit, other members up to ``META_LIMIT`` (a larger one is skipped, and an error
only if the image needs it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from slimmer.errors import ImageFormatError
from slimmer.imagefs.layer import (
    DEFAULT_MAX_LAYER_BYTES,
    HINT,
    KnownLayer,
    LayerBlob,
    ingest,
    sniff,
)
from slimmer.imagefs.paths import PathEscape, normalise
from slimmer.imagefs.streams import Prefixed, Region, read_head
from slimmer.imagefs.tarstream import BLOCK, CHUNK, REGULAR_TYPES, Reader, TarError, TarReader

META_LIMIT = 32 << 20  # the largest manifest, index or config read into memory
MAX_LINK_HOPS = 40


class Store(Protocol):
    label: str

    def has(self, name: str) -> bool: ...

    def read(self, name: str) -> bytes: ...

    def layer(self, name: str) -> LayerBlob: ...


def member_name(raw: str, label: str) -> str:
    """An archive member name as a key: "./blobs//sha256/x" -> "blobs/sha256/x"."""
    if "\0" in raw:
        raise ImageFormatError(f"{label}: member name with a NUL byte", HINT)
    try:
        return normalise(raw)[1:]
    except PathEscape:
        raise ImageFormatError(f"{label}: member name {raw!r} climbs out with '..'", HINT) from None


class _Links:
    """Symlinks and hardlinks between members of an archive, resolved by name only."""

    label: str

    def __init__(self) -> None:
        self._links: dict[str, str] = {}

    def _link(self, name: str, target: str, symbolic: bool) -> None:
        if symbolic and not target.startswith("/"):
            target = f"{name.rpartition('/')[0]}/{target}"
        self._links[name] = member_name(target, self.label)

    def _target(self, name: str) -> str:
        name = member_name(name, self.label)
        for _ in range(MAX_LINK_HOPS):
            if name not in self._links:
                return name
            name = self._links[name]
        raise ImageFormatError(f"{self.label}: member {name!r} is a link loop", HINT)


class StreamStore(_Links):
    """A tar stream read once: every regular member is spooled; layer blobs are indexed while
    they are spooled (the manifest naming them may come last).

    ``known(size)``: a layer whose index is known (the cache) that an uncompressed blob of
    ``size`` bytes may be; ``collect``: keep the members read (``LayerBlob.members``)."""

    def __init__(
        self,
        src: Reader,
        spool: Path,
        label: str,
        max_bytes: int = DEFAULT_MAX_LAYER_BYTES,
        known: Callable[[int], KnownLayer | None] | None = None,
        collect: bool = False,
    ) -> None:
        super().__init__()
        self.label = label
        self._max_bytes = max_bytes
        self._known = known
        self._collect = collect
        self._files: dict[str, Path | None] = {}  # None: too large to be a manifest or config
        self._blobs: dict[str, LayerBlob | ImageFormatError] = {}
        reader = TarReader(src)
        try:
            for number, member in enumerate(reader):
                name = member_name(member.name, label)
                if member.typeflag in (b"1", b"2"):
                    self._link(name, member.linkname, member.typeflag == b"2")
                elif member.typeflag in REGULAR_TYPES:
                    spooled = spool / f"member-{number:05d}"
                    self._take(_MemberData(reader), name, spooled, member.size)
        except TarError as exc:
            raise ImageFormatError(f"{label}, {exc.where()}: {exc.message}", HINT) from None

    def _take(self, data: _MemberData, name: str, path: Path, size: int) -> None:
        head = read_head(data, BLOCK)
        kind = sniff(head)
        if kind in ("tar", "gzip", "zstd"):
            known = self._known(size) if self._known is not None and kind == "tar" else None
            seen = [] if self._collect else None
            try:
                self._blobs[name] = ingest(
                    Prefixed(head, data), name, path, None, self._max_bytes, known, seen
                )
            except ImageFormatError as exc:  # raised if the image uses this blob
                self._blobs[name] = exc
            return
        written = len(head)
        with open(path, "wb") as sink:
            sink.write(head)
            while written <= META_LIMIT and (chunk := data.read(CHUNK)):
                sink.write(chunk)
                written += len(chunk)
        if written > META_LIMIT:  # the rest is skipped by the reader
            path.unlink()
            self._files[name] = None
        else:
            self._files[name] = path

    def has(self, name: str) -> bool:
        name = self._target(name)
        return name in self._files or name in self._blobs

    def read(self, name: str) -> bytes:
        name = self._target(name)
        if name not in self._files:
            raise ImageFormatError(f"{self.label}: {name} is missing or not a JSON file", HINT)
        path = self._files[name]
        if path is None:
            raise ImageFormatError(f"{self.label}: {name} is too large", HINT)
        return _read_file(path, self.label, name)

    def layer(self, name: str) -> LayerBlob:
        name = self._target(name)
        blob = self._blobs.get(name)
        if blob is None:
            if name in self._files:
                kind = sniff(self.read(name)[:BLOCK])
                raise ImageFormatError(
                    f"layer {name} is {kind}, not a tar, gzip or zstd stream",
                    "slimmer reads uncompressed, gzip and zstd layers; recompress the image",
                )
            raise ImageFormatError(f"{self.label}: layer {name} is missing", HINT)
        if isinstance(blob, ImageFormatError):
            raise blob
        return blob


class _MemberData:
    """The current member's data of a TarReader, as a stream."""

    def __init__(self, reader: TarReader) -> None:
        self._reader = reader

    def read(self, size: int) -> bytes:
        return self._reader.read_data(size)


class ArchiveStore(_Links):
    """An image archive file (docker-archive or OCI layout tar): headers are scanned first,
    then only the members the image needs are read; uncompressed layers are indexed where
    they are in the archive."""

    def __init__(self, path: Path, spool: Path, max_bytes: int = DEFAULT_MAX_LAYER_BYTES) -> None:
        super().__init__()
        self.label = str(path)
        self._path = path
        self._spool = spool
        self._max_bytes = max_bytes
        self._members: dict[str, tuple[int, int]] = {}
        self._layers: dict[str, LayerBlob] = {}
        with open(path, "rb") as handle:
            reader = TarReader(handle, size=os.fstat(handle.fileno()).st_size)
            try:
                for member in reader:
                    name = member_name(member.name, self.label)
                    if member.typeflag in (b"1", b"2"):
                        self._link(name, member.linkname, member.typeflag == b"2")
                    elif member.typeflag in REGULAR_TYPES:
                        self._members[name] = (member.offset, member.size)
            except TarError as exc:
                message = f"{self.label}, {exc.where()}: {exc.message}"
                raise ImageFormatError(message, HINT) from None

    def has(self, name: str) -> bool:
        return self._target(name) in self._members

    def read(self, name: str) -> bytes:
        offset, size = self._member(name)
        if size > META_LIMIT:
            raise ImageFormatError(f"{self.label}: {name} is too large ({size} bytes)", HINT)
        with Region(self._path, offset, size) as region:
            return region.read()

    def layer(self, name: str) -> LayerBlob:
        name = self._target(name)
        if name not in self._layers:
            offset, size = self._member(name)
            with Region(self._path, offset, size) as region:
                spool = self._spool / f"layer-{len(self._layers):04d}"
                self._layers[name] = ingest(
                    region, name, spool, (self._path, offset), self._max_bytes
                )
        return self._layers[name]

    def _member(self, name: str) -> tuple[int, int]:
        found = self._members.get(self._target(name))
        if found is None:
            raise ImageFormatError(f"{self.label}: {name} is missing", HINT)
        return found


class DirectoryStore:
    """An OCI image layout directory; uncompressed layers are indexed where they are."""

    def __init__(self, root: Path, spool: Path, max_bytes: int = DEFAULT_MAX_LAYER_BYTES) -> None:
        self.label = str(root)
        self._root = Path(os.path.realpath(root))
        self._spool = spool
        self._max_bytes = max_bytes
        self._layers: dict[str, LayerBlob] = {}

    def _file(self, name: str) -> Path | None:
        path = Path(os.path.realpath(self._root / member_name(name, self.label)))
        if self._root not in path.parents or not path.is_file():
            return None
        return path

    def has(self, name: str) -> bool:
        return self._file(name) is not None

    def read(self, name: str) -> bytes:
        path = self._file(name)
        if path is None:
            raise ImageFormatError(f"{self.label}: {name} is missing", HINT)
        return _read_file(path, self.label, name)

    def layer(self, name: str) -> LayerBlob:
        if name not in self._layers:
            path = self._file(name)
            if path is None:
                raise ImageFormatError(f"{self.label}: layer {name} is missing", HINT)
            spool = self._spool / f"layer-{len(self._layers):04d}"
            with open(path, "rb") as handle:
                self._layers[name] = ingest(handle, name, spool, (path, 0), self._max_bytes)
        return self._layers[name]


def _read_file(path: Path, label: str, name: str) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(META_LIMIT + 1)
    if len(data) > META_LIMIT:
        raise ImageFormatError(f"{label}: {name} is too large", HINT)
    return data
