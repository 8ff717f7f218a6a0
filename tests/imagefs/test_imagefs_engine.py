"""The merged tree equals what the engine shows (`docker export`), for crafted images and every
fixture image, read from the engine's save stream."""

from __future__ import annotations

import pytest

from slimmer.engine import Engine
from slimmer.imagefs import open_image
from tests.imagefs.crafted import (
    BASE,
    EXPECTED,
    FIXTURES,
    UPPER,
    docker_archive,
    pax_header,
    pax_record,
    raw_header,
    raw_layer,
    sha256,
)
from tests.imagefs.exported import differences, exported_tree, index_tree, without

pytestmark = pytest.mark.docker

# the engine stamps directories it creates while unpacking with the time of unpacking
UNPACK_TIME = ("mtime",)


@pytest.fixture(scope="module")
def crafted_ref(engine: Engine, tmp_path_factory):
    archive = tmp_path_factory.mktemp("crafted") / "image.tar"
    tag = f"slimmer-test-imagefs/merge:{sha256(BASE + UPPER)[7:19]}"
    docker_archive(archive, [BASE, UPPER], tags=[tag])
    with open(archive, "rb") as handle:
        engine.load_image(handle)
    yield tag
    engine.remove_image(tag)


def test_crafted_layers_merge_as_the_engine_shows_them(engine: Engine, crafted_ref, tmp_path):
    exported = exported_tree(engine, crafted_ref)
    with open_image(crafted_ref, tmp_path, engine=engine) as fs:
        indexed = index_tree(fs)
        shown = {p: v for p, v in EXPECTED.items() if not p.startswith("/dev")}
        assert {p: (n.type, n.mode, n.linkname) for p, n in indexed.items()} == shown
    assert differences(without(indexed, *UNPACK_TIME), without(exported, *UNPACK_TIME)) == []


# records the engine's reader (Go's archive/tar) does not apply: global headers (and what was
# pending before one), LIBARCHIVE xattrs, empty xattr values
IGNORED_RECORDS = raw_layer(
    (raw_header(b"a", size=1), b"A"),
    pax_header(
        pax_record(b"SCHILY.xattr.user.g", b"gv"),
        pax_record(b"uid", b"77"),
        pax_record(b"linkpath", b"/evil"),
        kind=b"g",
        name=b"g1",
    ),
    (raw_header(b"b", size=1), b"B"),
    (raw_header(b"s", b"2", linkname=b"target"), b""),
    pax_header(pax_record(b"uid", b"55"), pax_record(b"path", b"renamed")),
    pax_header(pax_record(b"gid", b"66"), kind=b"g", name=b"g2"),
    (raw_header(b"c", size=1), b"C"),
    (raw_header(b"././@LongLink", b"L", 6), b"longn\0"),
    pax_header(pax_record(b"mtime", b"5"), kind=b"g", name=b"gdir/sub/g3"),
    (raw_header(b"d", size=1), b"D"),
    pax_header(pax_record(b"LIBARCHIVE.xattr.user.lib", b"dmFs")),
    (raw_header(b"e", size=1), b"E"),
    pax_header(pax_record(b"SCHILY.xattr.user.empty", b""), pax_record(b"uid", b"7")),
    (raw_header(b"f", size=1), b"F"),
)


def test_records_the_engine_ignores_are_ignored(engine: Engine, tmp_path) -> None:
    tag = f"slimmer-test-imagefs/ignored:{sha256(IGNORED_RECORDS)[7:19]}"
    docker_archive(tmp_path / "image.tar", [IGNORED_RECORDS], tags=[tag])
    with open(tmp_path / "image.tar", "rb") as handle:
        engine.load_image(handle)
    try:
        exported = exported_tree(engine, tag)
        with open_image(tag, tmp_path / "work", engine=engine) as fs:
            indexed = index_tree(fs)
    finally:
        engine.remove_image(tag)
    assert sorted(indexed) == ["/a", "/b", "/c", "/d", "/e", "/f", "/s"]
    assert indexed["/f"].uid == 7 and indexed["/s"].linkname == "target"
    assert differences(indexed, exported) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_images_index_as_the_engine_exports_them(
    name: str, engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image(name)
    exported = without(exported_tree(engine, ref, contents=False), *UNPACK_TIME)
    with open_image(ref, tmp_path, engine=engine) as fs:
        indexed = without(index_tree(fs, contents=False), *UNPACK_TIME)
        assert fs.digest == engine.inspect_image(ref).id
    assert differences(indexed, exported) == []
