"""Per-image memo of parsed ELF facts, so repeated calls on the same image parse nothing twice."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from slimmer.elf.view import ImageView


@dataclass
class FsCache:
    """Everything derived from one image's bytes: keyed by in-image path, never invalidated
    (an image does not change while it is open)."""

    headers: dict[str, Any] = field(default_factory=dict)
    infos: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


_caches: dict[int, tuple[weakref.ref, FsCache]] = {}


def cache_for(fs: ImageView) -> FsCache:
    """The cache of ``fs``; lives as long as ``fs`` (a fresh one when ``fs`` takes no weakref)."""
    key = id(fs)
    held = _caches.get(key)
    if held is not None and held[0]() is fs:
        return held[1]
    cache = FsCache()
    try:
        ref = weakref.ref(fs, lambda _ref, key=key: _caches.pop(key, None))
    except TypeError:
        return cache
    _caches[key] = (ref, cache)
    return cache
