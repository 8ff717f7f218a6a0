"""Bounded reads of image files and in-image path canonicalisation for the inventory readers.

Images are untrusted: every read is capped, a file that is too big, not a regular file or
missing is skipped with a warning, and paths are resolved by the image's own resolver (never on
the host).
"""

from __future__ import annotations

import posixpath

from slimmer.imagefs.model import Entry, EntryType

CONTENT_TYPES = (EntryType.FILE, EntryType.HARDLINK)
MANIFEST_LIMIT = 1 << 20  # a package manifest, a list, a copyright file
DATABASE_LIMIT = 256 << 20  # a whole package database (dpkg status, apk installed, rpmdb)


class Reader:
    """Reads image files for one inventory run and collects its warnings."""

    def __init__(self, fs) -> None:  # fs: slimmer.imagefs.ImageFs (or anything alike)
        self.fs = fs
        self.warnings: list[str] = []
        self._parents: dict[str, str] = {}

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def file(self, path: str) -> Entry | None:
        """The regular file ``path`` names (symlinks followed inside the image), or None."""
        entry = self.fs.resolve(path).entry
        if entry is None or entry.type not in CONTENT_TYPES:
            return None
        return entry

    def read(self, path: str, limit: int = MANIFEST_LIMIT, quiet: bool = False) -> bytes | None:
        """The content of the file at ``path``, or None (missing, not a file, too big)."""
        entry = self.file(path)
        if entry is None:
            return None
        return self.read_entry(entry, limit, path, quiet)

    def read_entry(
        self, entry: Entry, limit: int = MANIFEST_LIMIT, path: str = "", quiet: bool = False
    ) -> bytes | None:
        if entry.size > limit:
            if not quiet:
                name = path or entry.path
                self.warn(f"{name}: {entry.size} bytes, over the {limit} read; skipped")
            return None
        with self.fs.open(entry) as handle:
            return handle.read(limit)

    def text(self, path: str, limit: int = MANIFEST_LIMIT, quiet: bool = False) -> str | None:
        data = self.read(path, limit, quiet)
        return None if data is None else data.decode("utf-8", errors="replace")

    def canonical(self, path: str) -> str:
        """``path`` with its parent directory resolved in the image: the path under which the
        image actually holds the entry ("/lib/x.so" -> "/usr/lib/x.so" when /lib -> usr/lib).
        Paths whose parent does not resolve stay as given."""
        path = posixpath.normpath("/" + path.lstrip("/")) if path else "/"
        if path == "/":
            return path
        head, _, name = path.rpartition("/")
        head = head or "/"
        resolved = self._parents.get(head)
        if resolved is None:
            resolution = self.fs.resolve(head)
            resolved = resolution.path if resolution.entry is not None else head
            self._parents[head] = resolved
        return posixpath.join(resolved, name)
