"""A corpus of hostile archives and the exact error each must give: traversal, links out of the
root, link loops, decompression bombs, truncation, values the engine or the rebuild cannot take,
malformed manifests, indexes and configs. Nothing else may escape ``open_image``, and nothing
may be left in the work directory."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tracemalloc
import zlib
from pathlib import Path

import pytest
import zstandard

from slimmer.errors import ImageFormatError
from slimmer.imagefs import open_image
from tests.imagefs.crafted import (
    PlatformImage,
    config,
    docker_archive,
    file,
    hardlink,
    layer,
    oci_layout,
    open_layers,
    pax_header,
    pax_record,
    raw_header,
    raw_layer,
    sha256,
    symlink,
)

ID_RANGE = "0..2147483647"


def label(data: bytes, number: int = 0) -> str:
    """The name `docker_archive` gives a layer in the archive (legacy layout)."""
    return f"{number:02d}{sha256(data)[7:70]}/layer.tar"


def with_field(header: bytes, start: int, value: bytes) -> bytes:
    """A header block with ``value`` at ``start`` and its checksum made right again."""
    block = bytearray(header)
    block[start : start + len(value)] = value
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def failure(tmp_path: Path, *layers: bytes, **options) -> str:
    """The message of the ImageFormatError indexing a one-image archive of ``layers`` gives."""
    archive = docker_archive(tmp_path / "image.tar", layers)
    with pytest.raises(ImageFormatError) as caught:
        open_image(archive, tmp_path / "work", **options)
    assert caught.value.hint
    assert list((tmp_path / "work").iterdir()) == []  # nothing left behind
    return caught.value.message


A = (raw_header(b"a"), b"")
BASE256_MINUS_ONE = b"\xff" * 8
DEVICE = raw_header(b"dev/x", b"3")

LAYER_CASES = {
    "traversal": (
        raw_layer((raw_header(b"../../etc/passwd", size=1), b"x")),
        "entry '../../etc/passwd': name climbs out of the image root with '..'",
    ),
    "hardlink out of the root": (
        layer([hardlink("h", "../../etc/shadow")]),
        "entry 'h': hardlink target climbs out of the image root",
    ),
    "hardlink to itself": (
        layer([hardlink("h", "h")]),
        "entry 'h': hardlink to /h, which is not an earlier entry of this layer",
    ),
    "file under a symlink": (
        layer([symlink("s", "/etc"), file("s/passwd")]),
        "entry 's/passwd': entry under /s, which is not a directory here",
    ),
    "truncated data": (
        raw_layer((raw_header(b"big", size=1 << 20), b"short"), end=False),
        "entry 'big': archive is truncated inside a member's data",
    ),
    "PAX number too long for int()": (
        raw_layer(pax_header(pax_record(b"uid", b"9" * 5000)), A),
        "entry 'a': invalid PAX uid b'99999999999999999999'",
    ),
    "PAX number beyond 64 bits": (
        raw_layer(pax_header(pax_record(b"size", b"9223372036854775808")), A),
        "entry 'a': invalid PAX size b'9223372036854775808'",
    ),
    "mtime that reads as inf": (
        raw_layer(pax_header(pax_record(b"mtime", b"9" * 400 + b".5")), A),
        "entry 'a': invalid PAX mtime b'99999999999999999999'",
    ),
    "negative uid": (
        raw_layer((with_field(raw_header(b"a"), 108, BASE256_MINUS_ONE), b"")),
        f"entry 'a': uid -1 is outside {ID_RANGE}",
    ),
    "uid above 2^31-1": (
        raw_layer(pax_header(pax_record(b"uid", b"3000000000")), A),
        f"entry 'a': uid 3000000000 is outside {ID_RANGE}",
    ),
    "root directory owned by uid -1": (
        raw_layer((with_field(raw_header(b"./", b"5"), 108, BASE256_MINUS_ONE), b"")),
        f"entry './': uid -1 is outside {ID_RANGE}",
    ),
    "gid 2^31": (
        raw_layer(pax_header(pax_record(b"gid", b"2147483648")), A),
        f"entry 'a': gid 2147483648 is outside {ID_RANGE}",
    ),
    "device number a header cannot carry": (
        raw_layer((with_field(DEVICE, 329, b"\x80" + bytes(3) + b"\x01" + bytes(3)), b"")),
        "entry 'dev/x': device major number 16777216 is outside 0..2097151",
    ),
    "xattr name with NUL": (
        raw_layer(pax_header(pax_record(b"SCHILY.xattr.user.a\0b", b"v")), A),
        "entry 'a': invalid extended attribute name 'user.a\\x00b'",
    ),
    "empty xattr name": (
        raw_layer(pax_header(pax_record(b"SCHILY.xattr.", b"v")), A),
        "entry 'a': invalid extended attribute name ''",
    ),
    "xattr value over 64 KiB": (
        raw_layer(pax_header(pax_record(b"SCHILY.xattr.user.big", b"v" * 65537)), A),
        "entry 'a': extended attribute 'user.big' is larger than 65536 bytes",
    ),
    "volume label (the engine refuses type V)": (
        raw_layer((raw_header(b"label", b"V"), b""), A),
        "entry 'label': unsupported entry type b'V'",
    ),
    "malformed global header": (
        raw_layer((raw_header(b"g", b"g", 9), b"99 path=a"), A),
        "the first header: malformed PAX record length",
    ),
}


@pytest.mark.parametrize("case", LAYER_CASES)
def test_hostile_layers_give_their_exact_error(tmp_path: Path, case: str) -> None:
    data, expected = LAYER_CASES[case]
    assert failure(tmp_path, data) == f"layer {label(data)}, {expected}"


def test_a_layer_that_is_not_a_tar_is_named(tmp_path: Path) -> None:
    data = raw_header(b"a")[:300]
    expected = f"layer {label(data)} is data of an unknown format, not a tar, gzip or zstd stream"
    assert failure(tmp_path, data) == expected


# ---- archive members: traversal, links out, loops -------------------------------------------


def _rewrite(archive: Path, out: Path, change) -> Path:
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for member in source:
            data = source.extractfile(member) if member.isfile() else None
            change(member)
            target.addfile(member, data)
    return out


def test_archive_members_that_climb_out_or_loop_are_refused(tmp_path: Path) -> None:
    lower = layer([file("a")])
    archive = docker_archive(tmp_path / "good.tar", [lower, lower])  # the second is a symlink

    def out(member: tarfile.TarInfo) -> None:
        if member.issym():
            member.linkname = "../../../../etc/passwd"

    def loop(member: tarfile.TarInfo) -> None:
        if member.issym():
            member.linkname = "layer.tar"

    escaping = _rewrite(archive, tmp_path / "out.tar", out)
    with pytest.raises(ImageFormatError) as caught:
        open_image(escaping, tmp_path / "work")
    assert caught.value.message == (
        f"{escaping}: member name '01{sha256(lower)[7:70]}/../../../../etc/passwd' climbs "
        "out with '..'"
    )
    looping = _rewrite(archive, tmp_path / "loop.tar", loop)
    with pytest.raises(ImageFormatError) as caught:
        open_image(looping, tmp_path / "work")
    assert caught.value.message == (
        f"{looping}: member '01{sha256(lower)[7:70]}/layer.tar' is a link loop"
    )
    assert list((tmp_path / "work").iterdir()) == []


# ---- decompression bombs and data after the end of the archive -----------------------------

BOMB_FILE = 64 << 20  # bytes of zeros: a few kB compressed
CAP = 16 << 20


def _oci(tmp_path: Path, stored: bytes, diff_id: str) -> tuple[Path, str]:
    """An OCI layout directory of one image whose single layer blob is ``stored``."""
    root = tmp_path / "layout"
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    conf = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {"digest": sha256(conf), "size": len(conf)},
            "layers": [{"digest": sha256(stored), "size": len(stored)}],
        }
    ).encode()
    for data in (stored, conf, manifest):
        (blobs / sha256(data)[7:]).write_bytes(data)
    index = {"schemaVersion": 2, "manifests": [{"digest": sha256(manifest)}]}
    (root / "index.json").write_text(json.dumps(index))
    return root, f"blobs/sha256/{sha256(stored)[7:]}"


def _streamed_zeros(kind: str, prefix: bytes, count: int) -> tuple[bytes, str]:
    """``prefix`` followed by ``count`` zero bytes, compressed without holding them; and the
    sha256 of the uncompressed stream."""
    digest = hashlib.sha256(prefix)
    chunk = bytes(1 << 20)
    for _ in range(count >> 20):
        digest.update(chunk)
    if kind == "zstd":
        compressor = zstandard.ZstdCompressor().compressobj()
    else:
        compressor = zlib.compressobj(wbits=31)
    parts = [compressor.compress(prefix)]
    parts += [compressor.compress(chunk) for _ in range(count >> 20)]
    parts.append(compressor.flush())
    return b"".join(parts), "sha256:" + digest.hexdigest()


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_a_decompression_bomb_stops_at_the_cap(tmp_path: Path, kind: str) -> None:
    header = raw_header(b"zeros", size=BOMB_FILE)
    stored, diff_id = _streamed_zeros(kind, header, BOMB_FILE)
    assert len(stored) < 1 << 20
    layout, name = _oci(tmp_path, stored, diff_id)
    with pytest.raises(ImageFormatError) as caught:
        open_image(layout, tmp_path / "work", max_layer_bytes=CAP)
    assert caught.value.message == f"layer {name} is larger than {CAP} bytes uncompressed"
    assert "--max-layer-bytes" in caught.value.hint
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_data_after_the_end_of_the_archive_is_hashed_not_spooled(tmp_path: Path, kind: str) -> None:
    tar = layer([file("etc/hostname", b"small\n")])
    stored, diff_id = _streamed_zeros(kind, tar, BOMB_FILE)
    layout, name = _oci(tmp_path, stored, diff_id)
    with open_image(layout, tmp_path / "work") as fs:
        assert fs.diff_ids == [diff_id]  # the trailing zeros are part of the layer's digest
        spooled = fs.layers[0].stat().st_size
        assert spooled <= len(tar) + (1 << 20)  # at most one read chunk beyond the archive
        assert fs.layer_sizes == [spooled]
        with fs.open(fs.lookup("/etc/hostname")) as handle:
            assert handle.read() == b"small\n"
    with pytest.raises(ImageFormatError) as caught:
        open_image(layout, tmp_path / "work", max_layer_bytes=CAP)
    assert caught.value.message == f"layer {name} is larger than {CAP} bytes uncompressed"


def test_an_uncompressed_layer_over_the_cap_is_refused(tmp_path: Path) -> None:
    data = layer([file("f", bytes(4096))])
    expected = f"layer {label(data)} is larger than 4096 bytes uncompressed"
    assert failure(tmp_path, data, max_layer_bytes=4096) == expected


# ---- what the engine ignores --------------------------------------------------------------


def test_global_headers_and_libarchive_xattrs_give_nothing(tmp_path: Path) -> None:
    """Go's reader (the engine's) applies a `g` header to no member and knows no
    LIBARCHIVE.xattr records: a rebuilt image must not grow owners, links or capabilities."""
    data = raw_layer(
        pax_header(
            pax_record(b"SCHILY.xattr.security.capability", b"\x01\x00\x00\x02"),
            pax_record(b"uid", b"77"),
            pax_record(b"linkpath", b"/evil"),
            kind=b"g",
        ),
        (raw_header(b"bin", size=1), b"x"),
        (raw_header(b"link", b"2", linkname=b"bin"), b""),
        pax_header(pax_record(b"LIBARCHIVE.xattr.user.a%3Db", b"dmFs")),
        (raw_header(b"lib", size=1), b"y"),
        pax_header(pax_record(b"SCHILY.xattr.user.empty", b"")),
        (raw_header(b"empty", size=1), b"z"),
    )
    with open_layers(tmp_path, data) as fs:
        for path in ("/bin", "/link", "/lib", "/empty"):
            entry = fs.lookup(path)
            assert (entry.uid, entry.xattrs) == (0, {}), path
        assert fs.lookup("/link").linkname == "bin"


# ---- malformed manifests, indexes and configs ---------------------------------------------


def _docker_archive_with(tmp_path: Path, manifest_edit=None, config_bytes=None) -> Path:
    base = layer([file("a")])
    archive = docker_archive(tmp_path / "image.tar", [base], config_bytes=config_bytes)
    if manifest_edit is None:
        return archive
    out = tmp_path / "edited.tar"
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else b""
            if member.name == "manifest.json":
                document = json.loads(data)
                manifest_edit(document)
                data = json.dumps(document).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return out


def _config_with(**changes) -> bytes:
    document = json.loads(config([layer([file("a")])]))
    document.update(changes)
    return json.dumps(document).encode()


DOCKER_CASES = {
    "RepoTags: 5": (
        lambda m: m[0].__setitem__("RepoTags", 5),
        None,
        "{archive}: manifest.json has malformed RepoTags",
    ),
    "RepoTags with a number": (
        lambda m: m.append({**m[0], "Config": "x.json", "RepoTags": ["a", 5]}),
        None,
        "{archive}: manifest.json has malformed RepoTags",
    ),
    "config: a list": (
        None,
        _config_with(config=[]),
        "{archive}: the image config's config is not an object",
    ),
    "Env: a string": (
        None,
        _config_with(config={"Env": "PATH=/bin"}),
        "{archive}: the image config's config.Env is not a list of strings",
    ),
    "Labels with a number": (
        None,
        _config_with(config={"Labels": {"a": 1}}),
        "{archive}: the image config's config.Labels has a value that is not a string",
    ),
    "architecture: a number": (
        None,
        _config_with(architecture=5),
        "{archive}: the image config's architecture is not a string",
    ),
}


@pytest.mark.parametrize("case", DOCKER_CASES)
def test_malformed_docker_manifests_and_configs(tmp_path: Path, case: str) -> None:
    edit, config_bytes, expected = DOCKER_CASES[case]
    archive = _docker_archive_with(tmp_path, edit, config_bytes)
    with pytest.raises(ImageFormatError) as caught:
        open_image(archive, tmp_path / "work")
    assert caught.value.message == expected.format(archive=archive)
    assert list((tmp_path / "work").iterdir()) == []


def _layout_index(tmp_path: Path, edit) -> Path:
    root = tmp_path / "layout"
    root.mkdir()
    oci_layout(root, [PlatformImage([layer([file("a")])])], as_tar=False)
    index = json.loads((root / "index.json").read_text())
    edit(index, root)
    (root / "index.json").write_text(json.dumps(index))
    return root


def _edit_manifest(index: dict, root: Path, change) -> None:
    descriptor = index["manifests"][0]
    blob = root / "blobs/sha256" / descriptor["digest"][7:]
    manifest = json.loads(blob.read_bytes())
    change(manifest)
    data = json.dumps(manifest).encode()
    (root / "blobs/sha256" / sha256(data)[7:]).write_bytes(data)
    descriptor.update(digest=sha256(data), size=len(data))


INDEX_CASES = {
    "annotations: a list": (
        lambda i, r: i["manifests"][0].__setitem__("annotations", ["x"]),
        "{layout}: a descriptor whose annotations or platform is not an object",
    ),
    "platform: a string": (
        lambda i, r: i["manifests"][0].__setitem__("platform", "linux/amd64"),
        "{layout}: a descriptor whose annotations or platform is not an object",
    ),
    "platform os: a number": (
        lambda i, r: i["manifests"][0].__setitem__("platform", {"os": 5, "architecture": "x"}),
        "a platform whose os, architecture or variant is not a string",
    ),
    "manifests: a number among objects": (
        lambda i, r: i["manifests"].append(5),
        "{layout}: an image index lists a non-object",
    ),
    "digests that are lists": (
        lambda i, r: i.__setitem__("manifests", [{"digest": [1]}, {"digest": [2]}]),
        "{layout} holds 2 different images",
    ),
    "manifest config: a list": (
        lambda i, r: _edit_manifest(i, r, lambda m: m.__setitem__("config", [])),
        "{layout}: an image manifest without config or layers",
    ),
    "manifest layers: an object": (
        lambda i, r: _edit_manifest(i, r, lambda m: m.__setitem__("layers", {})),
        "{layout}: an image manifest without config or layers",
    ),
}


@pytest.mark.parametrize("case", INDEX_CASES)
def test_malformed_oci_indexes_and_manifests(tmp_path: Path, case: str) -> None:
    edit, expected = INDEX_CASES[case]
    layout = _layout_index(tmp_path, edit)
    with pytest.raises(ImageFormatError) as caught:
        open_image(layout, tmp_path / "work")
    assert caught.value.message == expected.format(layout=layout)
    assert list((tmp_path / "work").iterdir()) == []


# ---- bounded memory ------------------------------------------------------------------------


def _peak_mb(tmp_path: Path, data: bytes) -> tuple[float, int]:
    archive = docker_archive(tmp_path / "image.tar", [data])
    tracemalloc.start()
    try:
        with open_image(archive, tmp_path / "work") as fs:
            entries = len(fs)
        return tracemalloc.get_traced_memory()[1] / 1e6, entries
    finally:
        tracemalloc.stop()


def test_deep_paths_cost_each_path_once(tmp_path: Path) -> None:
    """Missing parents of deep names become entries; their paths are held once (the layer
    tree, the merged tree and the index share them), not once per structure."""
    chains = [f"c{i}/" + "d/" * 1000 + "f" for i in range(8)]
    text = sum(len(f"/c{i}/" + "d/" * k) for i in range(8) for k in range(1001))
    peak, entries = _peak_mb(tmp_path, layer([file(name) for name in chains]))
    assert entries == 8 * 1002 + 1
    assert peak < 2 * text / 1e6 + 10, (peak, text)


def test_directories_no_entry_names_are_bounded(tmp_path: Path) -> None:
    """80 names at PATH_MAX depth (4 kB paths) would make 330 MB of implicit directory paths
    from a 370 kB layer: refused, naming the layer and the entry, at bounded memory."""
    chains = [f"c{i:02d}/" + "d/" * 2000 + "f" for i in range(80)]
    data = layer([file(name) for name in chains])
    assert len(data) < 1_000_000
    tracemalloc.start()
    try:
        with (
            pytest.raises(ImageFormatError, match="MiB of directories that no entry names") as err,
            open_image(docker_archive(tmp_path / "image.tar", [data]), tmp_path / "work"),
        ):
            pass
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert "/d/d/d" in str(err.value) and "layer" in str(err.value)
    assert peak < 80, peak


def test_global_xattrs_cost_nothing_per_member(tmp_path: Path) -> None:
    records = [pax_record(b"SCHILY.xattr.user.x%05d" % i, b"v" * 20) for i in range(5000)]
    data = raw_layer(
        pax_header(*records, kind=b"g"),
        *[(raw_header(b"f%04d" % i), b"") for i in range(400)],
    )
    peak, entries = _peak_mb(tmp_path, data)
    assert entries == 401
    assert peak < 20, peak


def test_a_large_hardlink_group_costs_linear_memory(tmp_path: Path) -> None:
    """Each link adds an xattr to the shared inode: the names share one dict of them."""
    links = [hardlink(f"l{i}", "f", xattrs={f"user.l{i}": "v"}) for i in range(2000)]
    peak, entries = _peak_mb(tmp_path, layer([file("f", b"data"), *links]))
    assert entries == 2002
    assert peak < 20, peak


def test_values_from_the_last_link_header_win(tmp_path: Path) -> None:
    data = layer(
        [
            file("f", b"data", 0o644, uid=1, xattrs={"user.a": "1"}),
            hardlink("g", "f", mode=0o755, uid=2, xattrs={"user.b": "2"}),
            hardlink("h", "f", mode=0o700, uid=3),
        ]
    )
    with open_layers(tmp_path, data) as fs:
        for path in ("/f", "/g", "/h"):
            entry = fs.lookup(path)
            assert (entry.mode, entry.uid) == (0o700, 3), path
            assert entry.xattrs == {"user.a": b"1", "user.b": b"2"}, path


def test_names_from_the_archive_are_shown_escaped(tmp_path: Path) -> None:
    """A name with a newline or an undecodable byte cannot break the one-line error."""
    edit = lambda m: m[0]["Layers"].__setitem__(0, "x\n\udce9/layer.tar")  # noqa: E731
    archive = _docker_archive_with(tmp_path, edit)
    with pytest.raises(ImageFormatError) as caught:
        open_image(archive, tmp_path / "work")
    assert caught.value.message == f"{archive}: x\\n\\udce9/layer.tar is missing"
    assert caught.value.one_line().isprintable()


def test_an_unreadable_archive_is_a_slimmer_error(tmp_path: Path) -> None:
    from slimmer.errors import SlimmerError

    missing = tmp_path / "gone.tar"
    missing.symlink_to(tmp_path / "nowhere")
    with pytest.raises(SlimmerError) as caught:
        open_image(missing, tmp_path / "work")
    assert caught.value.message.startswith("cannot read the image: [Errno 2]")
    assert list((tmp_path / "work").iterdir()) == []
