"""A path -> entry map with a child index, for one layer's own tree and for the merged tree."""

from __future__ import annotations

from slimmer.imagefs.model import Entry
from slimmer.imagefs.paths import parent


class Tree:
    """``entries`` maps absolute paths to entries; in a layer's tree a value of None is a
    whiteout. ``children`` maps a directory to the paths directly under it.

    A path is held as one string object wherever it appears (key, entry, child set), so a
    deep tree costs the length of each path once, not once per reference."""

    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.entries: dict[str, Entry | None] = {}
        self.children: dict[str, set[str]] = {}

    def put(self, path: str, entry: Entry | None) -> None:
        """Set ``path`` (its parent must already be present)."""
        if path not in self.entries and path != "/":
            above = parent(path)
            siblings = self.children.get(above)
            if siblings is None:
                siblings = self.children[self._same(above)] = set()
            siblings.add(path)
        self.entries[path] = entry

    def _same(self, path: str) -> str:
        """The string object the tree already holds for ``path`` (its entry's), if any."""
        entry = self.entries.get(path)
        return entry.path if entry is not None and entry.path == path else path

    def remove(self, path: str) -> None:
        """Remove ``path`` and everything under it (nothing when absent)."""
        if path not in self.entries:
            return
        self.clear_children(path)
        del self.entries[path]
        siblings = self.children.get(parent(path))
        if siblings is not None:
            siblings.discard(path)

    def clear_children(self, path: str) -> None:
        """Remove everything under ``path``, keeping ``path`` itself."""
        stack = list(self.children.pop(path, ()))
        while stack:
            child = stack.pop()
            self.entries.pop(child, None)
            stack.extend(self.children.pop(child, ()))
