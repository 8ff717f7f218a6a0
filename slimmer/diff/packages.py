"""Packages of image A judged by what image B still has of their files: removed (none of
their files left), kept (all), partially kept (some); plus packages only B lists and version
changes. File lists come from the shared inventory (``slimmer.inventory``)."""

from __future__ import annotations

from typing import Any

from slimmer.imagefs import EntryType, ImageFs


def present(fs: ImageFs, path: str) -> bool:
    """Whether ``path`` exists in the image, following directory symlinks (merged /usr) but
    not a final symlink."""
    return fs.resolve(path, follow_last=False).entry is not None


def _owned_files(fs: ImageFs, paths: tuple[str, ...]) -> list[str]:
    """The package's paths that exist in ``fs`` and are not directories (directories are
    shared by many packages and say nothing about this one)."""
    found = []
    for path in paths:
        entry = fs.resolve(path, follow_last=False).entry
        if entry is not None and entry.type is not EntryType.DIR:
            found.append(path)
    return found


def diff_packages(a: ImageFs, inventory_a: Any, b: ImageFs, inventory_b: Any) -> dict[str, Any]:
    removed, kept, partial, no_files = [], [], [], []
    listed_b = {(p.ecosystem, p.name, p.arch): p for p in inventory_b.packages}
    for package in inventory_a.packages:
        item = {"ecosystem": package.ecosystem, "name": package.name, "version": package.version}
        files = _owned_files(a, package.files)
        if not files:
            item["in_b"] = (package.ecosystem, package.name, package.arch) in listed_b
            no_files.append(item)
            continue
        gone = [f for f in files if not present(b, f)]
        item.update(files=len(files), files_left=len(files) - len(gone))
        if not gone:
            kept.append(item)
        elif len(gone) == len(files):
            removed.append(item)
        else:
            item["missing"] = gone[:50]
            partial.append(item)
    listed_a = {(p.ecosystem, p.name, p.arch): p for p in inventory_a.packages}
    added = [
        {"ecosystem": p.ecosystem, "name": p.name, "version": p.version}
        for key, p in sorted(listed_b.items())
        if key not in listed_a
    ]
    versions = [
        {"ecosystem": key[0], "name": key[1], "a": listed_a[key].version, "b": p.version}
        for key, p in sorted(listed_b.items())
        if key in listed_a and listed_a[key].version != p.version
    ]
    return {
        "removed": removed,
        "kept": kept,
        "partially_kept": partial,
        "without_files": no_files,
        "added": added,
        "version_changed": versions,
        "counts": {
            "a": len(inventory_a.packages),
            "b": len(inventory_b.packages),
            "removed": len(removed),
            "kept": len(kept),
            "partially_kept": len(partial),
        },
    }
