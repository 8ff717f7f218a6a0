"""The layer index cache: a cached layer reads back as the layer's own index; corrupt, hostile
or foreign cache files are ignored (and removed), never trusted; the size bound evicts the least
recently used; concurrent writers never leave a partial file."""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from slimmer.imagefs.cache import LayerCache, _encode
from slimmer.imagefs.layer import read_diff
from slimmer.imagefs.tarstream import Member, TarReader

DIFF_ID = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def layer(extra: int = 0) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("usr/", "usr/bin/"):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 5
            tar.addfile(info)
        info = tarfile.TarInfo("usr/bin/tool")
        info.size, info.mode, info.mtime = 4, 0o4755, 1700000000.25
        info.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}
        tar.addfile(info, io.BytesIO(b"tool"))
        link = tarfile.TarInfo("usr/bin/alias")
        link.type, link.linkname, link.mode = tarfile.LNKTYPE, "usr/bin/tool", 0o4755
        tar.addfile(link)
        for number in range(extra):
            info = tarfile.TarInfo(f"usr/f{number}")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    return buffer.getvalue()


def members_of(data: bytes) -> list[Member]:
    return list(TarReader(io.BytesIO(data)))


def shape(diff) -> list[tuple]:
    return sorted(
        (p, None if e is None else (e.type, e.mode, e.mtime, e.xattrs, e.offset, e.size))
        for p, e in diff.tree.entries.items()
    )


@pytest.fixture
def cache(tmp_path: Path) -> LayerCache:
    return LayerCache(tmp_path / "layers", max_bytes=1 << 20)


def test_a_cached_layer_reads_back_as_its_index(cache: LayerCache) -> None:
    data = layer()
    cache.put(DIFF_ID, len(data), members_of(data))
    cached = cache.get(DIFF_ID)
    assert cached is not None and cached.size == len(data) == cache.size_of(DIFF_ID)
    assert shape(cached.diff) == shape(read_diff(TarReader(io.BytesIO(data))))
    assert cache.get(OTHER) is None and not cache.has_all([DIFF_ID, OTHER])
    assert oct(cache.root.stat().st_mode & 0o777) == "0o700"


def test_known_by_size_names_a_blob_only_by_its_unique_size(cache: LayerCache) -> None:
    data = layer()
    cache.put(DIFF_ID, len(data), members_of(data))
    known = cache.known_by_size([DIFF_ID, OTHER])
    assert known(len(data)).diff_id == DIFF_ID and known(len(data) + 512) is None
    cache.put(OTHER, len(data), members_of(data))  # same size, another layer: ambiguous
    assert cache.known_by_size([DIFF_ID, OTHER])(len(data)) is None


def write_raw(cache: LayerCache, diff_id: str, data: bytes) -> Path:
    path = cache.root / f"{diff_id.split(':')[1]}.idx"
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def encoded(members: list[Member], size: int, diff_id: str = DIFF_ID) -> bytes:
    return _encode(diff_id, size, members)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-10],  # truncated
        lambda d: d[:60] + bytes([d[60] ^ 1]) + d[61:],  # a flipped bit: checksum
        lambda d: b"slimmer-layer-index 2" + d[len(b"slimmer-layer-index 1") :],  # version
        lambda d: b"garbage\n",
        lambda d: b"",
    ],
)
def test_a_corrupt_file_is_a_miss_and_goes(cache: LayerCache, damage) -> None:
    data = layer()
    path = write_raw(cache, DIFF_ID, damage(encoded(members_of(data), len(data))))
    assert cache.get(DIFF_ID) is None
    assert not path.exists() or cache.size_of(DIFF_ID) is None


def hostile(members: list[Member]) -> list[list[Member]]:
    """Files with a valid checksum whose content lies: every one must be refused."""
    tool = next(m for m in members if m.name == "usr/bin/tool")
    variants = []
    for change in (
        {"name": "../../escape"},
        {"offset": 0},  # data before its header
        {"offset": tool.offset + 10**9},  # beyond the layer
        {"size": -1},
        {"uid": 1 << 40},
        {"mtime": float("nan")},
        {"typeflag": b"V"},
        {"xattrs": {"bad=name": b"x"}},
        {"name": "usr/bin/x" * 500},
    ):
        variants.append([_replace(m, change) if m is tool else m for m in members])
    variants.append([*members, _replace(tool, {"name": "usr/bin/again"})])  # overlapping data
    return variants


def _replace(member: Member, change: dict) -> Member:
    values = {k: getattr(member, k) for k in Member.__dataclass_fields__}
    return Member(**{**values, **change})


def test_hostile_files_with_valid_checksums_are_refused(cache: LayerCache) -> None:
    data = layer()
    for members in hostile(members_of(data)):
        path = write_raw(cache, DIFF_ID, encoded(members, len(data)))
        assert cache.get(DIFF_ID) is None, members
        assert not path.exists()


def test_another_layers_index_under_this_name_is_refused(cache: LayerCache) -> None:
    data = layer()
    write_raw(cache, DIFF_ID, encoded(members_of(data), len(data), diff_id=OTHER))
    assert cache.get(DIFF_ID) is None


def test_files_others_can_write_are_not_used(cache: LayerCache, tmp_path: Path) -> None:
    data = layer()
    cache.put(DIFF_ID, len(data), members_of(data))
    path = cache.root / f"{DIFF_ID.split(':')[1]}.idx"
    path.chmod(0o666)
    assert cache.get(DIFF_ID) is None and cache.size_of(DIFF_ID) is None
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    assert not LayerCache(shared).usable


def test_the_bound_evicts_the_least_recently_used(tmp_path: Path) -> None:
    data = layer(extra=300)
    size = len(encoded(members_of(data), len(data)))
    cache = LayerCache(tmp_path / "layers", max_bytes=size * 3 + size // 2)
    ids = [f"sha256:{n:064x}" for n in range(5)]
    for number, diff_id in enumerate(ids[:3]):
        cache.put(diff_id, len(data), members_of(data))
        stamp = 1_000_000 + number
        os.utime(cache.root / f"{diff_id.split(':')[1]}.idx", (stamp, stamp))
    assert cache.get(ids[0]) is not None  # used now: the most recent
    cache.put(ids[3], len(data), members_of(data))
    present = [d for d in ids if cache.size_of(d) is not None]
    assert ids[0] in present and ids[3] in present and ids[1] not in present
    assert sum(p.stat().st_size for p in cache.root.glob("*.idx")) <= cache.max_bytes


def test_concurrent_writers_and_readers_see_whole_files(tmp_path: Path) -> None:
    data = layer(extra=200)
    members = members_of(data)
    caches = [LayerCache(tmp_path / "layers") for _ in range(6)]
    failures: list[str] = []

    def work(cache: LayerCache) -> None:
        for _ in range(15):
            cache.put(DIFF_ID, len(data), members)
            found = cache.get(DIFF_ID)
            if found is None or found.size != len(data):
                failures.append("a reader saw no whole file")

    threads = [threading.Thread(target=work, args=(c,)) for c in caches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert not list((tmp_path / "layers").glob("*.tmp"))
