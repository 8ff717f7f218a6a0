"""The content protocol against the real sensor (``--serve --no-walk``, run here on files of a
temporary directory): pipelined blocks arrive whole and in order; the sensor refuses what is
not the regular file the walk saw (another size or inode, a symlink on the way, a FIFO, which
it must not block on); a broken conversation fails the reads instead of hanging them."""

from __future__ import annotations

import io
import os
import subprocess
import threading
from pathlib import Path

import pytest

from slimmer.arch import host_oci_arch, sensor_arch
from slimmer.imagefs.served import BLOCK, Channel, RemoteContents, ServeError, _RemoteFile
from slimmer.imagefs.walk import Content
from slimmer.sensor.assets import sensor_path


class ProcessDuplex:
    """The sensor's stdin and stdout, as the engine's attach stream gives them."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self._lock:
            stdin = self.process.stdin
            if stdin is None or stdin.closed:
                raise BrokenPipeError("closed")  # as a closed socket says it
            stdin.write(data)
            stdin.flush()

    def recv(self, size: int = 1 << 20) -> bytes:
        assert self.process.stdout is not None
        return os.read(self.process.stdout.fileno(), size)

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self.process.wait(timeout=10)


@pytest.fixture
def serve(tmp_path: Path):
    started: list[RemoteContents] = []

    def start(contents: list[Content]) -> RemoteContents:
        binary = sensor_path(sensor_arch(host_oci_arch()))
        process = subprocess.Popen(
            [str(binary), "--serve", "--no-walk"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        channel = Channel(ProcessDuplex(process))
        assert channel.readline(64) == b"slimmer-walk 1\n" and channel.readline(64) == b"end 0\n"
        remote = RemoteContents(channel, contents, tmp_path / "spool")
        started.append(remote)
        return remote

    yield start
    for remote in started:
        remote.close()


def content(path: Path, size: int | None = None, inode: int | None = None) -> Content:
    stat = path.stat()
    return Content(str(path), stat.st_ino if inode is None else inode, size or stat.st_size)


def read_all(remote: RemoteContents, content_id: int) -> bytes:
    view = _RemoteFile(remote, content_id, remote.contents[content_id].size)
    return view.read()


def test_pipelined_contents_arrive_whole(serve, tmp_path: Path) -> None:
    files = {}
    for number, size in enumerate([0, 1, 4096, BLOCK - 1, BLOCK, 3 * BLOCK + 17]):
        path = tmp_path / f"f{number}"
        path.write_bytes(os.urandom(size))
        files[number] = path
    remote = serve([content(p) for p in files.values()] + [content(files[2], inode=0)])
    remote.prefetch(range(len(files) + 1))
    for number, path in files.items():
        assert read_all(remote, number) == path.read_bytes()
    assert read_all(remote, len(files)) == files[2].read_bytes()  # inode 0: any inode
    view = _RemoteFile(remote, 5, files[5].stat().st_size)
    view.seek(BLOCK + 5)
    assert view.read(10) == files[5].read_bytes()[BLOCK + 5 : BLOCK + 15]


def test_what_is_not_the_walked_file_is_refused(serve, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "file").write_bytes(b"data")
    (tmp_path / "link").symlink_to(real)
    os.mkfifo(tmp_path / "fifo")
    contents = [
        content(real / "file", size=5),  # another size
        content(real / "file", inode=(real / "file").stat().st_ino + 1),  # another inode
        Content(str(tmp_path / "link" / "file"), (real / "file").stat().st_ino, 4),
        Content(str(tmp_path / "fifo"), (tmp_path / "fifo").stat().st_ino, 4),
        Content(str(tmp_path / "missing"), 1, 4),
        content(real / "file"),
    ]
    remote = serve(contents)
    for number in range(5):
        with pytest.raises(ServeError, match="cannot read"):
            read_all(remote, number)
    assert read_all(remote, 5) == b"data"  # the conversation goes on after refusals


def test_a_broken_conversation_fails_reads_instead_of_hanging(serve, tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(os.urandom(2 * BLOCK))
    remote = serve([content(path)])
    assert remote.block(0, 0)[1] == BLOCK
    remote._channel.stream.send(b"not a request\n")  # the sensor stops at a malformed line
    failed: list[BaseException] = []
    reader = threading.Thread(target=lambda: _expect_failure(remote, failed))
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive() and len(failed) == 1 and isinstance(failed[0], ServeError)


def test_asking_on_a_stream_the_reader_closed_is_a_serve_error(
    serve, tmp_path: Path, monkeypatch
) -> None:
    """The reader closes the stream before it fails the waiting reads: a request written in
    between meets a closed stream (io's ValueError), which is the conversation's failure too."""
    path = tmp_path / "file"
    path.write_bytes(os.urandom(2 * BLOCK))
    remote = serve([content(path)])
    closed = io.BytesIO()
    closed.close()
    monkeypatch.setattr(remote._channel.stream, "send", closed.write)  # as after the close
    with pytest.raises(ServeError, match="stopped taking requests"):
        remote.block(0, 1)


def _expect_failure(remote: RemoteContents, failed: list[BaseException]) -> None:
    try:
        remote.block(0, 1)
    except BaseException as exc:  # recorded for the assertion
        failed.append(exc)
