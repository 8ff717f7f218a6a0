"""The biggest files and directories of the final tree, and duplicate contents across layers
(grouped by size first; only files that share a size are hashed, as streams)."""

from __future__ import annotations

import hashlib
import heapq
from collections import defaultdict
from typing import Any

from slimmer.imagefs import Entry, EntryType, ImageFs
from slimmer.imagefs.paths import parent
from slimmer.xray.layers import LayerFile

HASH_CHUNK = 1 << 20
HEAD_BYTES = 1 << 16


def biggest(fs: ImageFs, limit: int) -> dict[str, list[dict[str, Any]]]:
    files: list[tuple[int, str, int]] = []
    directories: dict[str, int] = defaultdict(int)
    for entry in fs:
        if entry.type is not EntryType.FILE:
            continue  # a hardlink's content is counted once, at its first name
        if len(files) < limit:
            heapq.heappush(files, (entry.size, entry.path, entry.layer))
        elif entry.size > files[0][0]:
            heapq.heapreplace(files, (entry.size, entry.path, entry.layer))
        path = entry.path
        while path != "/":
            path = parent(path)
            directories[path] += entry.size
    top_dirs = heapq.nlargest(limit, directories.items(), key=lambda item: (item[1], item[0]))
    return {
        "files": [
            {"path": p, "bytes": s, "layer": layer}
            for s, p, layer in sorted(files, key=lambda f: (-f[0], f[1]))
        ],
        "directories": [{"path": p, "bytes": s} for p, s in top_dirs],
    }


def duplicates(fs: ImageFs, files: list[LayerFile], limit: int) -> dict[str, Any]:
    """Groups of two or more files (any layer, also replaced or deleted ones) with the same
    content, most wasted bytes first."""
    by_size: dict[int, list[LayerFile]] = defaultdict(list)
    for item in files:
        by_size[item.size].append(item)
    groups: list[dict[str, Any]] = []
    hashed = 0
    for size, same_size in by_size.items():
        if len(same_size) < 2:
            continue
        for head_group in _split(fs, same_size, HEAD_BYTES).values():
            if len(head_group) < 2:
                continue
            full = _split(fs, head_group, None) if size > HEAD_BYTES else {"": head_group}
            hashed += sum(f.size for f in head_group)
            for digest, group in full.items():
                if len(group) > 1:
                    groups.append(_group(fs, digest, size, group))
    groups.sort(key=lambda g: (-g["wasted_bytes"], g["copies"][0]["path"]))
    return {
        "groups": groups[:limit],
        "groups_total": len(groups),
        "wasted_bytes": sum(g["wasted_bytes"] for g in groups),
        "hashed_bytes": hashed,
    }


def _split(fs: ImageFs, files: list[LayerFile], limit: int | None) -> dict[str, list[LayerFile]]:
    split: dict[str, list[LayerFile]] = defaultdict(list)
    for item in files:
        split[_digest(fs, item, limit)].append(item)
    return split


def _digest(fs: ImageFs, item: LayerFile, limit: int | None) -> str:
    entry = Entry(
        item.path, EntryType.FILE, 0, size=item.size, layer=item.layer, offset=item.offset
    )
    digest = hashlib.sha256()
    left = item.size if limit is None else min(limit, item.size)
    with fs.open(entry) as stream:
        while left > 0:
            chunk = stream.read(min(HASH_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return "sha256:" + digest.hexdigest()


def _group(fs: ImageFs, digest: str, size: int, group: list[LayerFile]) -> dict[str, Any]:
    if not digest:
        digest = _digest(fs, group[0], None)
    copies = sorted(
        ({"path": f.path, "layer": f.layer} for f in group), key=lambda c: (c["layer"], c["path"])
    )
    return {
        "digest": digest,
        "bytes": size,
        "copies": copies,
        "wasted_bytes": size * (len(group) - 1),
    }
