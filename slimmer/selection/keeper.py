"""The kept set under construction: every path with the reason it is kept.

Paths are resolved inside the image only (through the index), and every symlink passed on the
way is kept too, so a kept path still resolves in the slim image.
"""

from __future__ import annotations

from dataclasses import dataclass

from slimmer.imagefs.model import Entry, EntryType

TRACE = "trace"
ELF = "elf"
RULE = "rule"
INCLUDE = "include"


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str  # trace | elf | rule | include
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class Keeper:
    def __init__(self, fs) -> None:  # fs: slimmer.imagefs ImageFs
        self.fs = fs
        self.kept: dict[str, Reason] = {}

    def add(self, path: str, reason: Reason) -> None:
        """Keep one exact path (no resolution); the first reason given wins."""
        self.kept.setdefault(path, reason)

    def keep(self, path: str, reason: Reason, follow: bool = True) -> Entry | None:
        """Keep what ``path`` names in the image and every symlink on the way; its entry."""
        resolution = self.fs.resolve(path, follow_last=follow)
        for link in resolution.links:
            self.add(link, Reason(reason.kind, f"{reason.detail} (symlink on the way)"))
        if resolution.entry is None:
            return None
        self.add(resolution.path, reason)
        return resolution.entry

    def keep_tree(self, path: str, reason: Reason) -> Entry | None:
        """Keep a path and, when it is a directory, everything under it, with the targets of
        the symlinks found inside (they may point out of the tree)."""
        entry = self.keep(path, reason)
        if entry is None or entry.type is not EntryType.DIR:
            return entry
        for child in self.fs.walk(entry.path):
            self.add(child.path, reason)
            if child.type is EntryType.SYMLINK:
                self.keep(child.path, Reason(reason.kind, f"{reason.detail} (link target)"))
        return entry

    def files(self) -> list[Entry]:
        """The kept regular files (and hardlinks), for the ELF pass."""
        found = []
        for path in self.kept:
            entry = self.fs.lookup(path)
            if entry is not None and entry.type in (EntryType.FILE, EntryType.HARDLINK):
                found.append(entry)
        return found

    def add_parents(self) -> None:
        """Every parent directory of a kept path is kept with its original metadata."""
        for path in list(self.kept):
            parent = path.rsplit("/", 1)[0] or "/"
            while parent not in self.kept:
                self.kept[parent] = Reason(RULE, "parent directory")
                if parent == "/":
                    break
                parent = parent.rsplit("/", 1)[0] or "/"
