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
    it links to. ``layer`` indexes ``ImageSource.layers``; ``offset`` is where the content starts
    in that (uncompressed) layer tar, ``size`` its length.
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
