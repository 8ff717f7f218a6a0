"""Image sources: docker-archives of old and new engines, OCI layouts (directory and tar) with
every layer compression, platform selection, and broken or hostile archives."""

from __future__ import annotations

import bz2
import io
import json
import lzma
import tarfile
from pathlib import Path

import pytest

from slimmer.errors import ImageFormatError
from slimmer.imagefs import Platform, open_image
from slimmer.imagefs.layout import wanted_platform
from tests.imagefs.crafted import (
    PlatformImage,
    compress,
    config,
    docker_archive,
    file,
    layer,
    oci_layout,
    sha256,
    symlink,
    whiteout,
)

LOWER = layer([file("etc/os-release", b"ID=crafted\n"), symlink("bin", "usr/bin")])
UPPER = layer([file("usr/bin/tool", b"#!tool", 0o755), whiteout("etc/os-release")])


def paths(fs) -> set[str]:
    return {e.path for e in fs}


def read(fs, path: str) -> bytes:
    with fs.open(fs.resolve(path).entry) as handle:
        return handle.read()


@pytest.mark.parametrize("style", ["legacy", "oci"])
def test_docker_archives_of_old_and_new_engines(tmp_path: Path, style: str) -> None:
    archive = docker_archive(tmp_path / "image.tar", [LOWER, UPPER], style=style)
    with open_image(archive, tmp_path / "work") as fs:
        assert paths(fs) == {"/", "/etc", "/bin", "/usr", "/usr/bin", "/usr/bin/tool"}
        assert read(fs, "/bin/tool") == b"#!tool"
        assert fs.digest == sha256(config([LOWER, UPPER]))
        assert fs.diff_ids == [sha256(LOWER), sha256(UPPER)]
        assert fs.platform == Platform("linux", "amd64")
        assert fs.config["config"]["Cmd"] == ["/bin/true"]


def test_a_repeated_layer_stored_once_behind_a_symlink(tmp_path: Path) -> None:
    again = layer([file("etc/os-release", b"again")])
    archive = docker_archive(tmp_path / "image.tar", [again, UPPER, again])
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert sum(n.endswith("layer.tar") for n in names) == 3  # two files, one symlink
    with open_image(archive, tmp_path / "work") as fs:
        assert read(fs, "/etc/os-release") == b"again"
        assert fs.lookup("/etc/os-release").layer == 2


@pytest.mark.parametrize("compression", ["tar", "gzip", "zstd"])
@pytest.mark.parametrize("as_tar", [False, True])
def test_oci_layouts_with_each_compression(tmp_path: Path, compression: str, as_tar: bool) -> None:
    target = tmp_path / ("layout.tar" if as_tar else "layout")
    target.mkdir() if not as_tar else None
    oci_layout(target, [PlatformImage([LOWER, UPPER], compression=compression)], as_tar=as_tar)
    with open_image(target, tmp_path / "work") as fs:
        assert read(fs, "/usr/bin/tool") == b"#!tool"
        assert fs.lookup("/etc/os-release") is None
        in_place = compression == "tar"  # else decompressed into the work directory
        assert all((p.is_relative_to(target) or p == target) == in_place for p in fs.layers)
        assert all(p.is_relative_to(tmp_path / "work") != in_place for p in fs.layers)


MULTI = [
    PlatformImage([layer([file("arch", b"amd64")])]),
    PlatformImage([layer([file("arch", b"arm64")])], architecture="arm64", variant="v8"),
    PlatformImage([layer([file("arch", b"armv7")])], architecture="arm", variant="v7"),
]


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize(
    "platform, expected",
    [
        (None, b"amd64"),
        ("linux/arm64", b"arm64"),
        ("linux/arm64/v8", b"arm64"),
        (Platform("linux", "arm", "v7"), b"armv7"),
    ],
)
def test_platform_selection(tmp_path: Path, nested: bool, platform, expected: bytes) -> None:
    layout = oci_layout(tmp_path / "multi.tar", MULTI, as_tar=True, nested=nested)
    with open_image(layout, tmp_path / "work", platform=platform) as fs:
        assert read(fs, "/arch") == expected
        assert fs.platform.architecture == expected.decode().replace("armv7", "arm")


def test_default_platform_is_the_hosts() -> None:
    wanted, explicit = wanted_platform(None)
    assert not explicit and wanted.os == "linux"


def test_a_platform_the_index_lacks_is_an_error(tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "multi.tar", MULTI, as_tar=True)
    with pytest.raises(ImageFormatError, match=r"no image for linux/s390x .*linux/arm64/v8"):
        open_image(layout, tmp_path / "work", platform="linux/s390x")


def test_an_explicit_platform_is_checked_on_a_single_image(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", [LOWER])
    with pytest.raises(ImageFormatError, match="holds a linux/amd64 image, not linux/arm64"):
        open_image(archive, tmp_path / "work", platform="linux/arm64")
    with pytest.raises(ImageFormatError, match="OS/ARCH"):
        open_image(archive, tmp_path / "work", platform="arm64")


def _rewrite(archive: Path, out: Path, change) -> Path:
    """Copy a tar, passing each (name, data) through ``change`` (None drops the member)."""
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else None
            result = change(member.name, data)
            if result is None:
                continue
            member.size = len(result) if member.isfile() else 0
            target.addfile(member, io.BytesIO(result) if member.isfile() else None)
    return out


def _broken(tmp_path: Path, change, style: str = "legacy") -> Path:
    archive = docker_archive(tmp_path / "good.tar", [LOWER, UPPER], style=style)
    return _rewrite(archive, tmp_path / "broken.tar", change)


def _manifest(edit):
    def change(name: str, data: bytes | None) -> bytes | None:
        if name == "manifest.json":
            document = json.loads(data)
            edit(document)
            return json.dumps(document).encode()
        return data

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda n, d: d[:-1000] if n.endswith("layer.tar") else d, "diff_id|truncated"),
        (lambda n, d: d.replace(b"#!tool", b"#!evil") if d else d, "diff_id"),
        (lambda n, d: None if n.endswith(".json") and n != "manifest.json" else d, "missing"),
        (lambda n, d: None if n == "manifest.json" else d, "neither index.json nor manifest"),
        (lambda n, d: b"{not json" if n == "manifest.json" else d, "not valid JSON"),
        (_manifest(lambda m: m[0]["Layers"].__setitem__(0, "../../etc/passwd")), "climbs"),
        (_manifest(lambda m: m[0]["Layers"].pop()), "the config lists 2 layers"),
        (_manifest(lambda m: m.append({**m[0], "Config": "other.json"})), "holds 2 images"),
        (_manifest(lambda m: m[0]["Layers"].extend(m[0]["Layers"] * 70)), "142 layers"),
        (lambda n, d: b"[" * 100000 + b"]" * 100000 if n == "manifest.json" else d, "not valid"),
        (
            lambda n, d: (
                lzma.compress(d)
                if d and n.endswith("0" + sha256(LOWER)[7:70] + "/layer.tar")
                else d
            ),
            "xz-compressed",
        ),
    ],
)
def test_broken_docker_archives_are_rejected(tmp_path: Path, change, message: str) -> None:
    broken = _broken(tmp_path, change)
    with pytest.raises(ImageFormatError, match=message) as caught:
        open_image(broken, tmp_path / "work")
    assert caught.value.hint
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize(
    "compress_with, kind", [(lzma.compress, "xz-compressed"), (bz2.compress, "bzip2-compressed")]
)
def test_unknown_compressions_are_named(tmp_path: Path, compress_with, kind: str) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    oci_layout(layout, [PlatformImage([LOWER])], as_tar=False)
    blob = layout / "blobs/sha256" / sha256(LOWER)[7:]
    blob.write_bytes(compress_with(LOWER))
    with pytest.raises(ImageFormatError, match=f"is {kind} data, not a tar, gzip or zstd"):
        open_image(layout, tmp_path / "work")


def test_a_corrupt_gzip_stream_is_reported_as_such(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    oci_layout(layout, [PlatformImage([LOWER], compression="gzip")], as_tar=False)
    blob = layout / "blobs/sha256" / sha256(compress(LOWER, "gzip"))[7:]
    data = bytearray(blob.read_bytes())
    data[20:40] = b"\xff" * 20
    blob.write_bytes(bytes(data))
    with pytest.raises(ImageFormatError, match="its compressed stream: gzip"):
        open_image(layout, tmp_path / "work")


def test_archive_member_link_loops_are_refused(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "good.tar", [LOWER, LOWER])  # the second is a symlink
    looped = tmp_path / "looped.tar"
    with tarfile.open(archive) as source, tarfile.open(looped, "w") as target:
        for member in source:
            if member.issym():
                member.linkname = member.name.split("/")[-1]  # points at itself
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
    with pytest.raises(ImageFormatError, match="link loop"):
        open_image(looped, tmp_path / "work")


def test_a_blob_that_does_not_match_its_digest_is_rejected(tmp_path: Path) -> None:
    def change(name: str, data: bytes | None) -> bytes | None:
        if data == LOWER:
            return LOWER[:-512] + b"\x01" + bytes(511)
        return data

    broken = _broken(tmp_path, change, style="oci")
    with pytest.raises(ImageFormatError, match="does not match its digest"):
        open_image(broken, tmp_path / "work")


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_truncated_compressed_layers_are_rejected(tmp_path: Path, kind: str) -> None:
    big = layer([file("data", bytes(range(256)) * 4000)])
    layout = tmp_path / "layout"
    layout.mkdir()
    oci_layout(layout, [PlatformImage([big], compression=kind)], as_tar=False)
    blob = layout / "blobs/sha256" / sha256(compress(big, kind))[7:]
    blob.write_bytes(blob.read_bytes()[:-200])
    with pytest.raises(ImageFormatError, match=r"truncated|digest") as caught:
        open_image(layout, tmp_path / "work")
    assert "blobs/sha256/" in caught.value.message


def test_garbage_is_not_an_image(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"this is not a tar archive at all" * 100)
    with pytest.raises(ImageFormatError, match="not a tar header"):
        open_image(garbage, tmp_path / "work")


def test_a_layout_blob_linking_out_of_the_directory_is_not_read(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    oci_layout(layout, [PlatformImage([LOWER])], as_tar=False)
    outside = tmp_path / "outside"
    blob = layout / "blobs/sha256" / sha256(LOWER)[7:]
    blob.rename(outside)
    blob.symlink_to(outside)
    with pytest.raises(ImageFormatError, match="missing"):
        open_image(layout, tmp_path / "work")


def test_the_work_directory_is_created_and_each_index_has_its_own_spool(tmp_path: Path) -> None:
    archive = oci_layout(
        tmp_path / "oci.tar", [PlatformImage([LOWER], compression="gzip")], as_tar=True
    )
    work = tmp_path / "deep" / "work"
    first = open_image(archive, work)
    second = open_image(archive, work)
    assert first.layers[0].parent != second.layers[0].parent
    first.close()
    assert second.layers[0].exists()
    second.close()
    assert list(work.iterdir()) == []
