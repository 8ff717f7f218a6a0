"""Byte streams the image reader chains together: hashing tees, decompressors, bounded views.

All of them read in large chunks and hold at most a few chunks in memory. Decompression errors
become ``StreamError`` so they are reported with the layer they happened in.
"""

from __future__ import annotations

import hashlib
import io
import queue
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

from slimmer.imagefs.tarstream import CHUNK, Reader, StreamError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class IterReader:
    """``read(n)`` over an iterator of byte chunks (the engine's save stream), pulled by a
    helper thread a few chunks ahead so that receiving overlaps with indexing. An exception
    of the iterator is raised to the reader; ``close`` stops the thread."""

    def __init__(self, chunks: Iterator[bytes], ahead: int = 16) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(ahead)
        self._stop = threading.Event()
        self._head = b""
        self._done = False
        self._thread = threading.Thread(
            target=self._pull, args=(chunks,), name="slimmer-image-stream", daemon=True
        )
        self._thread.start()

    def _pull(self, chunks: Iterator[bytes]) -> None:
        item: bytes | BaseException | None = None
        pending: list[bytes] = []
        size = 0
        try:
            for chunk in chunks:  # the engine sends small chunks: hand them on by the MB
                pending.append(chunk)
                size += len(chunk)
                if size >= CHUNK:
                    if not self._put(b"".join(pending)):
                        break
                    pending, size = [], 0
            else:
                if size:
                    self._put(b"".join(pending))
        except BaseException as exc:  # handed to the reading thread
            item = exc
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a generator over an HTTP response releases the connection
        self._put(item)

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read(self, size: int) -> bytes:
        while not self._head:
            if self._done:
                return b""
            item = self._queue.get()
            if item is None:
                self._done = True
                return b""
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._head = item
        if size >= len(self._head):
            data, self._head = self._head, b""
        else:
            data, self._head = self._head[:size], self._head[size:]
        return data

    def close(self) -> None:
        """Stop pulling (the thread ends once the iterator yields again, or at its end)."""
        self._stop.set()
        self._thread.join(timeout=5)


class Tee:
    """Pass bytes through while counting them, hashing them (sha256) unless ``hashing`` is
    False, and copying them to ``sink`` if given (until ``sink`` is set to None; ``written``
    counts what it got)."""

    def __init__(self, src: Reader, sink: BinaryIO | None = None, hashing: bool = True) -> None:
        self._src = src
        self.sink = sink
        self._hash = hashlib.sha256() if hashing else None
        self.count = 0
        self.written = 0

    def read(self, size: int) -> bytes:
        data = self._src.read(size)
        if data:
            if self._hash is not None:
                self._hash.update(data)
            self.count += len(data)
            if self.sink is not None:
                self.sink.write(data)
                self.written += len(data)
        return data

    def digest(self) -> str:
        assert self._hash is not None, "a Tee without hashing has no digest"
        return "sha256:" + self._hash.hexdigest()


class TooLarge(StreamError):
    """A layer's tar is larger than the limit it is read with."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"it is larger than the limit of {limit} bytes uncompressed")
        self.limit = limit

    def where(self) -> str:
        return "its uncompressed tar"


class Limited:
    """Pass at most ``limit`` bytes; reading more raises ``TooLarge``."""

    def __init__(self, src: Reader, limit: int) -> None:
        self._src = src
        self._left = limit
        self._limit = limit

    def read(self, size: int) -> bytes:
        data = self._src.read(min(size, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise TooLarge(self._limit)
        return data


class Prefixed:
    """A stream whose first bytes were already read (to sniff its format)."""

    def __init__(self, head: bytes, src: Reader) -> None:
        self._head = head
        self._src = src

    def read(self, size: int) -> bytes:
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._src.read(size)


def read_head(src: Reader, size: int) -> bytes:
    """The first ``size`` bytes (fewer only at end of stream)."""
    parts: list[bytes] = []
    have = 0
    while have < size:
        data = src.read(size - have)
        if not data:
            break
        parts.append(data)
        have += len(data)
    return b"".join(parts)


class Gunzip:
    """gzip decompression (several members allowed, trailing NUL padding ignored), each
    ``read`` returning at most ``size`` bytes however well the input compresses."""

    def __init__(self, src: Reader) -> None:
        self._src = src
        self._d = zlib.decompressobj(31)
        self._input = b""
        self._between = False  # after a complete member

    def read(self, size: int) -> bytes:
        while True:
            if not self._input:
                self._input = self._src.read(CHUNK)
                if not self._input:
                    if self._between:
                        return b""
                    raise StreamError("the gzip stream is truncated")
            if self._between:
                self._input = self._input.lstrip(b"\0")
                if not self._input:
                    continue
                if len(self._input) < 2:
                    self._input += self._src.read(CHUNK)
                if not self._input.startswith(GZIP_MAGIC):
                    raise StreamError("unexpected data after the gzip stream")
                self._d = zlib.decompressobj(31)
                self._between = False
            try:
                out = self._d.decompress(self._input, size)
            except zlib.error as exc:
                raise StreamError(f"gzip: {exc}") from None
            if self._d.eof:
                self._input = self._d.unused_data
                self._between = True
            else:
                self._input = self._d.unconsumed_tail
            if out:
                return out


class Unzstd:
    """zstd decompression (several frames allowed), bounded output per ``read``.

    A truncated zstd stream ends the output early; the tar reader or the layer's digest check
    then reports it.
    """

    def __init__(self, src: Reader) -> None:
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            src, read_size=CHUNK, read_across_frames=True
        )

    def read(self, size: int) -> bytes:
        try:
            return self._reader.read(size)
        except zstandard.ZstdError as exc:
            raise StreamError(f"zstd: {exc}") from None


class SeekableView(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes: the position and seeking; subclasses
    read (``readinto``) from where the bytes are."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + pos < 0:
            raise ValueError("negative seek position")
        self._pos = base + pos
        return self._pos


class Region(SeekableView):
    """A read-only, seekable view of ``size`` bytes at ``offset`` in a file."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__(size)
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 (closed in close())
        self._start = offset

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        self._file.seek(self._start + self._pos)
        got = self._file.readinto(memoryview(buffer)[:want])
        if not got:
            raise OSError(f"{self._file.name} is shorter than the index says (was it changed?)")
        self._pos += got
        return got

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        return super().read(size) or b""

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
