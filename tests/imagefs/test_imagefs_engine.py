"""The merged tree equals what the engine shows (`docker export`), for crafted images and every
fixture image, read from the engine's save stream."""

from __future__ import annotations

import pytest

from slimmer.engine import Engine
from slimmer.imagefs import open_image
from tests.imagefs.crafted import BASE, EXPECTED, FIXTURES, UPPER, docker_archive, sha256
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
