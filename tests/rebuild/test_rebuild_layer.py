"""The slim layer from crafted images: what is kept, with which metadata, in which order, and
that the same input always gives the same bytes."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from slimmer.errors import SlimmerError
from slimmer.imagefs import EntryType, ImageFs, open_image
from slimmer.imagefs.engineview import output_entry
from slimmer.rebuild import write_layer
from tests.imagefs.crafted import (
    CAP_NET_BIND,
    Item,
    directory,
    docker_archive,
    file,
    hardlink,
    layer,
    open_layers,
    symlink,
)

IMAGE = [
    layer(
        [
            directory("usr/", 0o755, mtime=100),
            directory("usr/bin/", 0o750, uid=3, gid=4, mtime=200),
            file(
                "usr/bin/ping",
                b"ping",
                0o4755,
                xattrs={"security.capability": CAP_NET_BIND.decode("latin-1")},
            ),
            file("usr/bin/a", b"shared", 0o755),
            hardlink("usr/bin/b", "usr/bin/a", mode=0o755),
            hardlink("usr/bin/c", "usr/bin/a", mode=0o755),
            symlink("usr/bin/sh", "dash"),
            directory("var/log/app/", 0o1777, uid=33, gid=33, uname="www-data", gname="www-data"),
            Item("dev/null", b"3", mode=0o666, devmajor=1, devminor=3),
            file("usr/bin/frac", b"f", mtime=1700000000.5),
            file("unkept", b"gone"),
        ]
    )
]


@pytest.fixture(scope="module")
def fs(tmp_path_factory) -> ImageFs:
    made = open_layers(tmp_path_factory.mktemp("image"), *IMAGE)
    yield made
    made.close()


def written(fs: ImageFs, kept) -> tuple[bytes, list[tarfile.TarInfo], dict[str, bytes]]:
    out = io.BytesIO()
    info = write_layer(fs, kept, out)
    data = out.getvalue()
    assert info.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        contents = {m.name: tar.extractfile(m).read() for m in members if m.isreg()}
    assert info.entries == len(members)
    return data, members, contents


def test_parents_come_with_their_own_metadata_in_tree_order(fs: ImageFs) -> None:
    _, members, _ = written(fs, ["/usr/bin/sh", "/var/log/app"])
    assert [m.name for m in members] == [
        ".",
        "usr",
        "usr/bin",
        "usr/bin/sh",
        "var",
        "var/log",
        "var/log/app",
    ]
    usr_bin = members[2]
    assert (usr_bin.mode, usr_bin.uid, usr_bin.gid, usr_bin.mtime) == (0o750, 3, 4, 200)
    app = members[-1]
    # engines apply numeric ids only: the slim layer carries no user or group names
    assert (app.mode, app.uid, app.uname, app.gname) == (0o1777, 33, "", "")
    assert members[3].issym() and members[3].linkname == "dash"


def test_setuid_capabilities_devices_and_fractional_mtimes_survive(fs: ImageFs) -> None:
    _, members, contents = written(fs, ["/usr/bin/ping", "/dev/null", "/usr/bin/frac"])
    by_name = {m.name: m for m in members}
    ping = by_name["usr/bin/ping"]
    assert ping.mode == 0o4755
    assert (
        ping.pax_headers["SCHILY.xattr.security.capability"].encode("utf-8", "surrogateescape")
        == CAP_NET_BIND
    )
    assert contents["usr/bin/ping"] == b"ping"
    null = by_name["dev/null"]
    assert null.ischr() and (null.devmajor, null.devminor, null.mode) == (1, 3, 0o666)
    assert by_name["usr/bin/frac"].mtime == 1700000000.5


def test_hardlinks_stay_hardlinks(fs: ImageFs) -> None:
    _, members, contents = written(fs, ["/usr/bin/a", "/usr/bin/b", "/usr/bin/c"])
    by_name = {m.name: m for m in members}
    assert by_name["usr/bin/a"].isreg() and contents["usr/bin/a"] == b"shared"
    assert by_name["usr/bin/b"].islnk() and by_name["usr/bin/b"].linkname == "usr/bin/a"
    assert by_name["usr/bin/c"].islnk() and by_name["usr/bin/c"].linkname == "usr/bin/a"


def test_a_kept_hardlink_whose_target_is_dropped_gets_the_content(fs: ImageFs) -> None:
    _, members, contents = written(fs, ["/usr/bin/c", "/usr/bin/b"])
    by_name = {m.name: m for m in members}
    assert "usr/bin/a" not in by_name
    assert by_name["usr/bin/b"].isreg() and contents["usr/bin/b"] == b"shared"
    assert by_name["usr/bin/c"].islnk() and by_name["usr/bin/c"].linkname == "usr/bin/b"
    assert by_name["usr/bin/b"].mode == 0o755


def test_a_kept_directory_brings_only_itself(fs: ImageFs) -> None:
    _, members, _ = written(fs, ["/usr/bin"])
    assert [m.name for m in members] == [".", "usr", "usr/bin"]


def test_same_input_same_bytes_whatever_the_order_of_kept(fs: ImageFs) -> None:
    kept = [e.path for e in fs]
    first, _, _ = written(fs, kept)
    second, _, _ = written(fs, reversed(kept))
    assert first == second


def test_keeping_everything_reproduces_the_tree(fs: ImageFs, tmp_path) -> None:
    data, _, _ = written(fs, [e.path for e in fs])
    archive = docker_archive(tmp_path / "slim.tar", [data])
    with open_image(archive, tmp_path / "work") as again:
        assert [_shape(e) for e in again] == [_shape(output_entry(e)) for e in fs]


def _shape(entry) -> tuple:
    return (
        entry.path,
        entry.type,
        entry.mode,
        entry.uid,
        entry.gid,
        entry.uname,
        entry.gname,
        entry.size,
        entry.mtime,
        entry.linkname,
        entry.xattrs,
        entry.devmajor,
        entry.devminor,
    )


def test_unknown_paths_are_refused(fs: ImageFs) -> None:
    with pytest.raises(ValueError, match="/nope"):
        write_layer(fs, ["/usr/bin/ping", "/nope"], io.BytesIO())


def test_kept_paths_are_cleaned(fs: ImageFs) -> None:
    _, members, _ = written(fs, ["usr//bin/./sh"])
    assert members[-1].name == "usr/bin/sh"
    assert fs.lookup("/usr/bin/sh").type is EntryType.SYMLINK


def test_a_layer_file_changed_under_the_index_is_an_error(tmp_path) -> None:
    archive = docker_archive(tmp_path / "image.tar", IMAGE)
    fs = open_image(archive, tmp_path / "work")
    with open(archive, "r+b") as handle:
        handle.truncate(fs.layer_offsets[0] + 1024)
    with pytest.raises(SlimmerError, match=r"cannot copy .* is shorter than the index says"):
        write_layer(fs, [e.path for e in fs], io.BytesIO())
    fs.close()
