"""A tiny in-memory image tree for the ELF tests: the lookup/resolve/listdir/open protocol the
resolver needs, over crafted files or a tar (docker export, dpkg-deb --fsys-tarfile).

Symlinks are followed component by component inside this tree only, '..' after the link is
resolved (like the kernel), absolute targets relative to the tree's root, with a loop limit.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from slimmer.imagefs.model import Entry, EntryType

MAX_LINKS = 40


@dataclass
class Resolution:
    entry: Entry | None
    path: str
    links: list[str] = field(default_factory=list)


def norm(path: str) -> str:
    path = posixpath.normpath("/" + path)
    return "/" + path.lstrip("/")


class MemFs:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {"/": Entry("/", EntryType.DIR, 0o755)}
        self.children: dict[str, set[str]] = {"/": set()}
        self._data: dict[str, bytes] = {}
        self._tars: dict[str, Path] = {}
        self.opened = 0

    # ---- building ---------------------------------------------------------------------------

    def _put(self, entry: Entry) -> None:
        parent = posixpath.dirname(entry.path)
        if parent not in self.entries:
            self.mkdir(parent)
        self.entries[entry.path] = entry
        self.children.setdefault(parent, set()).add(posixpath.basename(entry.path))
        if entry.type is EntryType.DIR:
            self.children.setdefault(entry.path, set())

    def mkdir(self, path: str) -> MemFs:
        path = norm(path)
        if path not in self.entries:
            self._put(Entry(path, EntryType.DIR, 0o755))
        return self

    def file(self, path: str, data: bytes, mode: int = 0o755) -> MemFs:
        path = norm(path)
        self._put(Entry(path, EntryType.FILE, mode, size=len(data)))
        self._data[path] = data
        self._tars.pop(path, None)
        return self

    def symlink(self, path: str, target: str) -> MemFs:
        self._put(Entry(norm(path), EntryType.SYMLINK, 0o777, linkname=target))
        return self

    def hardlink(self, path: str, target: str) -> MemFs:
        self._put(Entry(norm(path), EntryType.HARDLINK, 0o755, linkname=norm(target)))
        return self

    def remove(self, path: str) -> MemFs:
        """Remove a file or symlink (not a directory)."""
        path = norm(path)
        assert self.entries[path].type is not EntryType.DIR
        del self.entries[path]
        self.children[posixpath.dirname(path)].discard(posixpath.basename(path))
        self._data.pop(path, None)
        self._tars.pop(path, None)
        return self

    def copy_host_file(self, path: str, host: str | Path) -> MemFs:
        return self.file(path, Path(host).read_bytes())

    @classmethod
    def from_tar(cls, tar_path: str | Path) -> MemFs:
        return cls().add_tar(tar_path)

    def add_tar(self, tar_path: str | Path) -> MemFs:
        """Add a tar's members (later ones replace earlier ones); contents stay in the tar on
        disk and are read on open()."""
        with tarfile.open(tar_path) as tar:
            for member in tar:
                self._add_member(member, Path(tar_path))
        return self

    def _add_member(self, member: tarfile.TarInfo, tar_path: Path) -> None:
        path = norm(member.name)
        if path == "/":
            return
        if member.isdir():
            self._put(Entry(path, EntryType.DIR, member.mode))
        elif member.issym():
            self._put(Entry(path, EntryType.SYMLINK, 0o777, linkname=member.linkname))
        elif member.islnk():
            self._put(Entry(path, EntryType.HARDLINK, member.mode, linkname=norm(member.linkname)))
        elif member.isfile():
            self._put(Entry(path, EntryType.FILE, member.mode, size=member.size,
                            offset=member.offset_data))
            self._tars[path] = tar_path

    # ---- the protocol ---------------------------------------------------------------------------

    def lookup(self, path: str) -> Entry | None:
        return self.entries.get(norm(path))

    def listdir(self, path: str) -> list[str]:
        return sorted(self.children.get(norm(path), ()))

    def open(self, entry: Entry) -> BinaryIO:
        assert entry.type is EntryType.FILE, entry
        self.opened += 1
        if entry.path in self._data:
            return io.BytesIO(self._data[entry.path])
        with self._tars[entry.path].open("rb") as handle:
            handle.seek(entry.offset)
            return io.BytesIO(handle.read(entry.size))

    def resolve(self, path: str, follow_last: bool = True) -> Resolution:
        links: list[str] = []
        pending = [p for p in path.split("/") if p]
        pending.reverse()
        current = "/"
        hops = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                current = posixpath.dirname(current) or "/"
                continue
            candidate = posixpath.join(current, part)
            entry = self.entries.get(candidate)
            if entry is None:
                return Resolution(None, candidate, links)
            if entry.type is EntryType.SYMLINK and (pending or follow_last):
                hops += 1
                if hops > MAX_LINKS:
                    return Resolution(None, candidate, links)
                links.append(candidate)
                target = [p for p in entry.linkname.split("/") if p]
                pending.extend(reversed(target))
                if entry.linkname.startswith("/"):
                    current = "/"
                continue
            if pending and entry.type is not EntryType.DIR:
                return Resolution(None, candidate, links)
            current = candidate
        return Resolution(self.entries.get(current), current, links)
