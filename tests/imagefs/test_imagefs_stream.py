"""Images read once from a stream in chunks of any size (as the engine's save stream arrives,
which test_imagefs_engine.py reads for real), and failures in the middle of one."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from slimmer.errors import ImageFormatError, SlimmerError
from slimmer.imagefs import open_image, open_stream
from slimmer.imagefs.streams import IterReader
from tests.imagefs.crafted import PlatformImage, docker_archive, file, layer, oci_layout, symlink

LAYERS = [
    layer([file("etc/hostname", b"crafted\n"), symlink("bin", "usr/bin")]),
    layer([file("usr/bin/x", b"x" * 70000)]),
]


def chunks(archive: Path, fail_after: int | None = None):
    """The archive in chunks of assorted sizes, as an engine or a pipe delivers it."""
    data = archive.read_bytes()
    rng = random.Random(7)
    position = 0
    while position < len(data):
        if fail_after is not None and position > fail_after:
            raise SlimmerError("image reading cancelled")
        size = rng.choice([1, 7, 512, 4096, 65536, 1 << 20])
        yield data[position : position + size]
        position += size


@pytest.mark.parametrize("style", ["legacy", "oci"])
def test_a_save_stream_in_odd_chunks_indexes_like_the_file(tmp_path: Path, style: str) -> None:
    archive = docker_archive(tmp_path / "image.tar", LAYERS, style=style)
    with (
        open_image(archive, tmp_path / "a") as from_file,
        open_stream(chunks(archive), tmp_path / "b") as from_stream,
    ):
        assert [(e.path, e.type, e.size) for e in from_stream] == [
            (e.path, e.type, e.size) for e in from_file
        ]
        assert from_stream.digest == from_file.digest
        assert all(p.is_relative_to(tmp_path / "b") for p in from_stream.layers)
        with from_stream.open(from_stream.resolve("/bin/x").entry) as handle:
            assert handle.read() == b"x" * 70000


def test_a_compressed_oci_stream_is_decompressed_while_it_arrives(tmp_path: Path) -> None:
    layout = oci_layout(
        tmp_path / "oci.tar", [PlatformImage(LAYERS, compression="zstd")], as_tar=True
    )
    with open_stream(chunks(layout), tmp_path / "work") as fs:
        assert fs.lookup("/usr/bin/x").size == 70000


def test_an_error_in_the_stream_stops_everything_and_leaves_nothing(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", LAYERS)
    threads = threading.active_count()
    with pytest.raises(SlimmerError, match="cancelled"):
        open_stream(chunks(archive, fail_after=3000), tmp_path / "work")
    assert list((tmp_path / "work").iterdir()) == []
    assert threading.active_count() == threads


def test_a_truncated_stream_is_an_image_format_error(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", LAYERS)
    archive.write_bytes(archive.read_bytes()[:5000])
    with pytest.raises(ImageFormatError, match="truncated"):
        open_stream(chunks(archive), tmp_path / "work")


def test_the_reader_thread_stops_when_the_reader_gives_up() -> None:
    produced = []

    def endless():
        while True:
            produced.append(1)
            yield b"z" * 1000

    reader = IterReader(endless(), ahead=2)
    assert reader.read(10) == b"z" * 10
    reader.close()
    count = len(produced)
    assert not reader._thread.is_alive()
    assert len(produced) == count
