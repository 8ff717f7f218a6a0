"""Read the sensor's walk of a fresh container's tree (format: sensors/WALK.md) into a Tree.

The walk comes from inside a container of an untrusted image: every line is parsed with bounds
(line length, entry count, path length, field ranges) and checked like a tar header; anything
malformed raises ``WalkError`` and the build reads the image's layers instead.

What the walk cannot know is kept apart (``Walked.hidden``, ``Walked.uncertain``), decided by
the inode change times: the engine unpacked the image's layers before the container was
created, so an entry changed at or after that moment (`touched_after_ns`) was changed by the
engine for this container, not taken from a layer:

- engine-provided paths (``engineview.engine_provided``) are left out, as in a build's tree
  read from the layers;
- a mount point (a VOLUME, ...) and an entry the engine changed are *hidden*: not in the tree,
  their existence and content unknown; the directories /, /etc (the engine's init layer writes
  into them) are kept with the metadata their copy-up preserved, their times fixed by the
  rebuild (``engineview.output_entry``), /etc only when an entry of the image is under it;
- a directory whose modification and change times are equal to the nanosecond was made by the
  engine for a layer that named a file in it but not the directory itself (an implied parent):
  the layers' reader gives it mode 0755, root, time 0, and so does this one; any other such
  directory is *uncertain* (metadata unknown).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from slimmer.imagefs.engineview import MASKED_DIRS, engine_provided, mtime_from_ns
from slimmer.imagefs.layer import MAX_DEVICE, MAX_ID, PATH_MAX, XATTR_NAME_MAX, XATTR_SIZE_MAX
from slimmer.imagefs.model import Entry, EntryType
from slimmer.imagefs.tree import Tree

MAGIC = b"slimmer-walk"
VERSION = 1
MAX_LINE = 4 * (PATH_MAX + XATTR_SIZE_MAX) + 512  # escaped fields are at most 4x their bytes
MAX_ENTRIES = 8_000_000
NAME_MAX = 255
_TYPES = {
    b"f": EntryType.FILE,
    b"d": EntryType.DIR,
    b"l": EntryType.SYMLINK,
    b"c": EntryType.CHAR,
    b"b": EntryType.BLOCK,
    b"p": EntryType.FIFO,
}
_IMPLIED_DIR = (0o755, 0, 0)


class WalkError(Exception):
    """The walk is malformed, truncated or over a limit."""


@dataclass(frozen=True)
class Content:
    """Where a content is in the container: the first name of its inode, the inode, the size."""

    path: str
    inode: int
    size: int


@dataclass
class Walked:
    tree: Tree
    contents: list[Content] = field(default_factory=list)  # Entry.offset indexes this
    hidden: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)  # any: the walk cannot stand for the image


def unescape(field_bytes: bytes) -> bytes:
    """A walk field (REPORT.md's escaping: ``\\xHH`` for a byte, ``\\-`` for empty) as bytes."""
    if b"\\" not in field_bytes:
        return field_bytes
    if field_bytes == b"\\-":
        return b""
    out = bytearray()
    pos = 0
    while True:
        found = field_bytes.find(b"\\", pos)
        if found < 0:
            out += field_bytes[pos:]
            return bytes(out)
        code = field_bytes[found + 1 : found + 4]
        if len(code) != 3 or code[:1] != b"x" or not _is_hex(code[1:]):
            raise WalkError("malformed escape in a walk field")
        out += field_bytes[pos:found]
        out.append(int(code[1:], 16))
        pos = found + 4


def _is_hex(pair: bytes) -> bool:
    return all(48 <= c <= 57 or 97 <= c <= 102 for c in pair)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _number(raw: bytes, limit: int, signed: bool = False) -> int:
    text = raw[1:] if signed and raw[:1] == b"-" else raw
    if not text.isdigit() or len(text) > 20:
        raise WalkError(f"bad number {raw[:24]!r} in the walk")
    value = int(raw)
    if abs(value) > limit:
        raise WalkError(f"number {value} out of range in the walk")
    return value


class _Builder:
    def __init__(self, touched_after_ns: int) -> None:
        self.touched_after_ns = touched_after_ns
        self.walked = Walked(Tree())
        self.tree = self.walked.tree
        self.current: Entry | None = None  # the entry that l and x lines belong to
        self.inodes: dict[tuple[int, int], int] = {}
        self.count = 0
        self.mounts_next = False

    def entry(self, f: list[bytes]) -> None:
        if len(f) != 16 or f[1] not in _TYPES:
            raise WalkError("malformed entry line in the walk")
        self.count += 1
        if self.count > MAX_ENTRIES:
            raise WalkError(f"more than {MAX_ENTRIES} entries")
        path = self._path(f[2])
        kind = _TYPES[f[1]]
        mode, uid, gid = _number(f[3], 0o7777), _number(f[4], MAX_ID), _number(f[5], MAX_ID)
        size = _number(f[6], 1 << 62)
        m_sec, m_ns = _number(f[7], 1 << 62, True), _number(f[8], 999_999_999)
        c_sec, c_ns = _number(f[9], 1 << 62, True), _number(f[10], 999_999_999)
        inode, links = _number(f[11], 1 << 64), _number(f[12], 1 << 32)
        major, minor = _number(f[13], 1 << 32), _number(f[14], 1 << 32)
        device = _number(f[15], 1 << 64)
        self.current = None
        mtime_ns, ctime_ns = m_sec * 1_000_000_000 + m_ns, c_sec * 1_000_000_000 + c_ns
        if self._skipped(path, kind, ctime_ns):
            return
        if kind in (EntryType.CHAR, EntryType.BLOCK) and max(major, minor) > MAX_DEVICE:
            self.walked.problems.append(f"{path}: device numbers beyond a tar header's")
        entry = Entry(
            path=path,
            type=kind,
            mode=mode,
            uid=uid,
            gid=gid,
            size=size if kind is EntryType.FILE else 0,
            mtime=mtime_from_ns(mtime_ns),
            devmajor=major if kind in (EntryType.CHAR, EntryType.BLOCK) else 0,
            devminor=minor if kind in (EntryType.CHAR, EntryType.BLOCK) else 0,
        )
        if kind is EntryType.FILE:
            self._content(entry, (device, inode), links)
        if kind is EntryType.DIR and mtime_ns == ctime_ns and path not in MASKED_DIRS:
            self._implied(entry)
        self.tree.put(path, entry)
        self.current = entry

    def _path(self, raw: bytes) -> str:
        value = unescape(raw)
        if len(value) > PATH_MAX or b"\0" in value:
            raise WalkError("a path in the walk is too long or holds a NUL byte")
        path = _text(value)
        if path != "/" and (
            not path.startswith("/")
            or posixpath.normpath(path) != path
            or path.startswith("//")
            or len(posixpath.basename(value)) > NAME_MAX
        ):
            raise WalkError(f"path {path[:200]!r} in the walk is not a clean absolute path")
        if path in self.tree.entries or (path == "/") != (self.count == 1):
            raise WalkError(f"path {path[:200]!r} in the walk twice or out of order")
        if path != "/":
            above = self.tree.entries.get(posixpath.dirname(path))
            if above is None or above.type is not EntryType.DIR:
                above_hidden = self._hidden_above(path)
                if not above_hidden:
                    raise WalkError(f"{path[:200]!r} comes before its directory in the walk")
        return path

    def _hidden_above(self, path: str) -> bool:
        while path != "/":
            path = posixpath.dirname(path)
            if path in self.walked.hidden or engine_provided(path):
                return True
        return False

    def _skipped(self, path: str, kind: EntryType, ctime_ns: int) -> bool:
        """Engine-provided, under a hidden path, or changed by the engine (hidden)."""
        if engine_provided(path) or (path != "/" and self._hidden_above(path)):
            return True
        if ctime_ns >= self.touched_after_ns and path not in MASKED_DIRS:
            if kind is EntryType.DIR:
                self.walked.uncertain.add(path)
                return False
            self.walked.hidden.add(path)
            return True
        return False

    def _implied(self, entry: Entry) -> None:
        """A directory the engine made for a layer without naming it (module doc)."""
        if (entry.mode, entry.uid, entry.gid) == _IMPLIED_DIR:
            entry.mtime = 0.0
        else:
            self.walked.uncertain.add(entry.path)

    def _content(self, entry: Entry, inode: tuple[int, int], links: int) -> None:
        """Names of one inode share one content id (``Entry.offset``), in layer 0."""
        entry.layer = 0
        known = self.inodes.get(inode) if links > 1 else None
        if known is not None:
            entry.offset = known
            entry.size = self.walked.contents[known].size
            return
        entry.offset = len(self.walked.contents)
        self.walked.contents.append(Content(entry.path, inode[1], entry.size))
        if links > 1:
            self.inodes[inode] = entry.offset

    def link(self, f: list[bytes]) -> None:
        if len(f) != 2:
            raise WalkError("malformed link line in the walk")
        if self.current is None:
            return  # the link of a skipped entry
        if self.current.type is not EntryType.SYMLINK or self.current.linkname:
            raise WalkError("a link target without its symlink in the walk")
        target = unescape(f[1])
        if not target or len(target) > PATH_MAX or b"\0" in target:
            raise WalkError(f"bad symlink target at {self.current.path[:200]!r}")
        self.current.linkname = _text(target)

    def xattr(self, f: list[bytes]) -> None:
        if len(f) != 3:
            raise WalkError("malformed attribute line in the walk")
        if self.current is None:
            return
        name, value = unescape(f[1]), unescape(f[2])
        if not name or b"\0" in name or b"=" in name or len(name) > XATTR_NAME_MAX:
            raise WalkError(f"bad attribute name at {self.current.path[:200]!r}")
        if len(value) > XATTR_SIZE_MAX:
            raise WalkError(f"attribute over {XATTR_SIZE_MAX} bytes at {self.current.path[:200]!r}")
        if value:  # the layers' reader keeps no empty one either
            self.current.xattrs[_text(name)] = value

    def mount(self, f: list[bytes]) -> None:
        if len(f) != 2:
            raise WalkError("malformed mount line in the walk")
        path = _text(unescape(f[1]))
        self.current = None
        if not engine_provided(path) and not self._hidden_above(path):
            self.walked.hidden.add(path)

    def error(self, f: list[bytes]) -> None:
        if len(f) != 4:
            raise WalkError("malformed error line in the walk")
        path = _text(unescape(f[1]))
        if not engine_provided(path):
            what = f[3].decode("ascii", "replace")[:40]
            self.walked.problems.append(f"{path[:200]}: {what} failed (errno {f[2][:8]!r})")


def read_walk(readline: Callable[[int], bytes], touched_after_ns: int) -> Walked:
    """Parse a walk from ``readline(limit)`` (a line with its newline, b"" at the end) up to
    and including its ``end`` line. ``touched_after_ns``: entries whose change time is at or
    after it were changed by the engine for the container (module doc)."""
    first = readline(64).rstrip(b"\n").split(b" ")
    if len(first) != 2 or first[0] != MAGIC or first[1] != str(VERSION).encode():
        raise WalkError("not a walk of this sensor version (rebuild the sensor: make sensor)")
    builder = _Builder(touched_after_ns)
    handlers = {
        b"e": builder.entry,
        b"l": builder.link,
        b"x": builder.xattr,
        b"mount": builder.mount,
        b"err": builder.error,
    }
    while True:
        line = readline(MAX_LINE)
        if not line.endswith(b"\n"):
            raise WalkError("the walk is truncated or has an over-long line")
        fields = line[:-1].split(b" ")
        if fields[0] == b"end":
            if len(fields) != 2 or _number(fields[1], MAX_ENTRIES + 1) != builder.count:
                raise WalkError("the walk's entry count does not match its end")
            break
        handler = handlers.get(fields[0])
        if handler is None:
            raise WalkError(f"unknown walk record {fields[0][:16]!r}")
        handler(fields)
    if "/" not in builder.tree.entries:
        raise WalkError("the walk has no root")
    _masked_without_content(builder.walked)
    return builder.walked


def _masked_without_content(walked: Walked) -> None:
    """The engine writes into /etc when it creates a container (making it when the image has
    none): only an entry of the image under it shows that the image has it."""
    for path in MASKED_DIRS:
        entry = walked.tree.entries.get(path)
        if path != "/" and entry is not None and not walked.tree.children.get(path):
            walked.tree.remove(path)
            walked.uncertain.add(path)  # nothing of the image is under it, if it is there
