"""--archive/--oci write through an exclusive, unpredictable temp file: links planted in the
destination directory are never followed."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from slimmer.rebuild.archive import write_archive

MEMBERS = [("manifest.json", b"[]"), ("blobs/", None)]


def test_planted_links_are_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    # the temp name of earlier versions, and the destination itself, point at the victim
    (out / ".slim.tar.slimmer-tmp").symlink_to(victim)
    (out / "slim.tar").symlink_to(victim)
    write_archive(MEMBERS, out / "slim.tar")
    assert victim.read_bytes() == b"precious"
    assert not (out / "slim.tar").is_symlink()
    with tarfile.open(out / "slim.tar") as tar:
        assert tar.getnames() == ["manifest.json", "blobs"]
    assert sorted(p.name for p in out.iterdir()) == [".slim.tar.slimmer-tmp", "slim.tar"]


def test_mode_follows_the_umask_and_nothing_is_left_on_failure(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        write_archive(MEMBERS, tmp_path / "a.tar")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.tar").stat().st_mode & 0o777 == 0o640
    with pytest.raises(FileNotFoundError):
        write_archive([("x", tmp_path / "missing-file")], tmp_path / "b.tar")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar"]
