"""A crafted image whose layers hold what the engine unpacks differently from its tar headers
(implied directories, times out of range, attributes the kernel refuses or rewrites, hardlinks
whose headers differ) and names with any bytes: the walk of a container and the layers' reader
must give the same tree for it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tarfile
from typing import Any

CREATED = "2024-01-01T00:00:00.5Z"
USER_OBJ, USER, GROUP_OBJ, MASK, OTHER = 0x01, 0x02, 0x04, 0x10, 0x20


def _acl(*entries: tuple[int, int, int]) -> str:
    raw = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    return raw.decode("utf-8", "surrogateescape")


def _cap(revision: int, root: int | None = None) -> str:
    raw = struct.pack("<IIIII", (revision << 24) | 1, 1 << 10, 0, 0, 0)
    if root is not None:
        raw += struct.pack("<I", root)
    return raw.decode("utf-8", "surrogateescape")


def _info(name: str, kind: bytes = tarfile.REGTYPE, **attrs: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = attrs.pop("mode", 0o755 if kind == tarfile.DIRTYPE else 0o644)
    info.mtime = 1_600_000_000
    xattrs = attrs.pop("xattrs", {})
    pax = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
    if "pax_mtime" in attrs:
        pax["mtime"] = attrs.pop("pax_mtime")
    info.pax_headers = pax
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def _tar(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _first_layer(big: bytes) -> bytes:
    D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
    C, F = tarfile.CHRTYPE, tarfile.FIFOTYPE
    acl_eq = _acl((USER_OBJ, 6, 0), (GROUP_OBJ, 4, 0), (OTHER, 4, 0))
    named = (USER, 7, 1000)
    acl_ext = _acl((USER_OBJ, 7, 0), named, (GROUP_OBJ, 5, 0), (MASK, 7, 0), (OTHER, 5, 0))
    acl_default = _acl((USER_OBJ, 7, 0), (GROUP_OBJ, 5, 0), (OTHER, 0, 0))
    return _tar([
        (_info("./", D, mode=0o700, uid=5), None),
        (_info("etc/", D, mtime=200), None),
        (_info("etc/passwd"), b"root:x:0:0::/:/bin/sh\n"),
        (_info("data/", D, xattrs={"user.dir": "1"}), None),
        (_info("data/frac", pax_mtime="1700000000.123456789"), b"frac"),
        (_info("data/old", pax_mtime="-5"), b"old"),
        (_info("data/future", pax_mtime="10000000000"), b"future"),
        (_info("data/link", L, linkname="frac", xattrs={"user.x": "1"}, pax_mtime="-100"), None),
        (_info("data/capv3", mode=0o755, xattrs={"security.capability": _cap(3, 0)}), b"c3"),
        (_info("data/capv3u", mode=0o755, xattrs={"security.capability": _cap(3, 1000)}), b"c"),
        (_info("data/acl-eq", mode=0o644, xattrs={"system.posix_acl_access": acl_eq}), b"a"),
        (_info("data/acl-ext", mode=0o640, xattrs={"system.posix_acl_access": acl_ext}), b"b"),
        (_info("data/dacl/", D, xattrs={"system.posix_acl_default": acl_default}), None),
        (_info("data/userx", xattrs={"user.comment": "hello"}), b"u"),
        (_info("data/trusted", xattrs={"trusted.foo": "bar"}), b"t"),
        (_info("data/null", C, mode=0o666, devmajor=1, devminor=3), None),
        (_info("data/fifo", F), None),
        (_info("data/suid", mode=0o4755, uid=1000, gid=2000), b"s"),
        (_info("data/sticky/", D, mode=0o1777), None),
        (_info("data/asdir"), b"a file first"),
        (_info("data/opq/", D), None),
        (_info("data/opq/lower"), b"hidden later"),
        (_info("data/big"), big),
        (_info("implied/sub/file"), b"no parents named"),
        (_info("hl/", D), None),
        (_info("hl/a", mode=0o755, xattrs={"security.capability": _cap(2)}), b"exe"),
        (_info("hl/b", H, linkname="hl/a", mode=0o755), None),
        (_info("hl/c", xattrs={"user.y": "1"}), b"two"),
        (_info("hl/d", H, linkname="hl/c", xattrs={"user.z": "2"}), None),
        (_info("names/", D), None),
        (_info("names/sp ace"), b"1"),
        (_info("names/new\nline"), b"2"),
        (_info("names/\udcff\udcfe"), b"3"),
        (_info("names/" + "n" * 250), b"4"),
        (_info("names/tab\there"), b"5"),
    ])  # fmt: skip


def _second_layer() -> bytes:
    return _tar([
        (_info("data/", tarfile.DIRTYPE, xattrs={"user.dir": "2"}), None),
        (_info("data/.wh.old", mode=0o600), b""),
        (_info("data/frac", pax_mtime="1700000001.5"), b"replaced"),
        (_info("data/asdir/", tarfile.DIRTYPE), None),
        (_info("data/asdir/inside"), b"now a directory"),
        (_info("data/opq/", tarfile.DIRTYPE), None),
        (_info("data/opq/.wh..wh..opq", mode=0o600), b""),
        (_info("data/opq/upper"), b"seen"),
    ])  # fmt: skip


def engine_view_archive(ref: str, architecture: str) -> bytes:
    """A docker-archive of the image, tagged ``ref``."""
    blobs = [_first_layer(os.urandom(3 << 20)), _second_layer()]
    diff_ids = [f"sha256:{hashlib.sha256(b).hexdigest()}" for b in blobs]
    config = json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "created": CREATED,
            "config": {"Cmd": ["/nothing"], "User": "", "Env": [], "Volumes": None},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        sort_keys=True,
    ).encode()
    image_id = hashlib.sha256(config).hexdigest()
    names = [f"{d.split(':')[1]}/layer.tar" for d in diff_ids]
    manifest = [{"Config": f"{image_id}.json", "RepoTags": [ref], "Layers": names}]
    members = [(_info("manifest.json"), json.dumps(manifest).encode())]
    members.append((_info(f"{image_id}.json"), config))
    members += [(_info(name), blob) for name, blob in zip(names, blobs, strict=True)]
    return _tar(members)
