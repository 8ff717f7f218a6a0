"""The merged-tree data model shared by the index, the selection and the rebuild."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class EntryType(enum.Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"


@dataclass(slots=True)
class Entry:
    """One path of the merged image tree: metadata only, contents stay in the layer blob.

    ``path`` is normalised and absolute ("/usr/bin/env"; the root is "/"). ``linkname`` is the
    symlink target exactly as stored, or for a hardlink the normalised absolute path of the entry
    it links to. ``layer`` indexes ``ImageFs.layers``; ``offset`` is where the content starts
    in that layer's uncompressed tar (which starts at ``ImageFs.layer_offsets[layer]`` in its
    file), ``size`` its length; a HARDLINK has the layer, offset and size of the content it
    shares.
    """

    path: str
    type: EntryType
    mode: int  # permission bits including setuid/setgid/sticky (mode & 0o7777)
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""
    size: int = 0
    mtime: float = 0.0
    linkname: str = ""
    xattrs: dict[str, bytes] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0
    layer: int = -1
    offset: int = -1


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of resolving a path inside the image, following symlinks like the kernel.

    ``entry`` is the final entry, or None when the walk failed; ``error`` then says why:
    "ENOENT" (a component is missing), "ENOTDIR" (a component is not a directory) or "ELOOP"
    (more than 40 symlinks). ``path`` is the resolved path, or on failure the path where the walk
    stopped (the missing or non-directory component, or the symlink over the limit). ``links``
    lists every symlink passed, in order, also when the walk failed.
    """

    entry: Entry | None
    path: str
    links: tuple[str, ...] = ()
    error: str | None = None
