"""What the ELF resolver needs of an image: a read-only, in-image view of its merged tree.

``slimmer.imagefs.ImageFs`` satisfies this protocol; tests use a small in-memory one. Every path
is resolved by the view inside the image, never on the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO, Protocol

from slimmer.imagefs.model import Entry, EntryType

MAX_HARDLINK_HOPS = 8


class Resolution(Protocol):
    """The outcome of resolving a path: the final entry (None when missing), its path, and
    every symlink passed on the way, in order."""

    @property
    def entry(self) -> Entry | None: ...

    @property
    def path(self) -> str: ...

    @property
    def links(self) -> Sequence[str]: ...


class ImageView(Protocol):
    def lookup(self, path: str) -> Entry | None: ...

    def resolve(self, path: str, follow_last: bool = True) -> Resolution: ...

    def listdir(self, path: str) -> list[str]: ...

    def open(self, entry: Entry) -> BinaryIO: ...


def content_entry(fs: ImageView, entry: Entry) -> Entry | None:
    """The FILE entry holding ``entry``'s bytes (a hardlink's target), or None."""
    for _ in range(MAX_HARDLINK_HOPS):
        if entry.type is EntryType.FILE:
            return entry
        if entry.type is not EntryType.HARDLINK:
            return None
        target = fs.lookup(entry.linkname)
        if target is None:
            return None
        entry = target
    return None


def read_bytes(fs: ImageView, path: str, limit: int) -> bytes | None:
    """A file's first ``limit`` bytes (symlinks followed in the image), or None when absent."""
    found = fs.resolve(path).entry
    data_entry = content_entry(fs, found) if found is not None else None
    if data_entry is None:
        return None
    with fs.open(data_entry) as stream:
        return stream.read(limit)


def read_text(fs: ImageView, path: str, limit: int = 1 << 20) -> str | None:
    """A small text file of the image, decoded like tar names (UTF-8, bytes kept), or None."""
    data = read_bytes(fs, path, limit)
    return None if data is None else data.decode("utf-8", "surrogateescape")
