"""Apply layers bottom to top the way the engine's overlay mount shows them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from slimmer.imagefs.layer import LayerDiff
from slimmer.imagefs.model import Entry, EntryType
from slimmer.imagefs.tree import Tree


def merge(diffs: Sequence[LayerDiff]) -> Tree:
    """The merged tree: a whiteout removes a path and everything under it, an opaque directory
    hides what lower layers had under it, a directory over a directory merges (the upper one's
    metadata wins), anything else replaces what was there. Entries get their layer index.
    The bottom layer's tree becomes the merged tree (no copy): a diff is merged once."""
    tree, start = _bottom(diffs)
    for index, diff in enumerate(diffs[start:], start):
        apply_layer(tree, diff, index)
    return tree


def apply_layer(tree: Tree, diff: LayerDiff, index: int) -> None:
    """Apply one layer (number ``index``) to a merged ``tree``, as ``merge`` does."""
    if "/" in diff.opaque:
        tree.clear_children("/")
    for path, entry in diff.tree.entries.items():
        if entry is None:
            tree.remove(path)
            continue
        entry = _at_layer(entry, index)
        if path == "/":
            tree.entries["/"] = entry
            continue
        old = tree.entries.get(path)
        if old is not None:
            if old.type is not EntryType.DIR or entry.type is not EntryType.DIR:
                tree.remove(path)
            elif path in diff.opaque:
                tree.clear_children(path)
        tree.put(path, entry)


def _bottom(diffs: Sequence[LayerDiff]) -> tuple[Tree, int]:
    """The tree to merge onto and the first layer still to apply: the bottom layer's own tree,
    taken over (not copied) when no other layer uses the same blob, else an empty tree."""
    if not diffs or any(d is diffs[0] for d in diffs[1:]):
        tree = Tree()
        tree.entries["/"] = Entry("/", EntryType.DIR, 0o755)
        return tree, 0
    tree = diffs[0].tree
    for path in [p for p, e in tree.entries.items() if e is None]:  # whiteouts of nothing
        tree.remove(path)
    for entry in tree.entries.values():
        entry.layer = 0  # type: ignore[union-attr]
    tree.entries.setdefault("/", Entry("/", EntryType.DIR, 0o755))
    return tree, 1


def _at_layer(entry: Entry, index: int) -> Entry:
    if entry.layer < 0:
        entry.layer = index
        return entry
    # the same blob used by two layers of one image: each gets its own entries
    return dataclasses.replace(entry, layer=index, xattrs=dict(entry.xattrs))
