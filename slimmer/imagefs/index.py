"""ImageFs: the merged tree of an image, with lookup, listing, an in-image resolver and
bounded views of file contents. Read-only after construction, so safe to share between
threads (``open`` gives each caller its own file handle)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from slimmer.imagefs.layer import LayerDiff
from slimmer.imagefs.model import Entry, EntryType, Platform, Resolution
from slimmer.imagefs.paths import clean, join, parent
from slimmer.imagefs.streams import Region
from slimmer.imagefs.tree import Tree

MAX_SYMLINKS = 40  # as the kernel: ELOOP after 40 symlinks in one resolution
CONTENT_TYPES = (EntryType.FILE, EntryType.HARDLINK)


class ImageFs:
    """The merged filesystem of one image: metadata in memory, contents in the layer tars.

    ``config`` is the image config JSON, ``digest`` its sha256 (the image id), ``platform``
    its os/architecture/variant, ``diff_ids`` the layers' digests. Layer ``i`` is the tar of
    ``layer_sizes[i]`` bytes at ``layer_offsets[i]`` in the file ``layers[i]`` (a copy in the
    work directory, an OCI blob, or the image archive itself); ``Entry.layer`` and
    ``Entry.offset`` point there.

    Iteration and ``walk`` yield entries in tree order: a directory, then its children sorted
    by name, each followed by its own subtree. Hardlinked names share one content: in that
    order the first is a FILE, the others HARDLINKs whose ``linkname`` is that first path.
    """

    def __init__(
        self,
        *,
        config: dict[str, Any],
        digest: str,
        layers: list[Path],
        layer_offsets: list[int],
        layer_sizes: list[int],
        diff_ids: list[str],
        tree: Tree,
        owned: Path | None = None,
        layer_diffs: list[LayerDiff] | None = None,
    ) -> None:
        self.config = config
        self.digest = digest
        self.layers = layers  # the file holding each uncompressed layer tar...
        self.layer_offsets = layer_offsets  # ...where in it the tar starts
        self.layer_sizes = layer_sizes  # ...and its length
        self.diff_ids = diff_ids
        self.platform = Platform(
            os=str(config.get("os") or "linux"),
            architecture=str(config.get("architecture") or ""),
            variant=str(config.get("variant") or ""),
        )
        self._entries: dict[str, Entry] = tree.entries  # type: ignore[assignment]
        self._order, self._children = _order(tree)
        self._owned = owned
        self.layer_diffs = layer_diffs  # each layer's own tree, if open_image(keep_layers=True)

    # ---- lookups ----------------------------------------------------------------------------

    def lookup(self, path: str) -> Entry | None:
        """The entry at exactly ``path`` (lexically cleaned, no symlink followed)."""
        found = self._entries.get(path)
        if found is None and path not in self._entries:
            found = self._entries.get(clean(path))
        return found

    def resolve(self, path: str, follow_last: bool = True) -> Resolution:
        """Walk ``path`` one component at a time, following symlinks inside the image:
        absolute targets start again at the image root, ``..`` stops at the root, and more
        than 40 symlinks give ELOOP. A trailing slash is ignored."""
        links: list[str] = []
        todo = [p for p in reversed(path.split("/")) if p not in ("", ".")]
        current = "/"
        entry = self._entries["/"]
        while todo:
            name = todo.pop()
            if name == "..":
                current = parent(current)
                entry = self._entries[current]
                continue
            candidate = join(current, name)
            found = self._entries.get(candidate)
            if found is None:
                return Resolution(None, candidate, tuple(links), "ENOENT")
            if found.type is EntryType.SYMLINK and (todo or follow_last):
                if len(links) == MAX_SYMLINKS:
                    return Resolution(None, candidate, tuple(links), "ELOOP")
                links.append(candidate)
                target = found.linkname
                if not target:
                    return Resolution(None, candidate, tuple(links), "ENOENT")
                if target.startswith("/"):
                    current, entry = "/", self._entries["/"]
                todo.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
                continue
            if todo and found.type is not EntryType.DIR:
                return Resolution(None, candidate, tuple(links), "ENOTDIR")
            current, entry = candidate, found
        return Resolution(entry, current, tuple(links), None)

    def listdir(self, path: str) -> list[str]:
        """Names in the directory at exactly ``path``, sorted; [] if it is not a directory."""
        children = self._children.get(path)
        if children is None and path not in self._entries:
            children = self._children.get(clean(path))
        return [child.rpartition("/")[2] for child in children or ()]

    def walk(self, path: str = "/") -> Iterator[Entry]:
        """``path``'s entry and everything under it, in tree order (nothing if absent)."""
        start = self.lookup(path)
        if start is None:
            return
        stack = [start.path]
        while stack:
            current = stack.pop()
            yield self._entries[current]
            children = self._children.get(current)
            if children:
                stack.extend(reversed(children))

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    # ---- contents ---------------------------------------------------------------------------

    def open(self, entry: Entry) -> BinaryIO:
        """A seekable, read-only view of a FILE's (or HARDLINK's) content in its layer tar."""
        if entry.type not in CONTENT_TYPES or not 0 <= entry.layer < len(self.layers):
            raise ValueError(f"{entry.path} is a {entry.type.value}, it has no content")
        start = self.layer_offsets[entry.layer] + entry.offset
        region = Region(self.layers[entry.layer], start, entry.size)
        return io.BufferedReader(region, buffer_size=1 << 16)  # type: ignore[return-value]

    def prefetch(self, entries: Iterable[Entry]) -> None:
        """Announce contents about to be read (a no-op: layer files are local; an index
        whose contents come from elsewhere starts fetching them)."""

    # ---- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Delete the uncompressed layer copies this index made (sources are kept)."""
        if self._owned is not None:
            shutil.rmtree(self._owned, ignore_errors=True)
            self._owned = None

    def __enter__(self) -> ImageFs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _order(tree: Tree) -> tuple[list[Entry], dict[str, list[str]]]:
    """Tree order of all entries, the sorted child paths of each directory, and hardlink
    groups normalised (first name in order holds the content)."""
    entries = tree.entries
    order: list[Entry] = []
    children_of: dict[str, list[str]] = {}
    first: dict[tuple[int, int], Entry] = {}
    stack = ["/"]
    while stack:
        path = stack.pop()
        entry = entries[path]
        assert entry is not None
        order.append(entry)
        if entry.type in CONTENT_TYPES:
            key = (entry.layer, entry.offset)
            head = first.get(key)
            if head is None:
                first[key] = entry
                entry.type, entry.linkname = EntryType.FILE, ""
            else:
                entry.type, entry.linkname = EntryType.HARDLINK, head.path
        children = tree.children.pop(path, None)
        if children:
            ordered = sorted(children)
            children_of[entry.path] = ordered
            stack.extend(reversed(ordered))
    tree.children.clear()
    return order, children_of
