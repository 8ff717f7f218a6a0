"""Crafted layers and image archives for the image-reader and rebuild tests.

Layers are built with the standard tarfile module (PAX), so tests do not depend on the code
under test to make their inputs; ``raw_header`` makes the headers tarfile refuses to write.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

MTIME = 1_600_000_000
CAP_NET_BIND = b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"


@dataclass
class Item:
    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    mtime: float = MTIME
    xattrs: dict[str, str] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0
    uname: str = ""
    gname: str = ""


def file(name: str, data: bytes = b"x", mode: int = 0o644, **kw: object) -> Item:
    return Item(name, tarfile.REGTYPE, data, mode, **kw)  # type: ignore[arg-type]


def directory(name: str, mode: int = 0o755, **kw: object) -> Item:
    return Item(name, tarfile.DIRTYPE, mode=mode, **kw)  # type: ignore[arg-type]


def symlink(name: str, target: str, **kw: object) -> Item:
    return Item(name, tarfile.SYMTYPE, mode=0o777, linkname=target, **kw)  # type: ignore[arg-type]


def hardlink(name: str, target: str, **kw: object) -> Item:
    return Item(name, tarfile.LNKTYPE, linkname=target, **kw)  # type: ignore[arg-type]


def whiteout(path: str) -> Item:
    head, _, base = path.rpartition("/")
    return file(f"{head}/.wh.{base}" if head else f".wh.{base}", b"")


def opaque(directory_name: str) -> Item:
    return file(f"{directory_name.rstrip('/')}/.wh..wh..opq", b"")


def layer(items: Sequence[Item]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in items:
            info = tarfile.TarInfo(item.name)
            info.type = item.type
            info.mode = item.mode
            info.uid, info.gid = item.uid, item.gid
            info.uname, info.gname = item.uname, item.gname
            info.mtime = item.mtime
            info.linkname = item.linkname
            info.devmajor, info.devminor = item.devmajor, item.devminor
            info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in item.xattrs.items()}
            if item.type == tarfile.REGTYPE:
                info.size = len(item.data)
                tar.addfile(info, io.BytesIO(item.data))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def raw_header(
    name: bytes, typeflag: bytes = b"0", size: int = 0, linkname: bytes = b"", mode: int = 0o644
) -> bytes:
    """A ustar header block with any name bytes (NUL, '..', absolute) and a valid checksum."""
    block = bytearray(512)
    block[0:100] = name[:100].ljust(100, b"\0")
    block[100:108] = b"%07o\0" % mode
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % size
    block[136:148] = b"%011o\0" % MTIME
    block[156:157] = typeflag
    block[157:257] = linkname[:100].ljust(100, b"\0")
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def pax_record(key: bytes, value: bytes) -> bytes:
    """One PAX record "LEN KEY=VALUE\\n" with its length right."""
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def pax_header(
    *records: bytes, kind: bytes = b"x", name: bytes = b"PaxHeader"
) -> tuple[bytes, bytes]:
    """An extended header member (``x``, or ``g`` for a global one) carrying ``records``."""
    data = b"".join(records)
    return raw_header(name, kind, len(data)), data


def raw_layer(*members: tuple[bytes, bytes], end: bool = True) -> bytes:
    """A tar from (header block, data) pairs, data padded; with or without the end blocks."""
    out = b"".join(h + d + bytes(-len(d) % 512) for h, d in members)
    return out + bytes(1024) if end else out


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config(layers: Sequence[bytes], **extra: object) -> bytes:
    document = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": ["/bin/true"], "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(data) for data in layers]},
        "history": [{"created": "2024-01-02T03:04:05Z"} for _ in layers],
        **extra,
    }
    return json.dumps(document).encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = MTIME
    tar.addfile(info, io.BytesIO(data))


def docker_archive(
    path: Path,
    layers: Sequence[bytes],
    *,
    tags: Sequence[str] = ("crafted/image:1",),
    config_bytes: bytes | None = None,
    style: str = "legacy",
) -> Path:
    """A `docker save` archive: ``legacy`` (<id>/layer.tar, engines before 25, a repeated
    layer stored once and symlinked, as they do) or ``oci`` (blobs/sha256, Engine 25+)."""
    config_bytes = config_bytes or config(layers)
    config_hex = sha256(config_bytes).split(":")[1]
    with tarfile.open(path, "w") as tar:
        names: list[str] = []
        if style == "legacy":
            _add(tar, f"{config_hex}.json", config_bytes)
            first: dict[bytes, str] = {}
            for number, data in enumerate(layers):
                name = f"{number:02d}{sha256(data)[7:70]}/layer.tar"
                if data in first:
                    link = tarfile.TarInfo(name)
                    link.type = tarfile.SYMTYPE
                    link.linkname = f"../{first[data]}"
                    tar.addfile(link)
                else:
                    first[data] = name
                    _add(tar, name, data)
                names.append(name)
            config_name = f"{config_hex}.json"
        else:
            for data in (*layers, config_bytes):
                blob = f"blobs/sha256/{sha256(data)[7:]}"
                if blob not in tar.getnames():
                    _add(tar, blob, data)
            names = [f"blobs/sha256/{sha256(d)[7:]}" for d in layers]
            config_name = f"blobs/sha256/{config_hex}"
            _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            manifest = _oci_manifest(config_bytes, list(layers), "tar")
            _add(tar, f"blobs/sha256/{sha256(manifest)[7:]}", manifest)
            index = {
                "schemaVersion": 2,
                "manifests": [_descriptor(manifest, "application/vnd.oci.image.manifest.v1+json")],
            }
            _add(tar, "index.json", json.dumps(index).encode())
        manifest_json = [{"Config": config_name, "RepoTags": list(tags), "Layers": names}]
        _add(tar, "manifest.json", json.dumps(manifest_json).encode())
    return path


def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


_LAYER_TYPES = {
    "tar": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def _descriptor(data: bytes, media_type: str, **extra: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def _oci_manifest(config_bytes: bytes, blobs: list[bytes], kind: str) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": _descriptor(config_bytes, "application/vnd.oci.image.config.v1+json"),
            "layers": [_descriptor(b, _LAYER_TYPES[kind]) for b in blobs],
        }
    ).encode()


@dataclass
class PlatformImage:
    layers: list[bytes]
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""
    compression: str = "tar"


def oci_layout(
    path: Path, images: Sequence[PlatformImage], *, as_tar: bool, nested: bool = False
) -> Path:
    """An OCI image layout (a directory or a tar) holding one image per platform, listed in
    index.json directly or (``nested``) through an image index blob."""
    blobs: dict[str, bytes] = {}
    descriptors = []
    for image in images:
        config_bytes = config(image.layers, architecture=image.architecture, os=image.os)
        if image.variant:
            document = json.loads(config_bytes)
            document["variant"] = image.variant
            config_bytes = json.dumps(document).encode()
        stored = [compress(data, image.compression) for data in image.layers]
        manifest = _oci_manifest(config_bytes, stored, image.compression)
        for data in (*stored, config_bytes, manifest):
            blobs[sha256(data)[7:]] = data
        platform = {"os": image.os, "architecture": image.architecture}
        if image.variant:
            platform["variant"] = image.variant
        descriptors.append(
            _descriptor(manifest, "application/vnd.oci.image.manifest.v1+json", platform=platform)
        )
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": descriptors,
    }
    if nested:
        inner = json.dumps(index).encode()
        blobs[sha256(inner)[7:]] = inner
        index = {
            "schemaVersion": 2,
            "manifests": [_descriptor(inner, "application/vnd.oci.image.index.v1+json")],
        }
    files = {f"blobs/sha256/{h}": d for h, d in blobs.items()}
    files["index.json"] = json.dumps(index).encode()
    files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
    if as_tar:
        with tarfile.open(path, "w") as tar:
            for name, data in files.items():
                _add(tar, name, data)
    else:
        for name, data in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
    return path


def open_layers(tmp_path: Path, *layers: bytes, style: str = "legacy"):
    """Index a crafted image made of ``layers`` (through a docker-archive file)."""
    from slimmer.imagefs import open_image

    archive = docker_archive(
        tmp_path / f"image-{len(list(tmp_path.iterdir()))}.tar", layers, style=style
    )
    return open_image(archive, tmp_path / "work")


# ---- a two-layer image exercising every merge rule ---------------------------------------------

BASE = layer(
    [
        directory("./", 0o700),
        file("a/b/c/file", b"hello"),
        symlink("lib", "usr/lib"),
        directory("usr/"),
        directory("usr/lib/"),
        file("usr/lib/x", b"x"),
        directory("hl/"),
        file("hl/one", b"linked", 0o4755, uid=5),
        hardlink("hl/two", "hl/one", mode=0o4755, uid=5),
        hardlink("hl/three", "hl/one", mode=0o4755, uid=5),
        directory("op/"),
        file("op/old", b"old"),
        directory("gone/"),
        file("gone/f"),
        file("f2d", b"f"),
        directory("d2f/"),
        file("d2f/inner"),
        file("cap", b"capfile", xattrs={"security.capability": CAP_NET_BIND.decode("latin-1")}),
        Item("dev/null", b"3", mode=0o666, devmajor=1, devminor=3),
        Item("run/fifo", b"6", mode=0o600),
    ]
)
UPPER = layer(
    [
        file("lib/newfile", b"n"),
        whiteout("hl/one"),
        opaque("op"),
        file("op/new", b"new"),
        whiteout("gone"),
        directory("f2d/", 0o750),
        file("f2d/in"),
        file("d2f", b"nowfile"),
        file("implicit/deep/f", b"i"),
    ]
)

# what `docker export` shows for a container of this image (checked against a real engine
# in test_imagefs_engine.py), without the files the engine adds
EXPECTED = {
    "/a": ("dir", 0o755, ""),
    "/a/b": ("dir", 0o755, ""),
    "/a/b/c": ("dir", 0o755, ""),
    "/a/b/c/file": ("file", 0o644, ""),
    "/cap": ("file", 0o644, ""),
    "/d2f": ("file", 0o644, ""),
    "/dev": ("dir", 0o755, ""),
    "/dev/null": ("char", 0o666, ""),
    "/f2d": ("dir", 0o750, ""),
    "/f2d/in": ("file", 0o644, ""),
    "/hl": ("dir", 0o755, ""),
    "/hl/three": ("file", 0o4755, ""),
    "/hl/two": ("hardlink", 0o4755, "/hl/three"),
    "/implicit": ("dir", 0o755, ""),
    "/implicit/deep": ("dir", 0o755, ""),
    "/implicit/deep/f": ("file", 0o644, ""),
    "/lib": ("dir", 0o755, ""),
    "/lib/newfile": ("file", 0o644, ""),
    "/op": ("dir", 0o755, ""),
    "/op/new": ("file", 0o644, ""),
    "/run": ("dir", 0o755, ""),
    "/run/fifo": ("fifo", 0o600, ""),
    "/usr": ("dir", 0o755, ""),
    "/usr/lib": ("dir", 0o755, ""),
    "/usr/lib/x": ("file", 0o644, ""),
}

# the fixture images every engine test runs on
FIXTURES = [
    "nginx",
    "python-app",
    "redis",
    "batch",
    "crafted-layers",
    "crafted-links",
    "crafted-caps",
    "crafted-config",
]
