"""An image's tree with its file contents served, on demand, by the sensor in a fresh container
of the image (``sensor --serve``, sensors/WALK.md).

``Channel`` reads the container's output (lines, then exact byte counts); ``RemoteContents``
asks for blocks of files and spools what arrives into one file of the work directory, so each
byte crosses once and memory stays bounded; ``ServedFs`` is an ``ImageFs`` whose ``open`` reads
from there. Every answer is checked against what was asked (content id, length): the container
runs the image's files only as data, but its output is still untrusted.
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from slimmer.imagefs.index import CONTENT_TYPES, ImageFs
from slimmer.imagefs.model import Entry, Resolution
from slimmer.imagefs.paths import clean, parent
from slimmer.imagefs.streams import SeekableView
from slimmer.imagefs.tree import Tree
from slimmer.imagefs.walk import Content

BLOCK = 1 << 20  # the piece of a file asked for at once
ANSWER_LINE = 64
# a file read that was not announced brings small files of its directory along (the next
# reads are often there: zoneinfo, locales, Python packages), within these bounds
READ_AHEAD_FILE = 256 << 10
READ_AHEAD_BYTES = 2 << 20
READ_AHEAD_FILES = 256


class Duplex(Protocol):
    def send(self, data: bytes) -> None: ...

    def recv(self, size: int = ...) -> bytes: ...

    def close(self) -> None: ...


class ServeError(OSError):
    """The container did not deliver a content it was asked for."""


class Channel:
    """Buffered reads from a duplex stream: lines (bounded) and exact byte counts."""

    def __init__(self, stream: Duplex) -> None:
        self.stream = stream
        self._buffer = b""
        self._pos = 0  # what is read of _buffer
        self._ended = False

    def _fill(self) -> bool:
        if self._ended:
            return False
        data = self.stream.recv(1 << 20)
        if not data:
            self._ended = True
            return False
        self._buffer = self._buffer[self._pos :] + data
        self._pos = 0
        return True

    def readline(self, limit: int) -> bytes:
        """One line with its newline; what there is (no newline) at the end or past ``limit``."""
        searched = self._pos
        while True:
            end = min(len(self._buffer), self._pos + limit)
            found = self._buffer.find(b"\n", searched, end)
            if found >= 0:
                line = self._buffer[self._pos : found + 1]
                self._pos = found + 1
                return line
            searched = end - self._pos
            if end - self._pos >= limit or not self._fill():
                line = self._buffer[self._pos : self._pos + limit]
                self._pos += len(line)
                return line
            searched = self._pos + searched

    def read_into(self, sink: BinaryIO, size: int) -> int:
        """Copy ``size`` bytes to ``sink``; the count copied (less only at the end)."""
        done = 0
        while done < size:
            if self._pos >= len(self._buffer) and not self._fill():
                break
            take = min(size - done, len(self._buffer) - self._pos)
            sink.write(memoryview(self._buffer)[self._pos : self._pos + take])
            self._pos += take
            done += take
        return done


class _Block:
    __slots__ = ("done", "error", "offset")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.offset = -1  # in the spool file
        self.error = ""


class RemoteContents:
    """Contents of the ``contents`` list (``walk.Content``, indexed by content id) fetched in
    blocks from the serving container and spooled to ``spool``. Requests are pipelined: any
    thread may ask, one reader thread files the answers."""

    def __init__(self, channel: Channel, contents: list[Content], spool: Path) -> None:
        self._channel = channel
        self.contents = contents
        self._contents = contents
        self._spool_path = spool
        self._sink = open(spool, "wb")  # noqa: SIM115 (closed by the reader thread's end)
        self._reader = os.open(spool, os.O_RDONLY)
        # asking (recording a block, queueing it, writing the request) happens under one lock,
        # so the queue has the order the container answers in; the reader thread only pops
        self._ask_lock = threading.RLock()
        self._blocks: dict[tuple[int, int], _Block] = {}
        self._pending: collections.deque[tuple[int, int]] = collections.deque()
        self._failed = ""
        self._thread = threading.Thread(target=self._receive, name="slimmer-serve", daemon=True)
        self._thread.start()

    # ---- asking ------------------------------------------------------------------------------

    def prefetch(self, ids: Iterable[int]) -> None:
        """Ask for every block of these contents not asked for yet (one write)."""
        with self._ask_lock:
            lines = []
            for content_id in ids:
                lines += self._ask(content_id, range(self._block_count(content_id)))
            self._send(lines)

    def _block_count(self, content_id: int) -> int:
        return -(-self._contents[content_id].size // BLOCK)

    def _ask(self, content_id: int, numbers: Iterable[int]) -> list[bytes]:
        """Request lines for the blocks not yet asked for (call with the ask lock held)."""
        lines: list[bytes] = []
        content = self._contents[content_id]
        raw_path = content.path.encode("utf-8", "surrogateescape")
        for number in numbers:
            key = (content_id, number)
            if key in self._blocks:
                continue
            self._blocks[key] = _Block()
            self._pending.append(key)
            offset = number * BLOCK
            length = min(BLOCK, content.size - offset)
            lines.append(
                b"r %d %d %d %d %d %s\n"
                % (content_id, content.inode, content.size, offset, length, _escape(raw_path))
            )
        return lines

    def _send(self, lines: list[bytes]) -> None:
        """Write requests (with the ask lock held); after a failure, fail them at once."""
        if lines and not self._failed:
            try:
                self._channel.stream.send(b"".join(lines))
            except (OSError, ValueError) as exc:  # ValueError: the reader closed the stream
                self._fail(f"the serving container stopped taking requests: {exc}")
        if self._failed:
            self._fail(self._failed)

    def asked(self, content_id: int) -> bool:
        """Whether the first block of a content was asked for (or it is empty)."""
        return self._contents[content_id].size == 0 or (content_id, 0) in self._blocks

    def block(self, content_id: int, number: int) -> tuple[int, int]:
        """(spool offset, length) of a block, fetched first if need be."""
        key = (content_id, number)
        with self._ask_lock:
            if key not in self._blocks:
                self._send(self._ask(content_id, [number]))
            found = self._blocks[key]
        found.done.wait()
        if found.error:
            raise ServeError(found.error)
        size = self._contents[content_id].size
        return found.offset, min(BLOCK, size - number * BLOCK)

    def pread(self, length: int, offset: int) -> bytes:
        return os.pread(self._reader, length, offset)

    # ---- answers -----------------------------------------------------------------------------

    def _receive(self) -> None:
        reason = "the serving container ended"
        try:
            while line := self._channel.readline(ANSWER_LINE):
                self._answer(line)
        except (OSError, ValueError) as exc:
            reason = f"the serving container's answer is unreadable: {exc}"
        finally:
            self._sink.close()
        # a requester may be blocked writing to a container that no longer reads: closing the
        # stream wakes it (with an error) before its lock is taken here
        self._channel.stream.close()
        self._fail(reason)

    def _answer(self, line: bytes) -> None:
        fields = line.rstrip(b"\n").split(b" ")
        key = self._pending.popleft() if self._pending else None
        if key is None or len(fields) != 3 or fields[0] not in (b"d", b"n"):
            raise ValueError("an answer nobody asked for")
        content_id, number = key
        if int(fields[1]) != content_id:
            raise ValueError("answers out of order")
        block = self._blocks[key]
        if fields[0] == b"n":
            path = self._contents[content_id].path
            block.error = f"cannot read {path} in the serving container (errno {int(fields[2])})"
            block.done.set()
            return
        length = min(BLOCK, self._contents[content_id].size - number * BLOCK)
        if int(fields[2]) != length:
            raise ValueError("a block of the wrong length")
        block.offset = self._sink.tell()
        if self._channel.read_into(self._sink, length) != length:
            raise ValueError("a block cut short")
        self._sink.flush()
        block.done.set()

    def _fail(self, reason: str) -> None:
        with self._ask_lock:
            self._failed = self._failed or reason
            for block in list(self._blocks.values()):
                if not block.done.is_set():
                    block.error = self._failed
                    block.done.set()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # already closed
            self._channel.stream.send(b"q\n")
        self._channel.stream.close()
        self._thread.join(timeout=5)
        os.close(self._reader)
        self._spool_path.unlink(missing_ok=True)


def _escape(raw: bytes) -> bytes:
    """REPORT.md's escaping: bytes outside 0x21..0x7e and the backslash as \\xHH."""
    if raw and all(0x21 <= c <= 0x7E and c != 0x5C for c in raw):
        return raw
    return b"".join(bytes([c]) if 0x21 <= c <= 0x7E and c != 0x5C else b"\\x%02x" % c for c in raw)


class _RemoteFile(SeekableView):
    """A seekable read-only view of one served content."""

    def __init__(self, contents: RemoteContents, content_id: int, size: int) -> None:
        super().__init__(size)
        self._contents = contents
        self._id = content_id

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size:
            return 0
        number, within = divmod(self._pos, BLOCK)
        offset, length = self._contents.block(self._id, number)
        want = min(len(buffer), length - within)
        data = self._contents.pread(want, offset + within)
        if len(data) != want:
            raise ServeError("the spooled content is shorter than it was")
        buffer[:want] = data
        self._pos += want
        return want


class ServedFs(ImageFs):
    """An image's merged tree whose file contents are served by a container (module doc).

    ``hidden`` paths (and what is under them: a mount point) and ``uncertain`` directories (their
    own entries only) are what the tree cannot know exactly: looking one up is recorded in
    ``tainted``, and ``inexact(paths)`` says whether writing those paths (and their parents)
    would need them. An empty ``inexact`` after a build means the tree stood for the image
    wherever the build looked."""

    def __init__(
        self,
        *,
        config: dict[str, Any],
        digest: str,
        diff_ids: list[str],
        tree: Tree,
        contents: RemoteContents,
        hidden: Iterable[str] = (),
        uncertain: Iterable[str] = (),
        owned: Path | None = None,
    ) -> None:
        hidden, uncertain = set(hidden), set(uncertain)
        absent = hidden | {p for p in uncertain if p not in tree.entries}
        super().__init__(
            config=config,
            digest=digest,
            layers=[],
            layer_offsets=[],
            layer_sizes=[],
            diff_ids=diff_ids,
            tree=tree,
            owned=owned,
        )
        self.contents = contents
        self.hidden = hidden
        self.uncertain = uncertain
        self._listing_hidden = {parent(p) for p in absent}  # listing them misses something
        self.tainted: set[str] = set()

    # ---- what the tree cannot know -----------------------------------------------------------

    def _unknown(self, path: str) -> bool:
        """``path`` is an uncertain directory, or is or is under a hidden path."""
        if path in self.uncertain:
            return True
        if not self.hidden:
            return False
        while True:
            if path in self.hidden:
                return True
            if path == "/":
                return False
            path = parent(path)

    def _note(self, path: str) -> None:
        if self._unknown(path):
            self.tainted.add(path)

    def lookup(self, path: str) -> Entry | None:
        found = super().lookup(path)
        self._note(clean(path))
        return found

    def resolve(self, path: str, follow_last: bool = True) -> Resolution:
        resolution = super().resolve(path, follow_last)
        self._note(resolution.path)
        for link in resolution.links:
            self._note(link)
        return resolution

    def listdir(self, path: str) -> list[str]:
        if clean(path) in self._listing_hidden:
            self.tainted.add(clean(path))
        return super().listdir(path)

    def walk(self, path: str = "/") -> Iterator[Entry]:
        for entry in super().walk(path):
            if entry.path in self._listing_hidden or entry.path in self.uncertain:
                self.tainted.add(entry.path)
            yield entry

    def __iter__(self) -> Iterator[Entry]:
        if self.hidden:
            self.tainted.add("/")  # the whole tree was asked for: what is hidden counts
        return super().__iter__()

    def unknown(self, path: str) -> list[str]:
        """Of ``path`` and its parents, those whose entries the tree cannot know."""
        found = []
        while True:
            if self._unknown(path):
                found.append(path)
            if path == "/":
                return found
            path = parent(path)

    def inexact(self, paths: Iterable[str]) -> list[str]:
        """Of ``paths`` and their parents, those whose entries the tree cannot know, with
        every path the build looked up that it could not know."""
        found = set(self.tainted)
        for path in paths:
            found.update(self.unknown(path))
        return sorted(found)

    # ---- contents ----------------------------------------------------------------------------

    def open(self, entry: Entry) -> BinaryIO:
        if entry.type not in CONTENT_TYPES or not 0 <= entry.offset < len(self.contents_list):
            raise ValueError(f"{entry.path} is a {entry.type.value}, it has no content")
        if not self.contents.asked(entry.offset):
            self._read_ahead(entry)
        view = _RemoteFile(self.contents, entry.offset, entry.size)
        return io.BufferedReader(view, buffer_size=1 << 16)  # type: ignore[return-value]

    @property
    def contents_list(self) -> list[Content]:
        return self.contents.contents

    def prefetch(self, entries: Iterable[Entry]) -> None:
        self.contents.prefetch(e.offset for e in entries if e.type in CONTENT_TYPES)

    def _read_ahead(self, entry: Entry) -> None:
        """Ask for ``entry`` and the small files after it in its directory (bounded)."""
        siblings = self._children.get(parent(entry.path)) or [entry.path]
        start = siblings.index(entry.path) if entry.path in siblings else 0
        chosen, budget = [entry], READ_AHEAD_BYTES
        for path in siblings[start + 1 :] + siblings[:start]:
            found = self._entries.get(path)
            if len(chosen) >= READ_AHEAD_FILES or budget <= 0:
                break
            if found is None or found.type not in CONTENT_TYPES or found.size > READ_AHEAD_FILE:
                continue
            if not self.contents.asked(found.offset):
                chosen.append(found)
                budget -= found.size
        self.prefetch(chosen)

    def prefetch_paths(self, paths: Iterable[str], trees: Iterable[str] = ()) -> None:
        """Fetch the files ``paths`` resolve to and the files under ``trees`` (looked up
        without counting as the build's own lookups: nothing is tainted)."""
        entries = [ImageFs.resolve(self, path).entry for path in paths]
        for top in trees:
            entries += ImageFs.walk(self, top)
        self.prefetch(e for e in entries if e is not None)

    def close(self) -> None:
        self.contents.close()
        super().close()
