"""Slim images loaded into a real engine: "keep everything" exports the same tree as the original
and still works; builds are reproducible; capabilities, setuid bits and hardlinks survive; the
OCI output loads."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from slimmer.engine import Engine
from slimmer.imagefs import open_image
from slimmer.rebuild import build_image
from tests.imagefs.crafted import (
    CAP_NET_BIND,
    FIXTURES,
    directory,
    docker_archive,
    file,
    hardlink,
    layer,
    sha256,
    symlink,
    whiteout,
)
from tests.imagefs.exported import differences, exported_tree

pytestmark = pytest.mark.docker
REPO = "slimmer-test-rebuild"

CRAFTED = [
    layer(
        [
            directory("bin/", mtime=1_500_000_000),
            directory("sbin/", 0o700, mtime=1_500_000_001),
            file(
                "bin/ping",
                b"\x7fELF ping",
                0o755,
                xattrs={"security.capability": CAP_NET_BIND.decode("latin-1")},
            ),
            file("bin/su", b"\x7fELF su", 0o4755),
            file("bin/newgrp", b"\x7fELF newgrp", 0o2755, gid=42),
            file("sbin/target", b"linked content", 0o700, uid=7, gid=8),
            hardlink("sbin/link1", "sbin/target", mode=0o700, uid=7, gid=8),
            hardlink("sbin/link2", "sbin/target", mode=0o700, uid=7, gid=8),
            symlink("sbin/sh", "../bin/su"),
            directory("tmp/", 0o1777),
            file("bin/old", b"old"),
        ]
    ),
    layer(
        [
            directory("bin/", mtime=1_600_000_000),
            whiteout("bin/old"),
            file("bin/new", b"new", mtime=1.5e9),
        ]
    ),
]


@pytest.fixture(scope="module")
def crafted(engine: Engine, tmp_path_factory) -> str:
    tag = f"{REPO}/crafted:{sha256(b''.join(CRAFTED))[7:19]}"
    archive = docker_archive(tmp_path_factory.mktemp("crafted") / "image.tar", CRAFTED, tags=[tag])
    with open(archive, "rb") as handle:
        engine.load_image(handle)
    yield tag
    engine.remove_image(tag)


@pytest.fixture
def tags(engine: Engine):
    """Unique slim tags for a test, removed afterwards."""
    made: list[str] = []

    def new(name: str) -> str:
        made.append(f"{REPO}/{name}.slim:{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield new
    for tag in made:
        engine.remove_image(tag)


def test_keep_everything_of_a_crafted_image_exports_the_same_tree(
    engine: Engine, crafted: str, tags, tmp_path
) -> None:
    with open_image(crafted, tmp_path / "index", engine=engine) as fs:
        tag = tags("crafted")
        build_image(engine, fs, [e.path for e in fs], tag, tmp_path / "build")
    original = exported_tree(engine, crafted)
    assert original["/bin/ping"].xattrs  # the engine kept it: the comparison below means something
    assert differences(exported_tree(engine, tag), original) == []


def test_capabilities_setuid_and_hardlinks_survive_a_partial_keep(
    engine: Engine, crafted: str, tags, tmp_path
) -> None:
    kept = ["/bin/ping", "/bin/su", "/bin/newgrp", "/sbin/link1", "/sbin/link2", "/sbin/sh"]
    with open_image(crafted, tmp_path / "index", engine=engine) as fs:
        tag = tags("partial")
        build_image(engine, fs, kept, tag, tmp_path / "build")
    slim = exported_tree(engine, tag)
    assert set(slim) == {"/bin", "/sbin", *kept}
    assert slim["/bin/ping"].xattrs == (("security.capability", CAP_NET_BIND),)
    assert slim["/bin/su"].mode == 0o4755
    assert (slim["/bin/newgrp"].mode, slim["/bin/newgrp"].gid) == (0o2755, 42)
    assert slim["/sbin"].mode == 0o700 and slim["/sbin"].mtime == 1_500_000_001
    assert slim["/bin"].mtime == 1_600_000_000
    link1, link2 = slim["/sbin/link1"], slim["/sbin/link2"]
    assert link1.type == "file" and link1.sha256 == sha256(b"linked content")[7:]
    assert (link1.mode, link1.uid, link1.gid) == (0o700, 7, 8)
    assert link2.type == "hardlink" and link2.linkname == "/sbin/link1"


def test_two_builds_give_the_same_image_id(engine: Engine, crafted: str, tags, tmp_path) -> None:
    ids = []
    for run in ("one", "two"):
        with open_image(crafted, tmp_path / run, engine=engine) as fs:
            tag = tags(f"repro-{run}")
            ids.append(build_image(engine, fs, ["/bin/su", "/sbin/link2"], tag, tmp_path / run).id)
            assert engine.inspect_image(tag).id == ids[-1]
    assert ids[0] == ids[1]


@pytest.mark.parametrize("output", ["archive", "oci"])
def test_the_archive_outputs_load_into_the_engine(
    engine: Engine, crafted: str, tags, tmp_path, output: str
) -> None:
    tag = tags(output)
    target = tmp_path / f"slim-{output}.tar"
    with open_image(crafted, tmp_path / "index", engine=engine) as fs:
        image = build_image(None, fs, ["/bin/ping"], tag, tmp_path / "build", **{output: target})
    assert target.exists()
    assert not engine.client.images.list(name=tag)  # engine=None: nothing was loaded
    with open(target, "rb") as handle:
        loaded = engine.load_image(handle)
    assert loaded == [tag]
    assert engine.inspect_image(tag).id == image.id
    assert exported_tree(engine, tag)["/bin/ping"].xattrs == (
        ("security.capability", CAP_NET_BIND),
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", FIXTURES)
def test_keep_everything_of_each_fixture(
    name: str, engine: Engine, fixture_image, tags, tmp_path: Path
) -> None:
    from tests.checks import CHECKS

    ref = fixture_image(name)
    tag = tags(name)
    with open_image(ref, tmp_path / "index", engine=engine) as fs:
        image = build_image(
            engine, fs, [e.path for e in fs], tag, tmp_path / "build", oci=tmp_path / "slim-oci.tar"
        )
    assert differences(exported_tree(engine, tag), exported_tree(engine, ref)) == []
    original, slim = engine.inspect_image(ref), engine.inspect_image(tag)
    assert slim.id == image.id
    for key in (
        "Env",
        "Entrypoint",
        "Cmd",
        "WorkingDir",
        "User",
        "ExposedPorts",
        "Volumes",
        "StopSignal",
        "Healthcheck",
        "Shell",
    ):
        assert slim.config.get(key) == original.config.get(key), key
    assert slim.config["Labels"]["io.slimmer.source-digest"] == original.id
    CHECKS[name](engine, tag)
