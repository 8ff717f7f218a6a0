"""The merged tree: layers, whiteouts, opaque directories, hardlinks, duplicates, and every kind
of hostile entry, on crafted images."""

from __future__ import annotations

import pytest

from slimmer.errors import ImageFormatError
from slimmer.imagefs import EntryType, ImageFs
from tests.imagefs.crafted import (
    BASE,
    CAP_NET_BIND,
    EXPECTED,
    UPPER,
    directory,
    file,
    hardlink,
    layer,
    open_layers,
    raw_header,
    raw_layer,
    symlink,
    whiteout,
)


def shape(fs: ImageFs) -> dict[str, tuple[str, int, str]]:
    return {e.path: (e.type.value, e.mode, e.linkname) for e in fs if e.path != "/"}


def test_layers_merge_like_the_engines_overlay(tmp_path) -> None:
    with open_layers(tmp_path, BASE, UPPER) as fs:
        assert shape(fs) == EXPECTED
        assert fs.lookup("/").mode == 0o700  # the root entry of the first layer
        assert fs.lookup("/hl/three").uid == 5
        assert fs.lookup("/cap").xattrs == {"security.capability": CAP_NET_BIND}
        null = fs.lookup("/dev/null")
        assert (null.devmajor, null.devminor) == (1, 3)
        assert fs.lookup("/d2f").layer == 1 and fs.lookup("/usr/lib/x").layer == 0


def test_iteration_walk_and_listdir_are_in_tree_order(tmp_path) -> None:
    with open_layers(tmp_path, BASE, UPPER) as fs:
        paths = [e.path for e in fs]
        assert paths[0] == "/"
        assert paths == sorted(paths, key=lambda p: p.split("/"))
        assert fs.listdir("/hl") == ["three", "two"]
        assert fs.listdir("/a/b/c/file") == [] and fs.listdir("/missing") == []
        assert [e.path for e in fs.walk("/a")] == ["/a", "/a/b", "/a/b/c", "/a/b/c/file"]
        assert list(fs.walk("/missing")) == []
        assert len(fs) == len(EXPECTED) + 1


def test_contents_are_read_from_the_layers_including_hardlinks(tmp_path) -> None:
    with open_layers(tmp_path, BASE, UPPER) as fs:
        with fs.open(fs.lookup("/hl/two")) as handle:
            assert handle.read() == b"linked"
        with fs.open(fs.lookup("/d2f")) as handle:
            handle.seek(3)
            assert handle.read(2) == b"fi"
            assert handle.read() == b"le"
            assert handle.read() == b""
        with pytest.raises(ValueError, match="no content"):
            fs.open(fs.lookup("/usr"))


def test_a_hardlink_group_keeps_its_last_headers_metadata(tmp_path) -> None:
    with open_layers(
        tmp_path,
        layer([file("f", b"data", 0o644, uid=1), hardlink("g", "f", mode=0o755, uid=2)]),
    ) as fs:
        assert {(e.path, e.mode, e.uid) for e in fs if e.path != "/"} == {
            ("/f", 0o755, 2),
            ("/g", 0o755, 2),
        }
        assert fs.lookup("/g").type is EntryType.HARDLINK and fs.lookup("/g").linkname == "/f"


def test_a_layer_used_twice_gets_entries_for_each_position(tmp_path) -> None:
    one = layer([file("a", b"1")])
    two = layer([whiteout("a")])
    with open_layers(tmp_path, one, two, one) as fs:
        assert fs.lookup("/a").layer == 2


def test_duplicates_within_a_layer_later_wins(tmp_path) -> None:
    data = layer(
        [
            directory("d/"),
            file("d/keep"),
            directory("d/", 0o700),  # a directory over a directory keeps its children
            file("x/inner"),
            file("x", b"file over dir"),
            file("y", b"first"),
            file("y", b"second"),
        ]
    )
    with open_layers(tmp_path, data) as fs:
        assert fs.lookup("/d").mode == 0o700 and fs.lookup("/d/keep") is not None
        assert fs.lookup("/x").type is EntryType.FILE and fs.lookup("/x/inner") is None
        with fs.open(fs.lookup("/y")) as handle:
            assert handle.read() == b"second"


def test_names_are_normalised(tmp_path) -> None:
    data = raw_layer(
        (raw_header(b"/abs/file", size=1), b"a"),
        (raw_header(b"./dot//slashes/./f", size=1), b"b"),
        (raw_header(b"up/../down", size=1), b"c"),
    )
    with open_layers(tmp_path, data) as fs:
        assert {e.path for e in fs if e.type is EntryType.FILE} == {
            "/abs/file",
            "/dot/slashes/f",
            "/down",
        }


def test_aufs_metadata_entries_are_skipped(tmp_path) -> None:
    data = layer([file(".wh..wh.aufs"), directory(".wh..wh.plnk/"), file(".wh..wh.plnk/1.2")])
    with open_layers(tmp_path, data) as fs:
        assert [e.path for e in fs] == ["/"]


@pytest.mark.parametrize(
    "data, entry, problem",
    [
        (raw_layer((raw_header(b"../../etc/passwd", size=1), b"x")), "../../etc/passwd", "climbs"),
        (raw_layer((raw_header(b"a/../../x"), b"")), "a/../../x", "climbs"),
        (layer([hardlink("h", "missing")]), "h", "not an earlier entry"),
        (layer([hardlink("h", "later"), file("later")]), "h", "not an earlier entry"),
        (layer([directory("d/"), hardlink("h", "d")]), "h", "a dir"),
        (layer([hardlink("h", "../../etc/shadow")]), "h", "climbs"),
        (layer([file("f"), file("f/child")]), "f/child", "not a directory"),
        (layer([symlink("s", "/etc"), file("s/passwd")]), "s/passwd", "not a directory"),
        (layer([whiteout("w"), file("w/x")]), "w/x", "not a directory"),
        (raw_layer((raw_header(b"dev/x", b"Z"), b"")), "dev/x", "unsupported entry type"),
        (layer([file("d/.wh.")]), "d/.wh.", "invalid whiteout"),
        (layer([file(".wh.d/x")]), ".wh.d/x", "inside a whiteout"),
        (raw_layer((raw_header(b".", b"0"), b"")), ".", "root is not a directory"),
        (raw_layer((raw_header(b"big", size=1 << 40), b""), end=False), "big", "truncated"),
    ],
)
def test_hostile_entries_are_rejected_naming_layer_and_entry(
    tmp_path, data: bytes, entry: str, problem: str
) -> None:
    with pytest.raises(ImageFormatError) as caught:
        open_layers(tmp_path, layer([file("ok")]), data)
    message = caught.value.message
    assert problem in message
    assert f"entry {entry!r}" in message
    assert "layer " in message and "/layer.tar" in message  # the second layer's member
    assert caught.value.hint
    assert list((tmp_path / "work").iterdir()) == []  # nothing left behind


def test_a_corrupt_header_is_located_after_the_last_good_entry(tmp_path) -> None:
    bad = bytearray(raw_header(b"second"))
    bad[100:108] = b"99999999"  # not octal: also breaks the checksum
    data = raw_layer((raw_header(b"first", size=3), b"abc"), (bytes(bad), b""))
    with pytest.raises(ImageFormatError, match="the header after entry 'first': corrupt"):
        open_layers(tmp_path, data)


def test_deep_paths_get_their_parents_and_overlong_names_are_refused(tmp_path) -> None:
    deep = "/".join(["d"] * 2000) + "/f"  # far deeper than Python's recursion limit
    with open_layers(tmp_path, layer([file(deep)])) as fs:
        assert fs.resolve("/" + deep).entry.type is EntryType.FILE
        assert len(fs) == 2002
    with pytest.raises(ImageFormatError, match="longer than 4096"):
        open_layers(tmp_path, layer([file("x" * 5000)]))


def test_a_hostile_archive_never_writes_outside_the_work_directory(tmp_path) -> None:
    victim = tmp_path / "victim"
    data = raw_layer(
        (raw_header(b"../victim", size=1), b"x"),
        (raw_header(str(victim).encode(), size=1), b"y"),
    )
    with pytest.raises(ImageFormatError):
        open_layers(tmp_path, data)
    assert not victim.exists()
    data = raw_layer((raw_header(str(victim).encode(), size=1), b"y"))
    with open_layers(tmp_path, data) as fs:
        assert fs.lookup(str(victim)) is not None  # an image path, nothing on the host
    assert not victim.exists()


def test_uncompressed_layers_are_read_in_the_archive_itself(tmp_path) -> None:
    with open_layers(tmp_path, BASE, UPPER) as fs:
        archive = fs.layers[0]
        assert fs.layers == [archive, archive] and archive.parent == tmp_path
        assert 0 < fs.layer_offsets[0] < fs.layer_offsets[1] < archive.stat().st_size
        assert fs.layer_sizes == [len(BASE), len(UPPER)]
        with fs.open(fs.lookup("/op/new")) as handle:
            assert handle.read() == b"new"
    assert archive.exists()
