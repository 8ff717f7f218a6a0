"""Files of two merged trees compared: added, removed, changed (type, size, mode, owner, link
target, content digest). Contents are hashed, as streams, only when everything else is equal
and the two contents are not the same region of the same layer."""

from __future__ import annotations

import hashlib
from typing import Any

from slimmer.imagefs import Entry, EntryType, ImageFs

HASH_CHUNK = 1 << 20
REGULAR = (EntryType.FILE, EntryType.HARDLINK)


def kind(entry: Entry) -> str:
    return "file" if entry.type in REGULAR else entry.type.value


def diff_files(a: ImageFs, b: ImageFs) -> dict[str, Any]:
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    unchanged = 0
    hashed = 0
    for old in a:
        new = b.lookup(old.path)
        if new is None:
            removed.append(_item(old))
            continue
        differences, read = _compare(a, old, b, new)
        hashed += read
        if differences:
            changed.append({"path": old.path, "type": kind(new), "changes": differences})
        else:
            unchanged += 1
    added = [_item(new) for new in b if a.lookup(new.path) is None]
    return {
        "added": added,
        "removed": removed,
        "changed": changed,
        "counts": {
            "added": len(added),
            "removed": len(removed),
            "changed": len(changed),
            "unchanged": unchanged,
        },
        "bytes": {
            "added": _bytes(added),
            "removed": _bytes(removed),
            "a": _total(a),
            "b": _total(b),
        },
        "hashed_bytes": hashed,
    }


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {"path": entry.path, "type": kind(entry), "size": _size(entry)}
    if entry.type is EntryType.SYMLINK:
        item["target"] = entry.linkname
    return item


def _size(entry: Entry) -> int:
    return entry.size if entry.type is EntryType.FILE else 0  # a hardlink shares its content


def _bytes(items: list[dict[str, Any]]) -> int:
    return sum(i["size"] for i in items)


def _total(fs: ImageFs) -> int:
    return sum(e.size for e in fs if e.type is EntryType.FILE)


def _compare(a: ImageFs, old: Entry, b: ImageFs, new: Entry) -> tuple[dict[str, list[Any]], int]:
    """The fields that differ as field -> [a, b] (content as digests), and the bytes read."""
    changes: dict[str, list[Any]] = {}
    if kind(old) != kind(new):
        changes["type"] = [kind(old), kind(new)]
    for field in ("mode", "uid", "gid"):
        if getattr(old, field) != getattr(new, field):
            value_a, value_b = getattr(old, field), getattr(new, field)
            if field == "mode":
                value_a, value_b = f"{value_a:04o}", f"{value_b:04o}"
            changes[field] = [value_a, value_b]
    if old.type is new.type is EntryType.SYMLINK and old.linkname != new.linkname:
        changes["target"] = [old.linkname, new.linkname]
    devices = [f"{e.devmajor}:{e.devminor}" for e in (old, new)]
    if old.type in (EntryType.CHAR, EntryType.BLOCK) and devices[0] != devices[1]:
        changes["device"] = devices
    if old.xattrs != new.xattrs:
        changes["xattrs"] = [sorted(old.xattrs), sorted(new.xattrs)]
    if old.type not in REGULAR or new.type not in REGULAR:
        return changes, 0
    if old.size != new.size:
        changes["size"] = [old.size, new.size]
        return changes, 0
    if _same_region(a, old, b, new):
        return changes, 0
    digest_a, digest_b = content_digest(a, old), content_digest(b, new)
    if digest_a != digest_b:
        changes["content"] = [digest_a, digest_b]
    return changes, 2 * old.size


def _same_region(a: ImageFs, old: Entry, b: ImageFs, new: Entry) -> bool:
    return a.diff_ids[old.layer] == b.diff_ids[new.layer] and old.offset == new.offset


def content_digest(fs: ImageFs, entry: Entry) -> str:
    digest = hashlib.sha256()
    with fs.open(entry) as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
