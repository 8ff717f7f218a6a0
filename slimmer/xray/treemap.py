"""The final tree as nested nodes for the HTML treemap: name, bytes, the layer that brought
most of its bytes, children. Small nodes are folded into one "(N smaller)" node per directory,
so the page stays a few MB whatever the image."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from slimmer.imagefs import EntryType, ImageFs
from slimmer.imagefs.paths import join, parent

MAX_DEPTH = 48  # deeper directories are drawn as one box (and recursion stays bounded)


def tree_nodes(fs: ImageFs, max_nodes: int) -> dict[str, Any]:
    sizes: dict[str, int] = defaultdict(int)
    layer_bytes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for entry in fs:
        if entry.type is not EntryType.FILE:
            continue
        path = entry.path
        sizes[path] = entry.size
        layer_bytes[path][entry.layer] += entry.size
        while path != "/":
            path = parent(path)
            sizes[path] += entry.size
            layer_bytes[path][entry.layer] += entry.size
    total = sizes.get("/", 0)
    threshold = total / max_nodes if total else 1

    def layer_of(path: str) -> int:
        found = layer_bytes.get(path)
        return max(found.items(), key=lambda item: (item[1], -item[0]))[0] if found else -1

    def node(path: str, name: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {"n": name, "s": sizes.get(path, 0), "l": layer_of(path)}
        names = fs.listdir(path)
        if not names or depth >= MAX_DEPTH:
            return out
        children, folded, folded_bytes = [], 0, 0
        for child in names:
            child_path = join(path, child)
            size = sizes.get(child_path, 0)
            if size >= threshold:
                children.append(node(child_path, child, depth + 1))
            elif size:
                folded += 1
                folded_bytes += size
        if folded:
            children.append({"n": f"({folded} smaller)", "s": folded_bytes, "l": -1})
        children.sort(key=lambda c: -c["s"])
        out["c"] = children
        return out

    return node("/", "/", 0)
