"""Walk an image layer by layer: what each layer adds, changes and deletes (whiteouts, opaque
directories), dive's efficiency sightings, secrets in candidate files of every layer (also
those deleted later) and the files that duplicate candidates need. Metadata only; contents are
read as streams, and only for candidate files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slimmer.imagefs import Entry, EntryType, ImageFs, read_layer
from slimmer.imagefs.layer import LayerDiff
from slimmer.imagefs.merge import apply_layer
from slimmer.imagefs.tree import Tree
from slimmer.xray.efficiency import Efficiency
from slimmer.xray.secrets import SCAN_LIMIT, candidate_rule, scan_stream

MAX_LISTED_CHANGES = 5000  # per layer and kind in the report; counts are always complete


@dataclass
class LayerChanges:
    index: int
    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    opaque: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"added": 0, "changed": 0, "deleted": 0, "entries": 0}
    )
    content_bytes: int = 0  # sum of the tar sizes of its entries (dive's layer size)

    def note(self, kind: str, item: dict[str, Any], count: int = 1) -> None:
        self.counts[kind] += count
        listed = getattr(self, kind)
        if len(listed) < MAX_LISTED_CHANGES:
            listed.append(item)


@dataclass
class LayerFile:
    """A regular file of some layer (for duplicates): where its content is."""

    path: str
    layer: int
    offset: int
    size: int


@dataclass
class WalkResult:
    layers: list[LayerChanges]
    efficiency: Efficiency
    secret_files: list[dict[str, Any]]
    files: list[LayerFile]


def walk_layers(fs: ImageFs, min_duplicate_size: int) -> WalkResult:
    stacked = Tree()
    stacked.entries["/"] = Entry("/", EntryType.DIR, 0o755)
    efficiency = Efficiency()
    layers: list[LayerChanges] = []
    secrets: list[dict[str, Any]] = []
    files: list[LayerFile] = []
    for index in range(len(fs.layers)):
        diff = read_layer(fs, index)
        changes = LayerChanges(index)
        _sight_leaves(diff, stacked, efficiency, index)
        _classify(diff, stacked, changes)
        for entry in diff.tree.entries.values():
            if entry is None or entry.type is not EntryType.FILE:
                continue
            if entry.size >= min_duplicate_size:
                files.append(LayerFile(entry.path, index, entry.offset, entry.size))
            rule = candidate_rule(entry.path)
            if rule is not None:
                secrets.append(_scan_file(fs, entry, rule))
        efficiency.layer_bytes.append(changes.content_bytes)
        apply_layer(stacked, diff, index)
        layers.append(changes)
    return WalkResult(layers, efficiency, secrets, files)


def _sight_leaves(diff: LayerDiff, stacked: Tree, efficiency: Efficiency, index: int) -> None:
    children = diff.tree.children
    for path, entry in diff.tree.entries.items():
        if path == "/" or children.get(path):
            continue
        if entry is None:
            below = stacked.entries.get(path)
            size = _subtree_bytes(stacked, path) if below and below.type is EntryType.DIR else 0
        else:
            size = entry.size if entry.type is EntryType.FILE else 0
        efficiency.see(path, size, index)


def _classify(diff: LayerDiff, stacked: Tree, changes: LayerChanges) -> None:
    for directory in sorted(diff.opaque):
        if directory in stacked.entries:
            count, size = _subtree(stacked, directory)
            count -= 1  # the directory itself stays
            if count:
                changes.note(
                    "deleted",
                    {"path": directory, "opaque": True, "entries": count, "bytes": size},
                    0,
                )
                changes.opaque.append({"path": directory, "entries": count, "bytes": size})
    for path, entry in diff.tree.entries.items():
        changes.counts["entries"] += 1
        if path == "/":
            continue
        old = stacked.entries.get(path)
        if entry is None:
            if old is not None:
                count, size = _subtree(stacked, path)
                changes.note(
                    "deleted",
                    {"path": path, "type": old.type.value, "entries": count, "bytes": size},
                )
            continue
        if entry.type is EntryType.FILE:
            changes.content_bytes += entry.size
        item = {"path": path, "type": entry.type.value, "size": entry.size}
        if old is None:
            changes.note("added", item)
        elif not (old.type is entry.type is EntryType.DIR and _same_meta(old, entry)):
            changes.note("changed", item)


def _same_meta(a: Entry, b: Entry) -> bool:
    return (a.mode, a.uid, a.gid) == (b.mode, b.uid, b.gid)


def _subtree(tree: Tree, path: str) -> tuple[int, int]:
    """Entries at and under ``path`` and the bytes of their regular files."""
    count = size = 0
    stack = [path]
    while stack:
        current = stack.pop()
        entry = tree.entries.get(current)
        if entry is not None:
            count += 1
            if entry.type is EntryType.FILE:
                size += entry.size
        stack.extend(tree.children.get(current, ()))
    return count, size


def _subtree_bytes(tree: Tree, path: str) -> int:
    return _subtree(tree, path)[1]


def _scan_file(fs: ImageFs, entry: Entry, rule: str) -> dict[str, Any]:
    found: dict[str, Any] = {
        "path": entry.path,
        "layer": entry.layer,
        "rule": rule,
        "size": entry.size,
        "offset": entry.offset,
        "hits": [],
    }
    if entry.size > SCAN_LIMIT:
        found["note"] = f"larger than {SCAN_LIMIT} bytes: not read"
        return found
    with fs.open(entry) as stream:
        found["hits"] = [
            {"rule": h.rule, "masked": h.masked, "line": h.line} for h in scan_stream(stream)
        ]
    return found
