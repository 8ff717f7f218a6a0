"""Reading an image by a walk of a fresh container, or from the layer cache, gives exactly what
reading its layers from the engine's save stream gives, on every fixture: the same tree (every
entry's type, mode, owner, size, time to the nanosecond, link target, attributes, device, the
same hardlinks) and, keeping every path, the same slim layer byte for byte and the same config.
What a walk cannot know (VOLUMEs, an /etc the engine made) is flagged, so a build falls back.

These tests run the real engine and the real sensor; they are the proof behind
``--read-image auto`` (docs in DEVELOPERS.md, "Image reading for builds")."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

import pytest

from fixtures import all_recipes
from slimmer.arch import host_oci_arch
from slimmer.engine import Engine
from slimmer.imagefs import ImageFs
from slimmer.imagefs.cache import LayerCache
from slimmer.imagefs.fast import TOUCH_MARGIN_NS, open_cached, open_walked
from slimmer.imagefs.model import EntryType
from slimmer.imagefs.reading import read_save_stream
from slimmer.imagefs.served import ServedFs
from slimmer.rebuild.config import build_config
from slimmer.rebuild.layer import write_layer
from tests.speed.engineview_image import engine_view_archive

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SESSION = f"slimmer-test-speed-{uuid.uuid4().hex[:8]}"
MASKED = ("/", "/etc")  # their times are the engine's, fixed by the rebuild


def shape(entry) -> tuple:
    if entry.path == "/":  # the container's own root: the rebuild writes fixed values
        return (entry.type,)
    mtime = None if entry.path in MASKED else entry.mtime
    return (
        entry.type, entry.mode, entry.uid, entry.gid, entry.size, mtime, entry.linkname,
        entry.xattrs, entry.devmajor, entry.devminor,
        entry.linkname if entry.type is EntryType.HARDLINK else "",
    )  # fmt: skip


def slim_layer(fs: ImageFs, paths: list[str]) -> tuple[str, bytes]:
    out = io.BytesIO()
    info = write_layer(fs, paths, out)
    return info.digest, build_config(fs, info)


def may_be_unknown(save: ImageFs) -> set[str]:
    """What a walk may not know of an image: what is under its VOLUMEs (mounted over) and an
    /etc without entries (the engine makes /etc)."""
    volumes = (save.config.get("config") or {}).get("Volumes") or {}
    found = {e.path for v in volumes for e in save.walk(v.rstrip("/") or "/")}
    if not save.listdir("/etc"):
        found.add("/etc")
    return found


def assert_same(save: ImageFs, fast: ServedFs) -> None:
    """Same tree where the fast read knows it; the same slim layer keeping all of that; and
    whatever it does not know is flagged as soon as a build would need it, and is no more than
    what it cannot know."""
    known = {e.path: shape(e) for e in fast}
    expected = {e.path: shape(e) for e in save}
    unknown = {p for p in expected if fast.unknown(p)}
    assert unknown <= may_be_unknown(save)
    assert {p: s for p, s in expected.items() if p not in unknown} == {
        p: s for p, s in known.items() if p not in unknown
    }
    assert set(known) - set(expected) <= unknown
    kept = sorted(p for p in expected if p not in unknown)
    assert slim_layer(save, kept) == slim_layer(fast, kept)
    if unknown:  # keeping everything needs what the walk cannot know: the build falls back
        assert fast.inexact(sorted(expected))


@pytest.fixture(scope="module")
def reader(engine: Engine, tmp_path_factory):
    work = tmp_path_factory.mktemp("speed")
    cache = LayerCache(work / "cache")

    def read(ref: str) -> tuple[ImageFs, ServedFs, ServedFs | None]:
        info = engine.inspect_image(ref)
        # the walk first: Docker's save stream of a layer with whiteouts was seen to change their
        # directory's inode change time (overlay2), so a walk within TOUCH_MARGIN_NS of a save
        # finds that directory changed for the container (the engine-view test was flaky)
        walked = open_walked(engine, SESSION, info, work)
        save = read_save_stream(engine, info, work, cache, None)
        cached = open_cached(engine, SESSION, info, work, cache)
        return save, walked, cached

    yield read
    engine.remove_session(SESSION)


@pytest.mark.parametrize("name", sorted(all_recipes()))
def test_every_fixture_reads_the_same_three_ways(name: str, fixture_image, reader) -> None:
    save, walked, cached = reader(fixture_image(name))
    try:
        assert_same(save, walked)
        assert cached is not None, "every layer was just cached: the cache path applies"
        assert not cached.hidden and not cached.uncertain
        assert_same(save, cached)
    finally:
        for fs in (save, walked, cached):
            if fs is not None:
                fs.close()


@pytest.fixture(scope="module")
def engine_view_ref(engine: Engine):
    ref = f"slimmer-test/speed-engineview:{uuid.uuid4().hex[:12]}"
    engine.load_image(io.BytesIO(engine_view_archive(ref, host_oci_arch())))
    # a layer unpacked less than fast.TOUCH_MARGIN_NS before a container's creation counts as
    # changed for the container (the build would read the layers instead): wait past it
    time.sleep(2 * TOUCH_MARGIN_NS / 1e9)
    yield ref
    engine.remove_image(ref)


def test_engine_view_image(engine_view_ref: str, reader) -> None:
    """What the engine unpacks differently from the tar headers, as the kernel shows it in a
    container, is what the layers' reader gives (engineview's rules are the engine's)."""
    save, walked, cached = reader(engine_view_ref)
    try:
        assert_same(save, walked)
        assert cached is not None
        assert_same(save, cached)
        look = walked.lookup
        assert look("/data/old") is None and look("/data/asdir/inside") is not None
        assert look("/data/future").mtime == 0.0 and look("/data/link").mtime == -100.0
        assert look("/data/frac").mtime == 1700000001.5
        assert "user.x" not in look("/data/link").xattrs
        assert look("/data/capv3").xattrs["security.capability"][3] == 2
        assert look("/data/capv3u").xattrs["security.capability"][3] == 3
        assert "system.posix_acl_access" not in look("/data/acl-eq").xattrs
        assert "security.capability" not in look("/hl/a").xattrs  # the link's chown cleared it
        assert look("/hl/d").xattrs == {"user.y": b"1", "user.z": b"2"}
        assert look("/implied").mtime == 0.0 and look("/implied/sub").mode == 0o755
        assert sorted(walked.listdir("/data/opq")) == ["upper"]
        assert look("/names/new\nline") is not None and look("/names/\udcff\udcfe") is not None
    finally:
        for fs in (save, walked, cached):
            if fs is not None:
                fs.close()


def test_contents_of_the_served_tree_are_the_layers(engine_view_ref: str, reader) -> None:
    save, walked, cached = reader(engine_view_ref)
    try:
        for path in ("/data/big", "/data/frac", "/names/new\nline", "/hl/b"):
            expected = save.open(save.lookup(path)).read()
            assert walked.open(walked.lookup(path)).read() == expected
            assert cached is not None and cached.open(cached.lookup(path)).read() == expected
    finally:
        for fs in (save, walked, cached):
            if fs is not None:
                fs.close()


def test_the_walk_is_not_used_where_it_cannot_be_exact(tmp_path: Path) -> None:
    """Engines other than Docker's overlay2 (Podman, SELinux labels, user namespaces): the
    reason, and no container started."""

    class Other(Engine):
        def __init__(self) -> None:  # no connection: only walk_unsupported is asked
            pass

        def version(self) -> dict:
            return {"Components": [{"Name": "Podman Engine"}]}

    from slimmer.engine import ImageInfo
    from slimmer.imagefs.fast import FastReadUnavailable

    info = ImageInfo("x", "sha256:" + "0" * 64, [], [], 0, {}, "linux", "amd64", "", "")
    with pytest.raises(FastReadUnavailable, match="Podman"):
        open_walked(Other(), SESSION, info, tmp_path)
