"""The filesystem of an image as the engine shows it (`docker export` of a container made from
it, never started), and the same view of an ImageFs, for comparisons."""

from __future__ import annotations

import hashlib
import tarfile
import uuid
from contextlib import closing
from dataclasses import dataclass, replace

from slimmer.engine import Engine
from slimmer.imagefs import EntryType, ImageFs
from slimmer.imagefs.streams import IterReader

# files the engine's init layer adds to every container, and trees it mounts over
# (and /etc itself: the init layer's /etc, made when the image has none, shadows the image's)
INJECTED = {"/.dockerenv", "/etc", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab"}
ENGINE_TREES = ("/dev", "/proc", "/sys")
SESSION = f"slimmer-test-imagefs-{uuid.uuid4().hex[:8]}"

_TYPES = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.LNKTYPE: "hardlink",
    tarfile.SYMTYPE: "symlink",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
    tarfile.DIRTYPE: "dir",
    tarfile.FIFOTYPE: "fifo",
}


@dataclass(frozen=True)
class Node:
    type: str
    mode: int = 0
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    size: int = 0
    mtime: int = 0
    sha256: str = ""
    xattrs: tuple[tuple[str, bytes], ...] = ()


def _keep(path: str) -> bool:
    return path not in INJECTED and not any(
        path == t or path.startswith(t + "/") for t in ENGINE_TREES
    )


def exported_tree(engine: Engine, ref: str, contents: bool = True) -> dict[str, Node]:
    """`docker export` of a created container of ``ref``; contents hashed when asked."""
    container = engine.create_container(ref, session=SESSION, entrypoint=["/slimmer-never-run"])
    try:
        tree: dict[str, Node] = {}
        with (
            closing(IterReader(engine.api.export(container, chunk_size=1 << 20))) as stream,
            tarfile.open(fileobj=stream, mode="r|") as tar,  # type: ignore[arg-type]
        ):
            for member in tar:
                path = "/" + member.name.strip("/")
                if path == "/" or not _keep(path):
                    continue
                digest = ""
                if contents and member.isreg():
                    digest = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
                linkname = "/" + member.linkname.strip("/") if member.islnk() else member.linkname
                tree[path] = Node(
                    type=_TYPES[member.type],
                    mode=member.mode & 0o7777,
                    uid=member.uid,
                    gid=member.gid,
                    linkname=linkname,
                    size=member.size if member.isreg() else 0,
                    mtime=int(member.mtime),
                    sha256=digest,
                    xattrs=tuple(
                        sorted(
                            (k[len("SCHILY.xattr.") :], v.encode("utf-8", "surrogateescape"))
                            for k, v in member.pax_headers.items()
                            if k.startswith("SCHILY.xattr.")
                        )
                    ),
                )
        return tree
    finally:
        engine.remove_container(container)


def index_tree(fs: ImageFs, contents: bool = True) -> dict[str, Node]:
    """The same view of an index."""
    tree: dict[str, Node] = {}
    for entry in fs:
        if entry.path == "/" or not _keep(entry.path):
            continue
        digest = ""
        if contents and entry.type is EntryType.FILE:
            with fs.open(entry) as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
        tree[entry.path] = Node(
            type=entry.type.value,
            mode=entry.mode,
            uid=entry.uid,
            gid=entry.gid,
            linkname=entry.linkname,
            size=entry.size if entry.type is EntryType.FILE else 0,
            mtime=int(entry.mtime),
            sha256=digest,
            xattrs=tuple(sorted(entry.xattrs.items())),
        )
    return tree


def without(tree: dict[str, Node], *fields: str) -> dict[str, Node]:
    """The tree with ``fields`` blanked (e.g. mtimes the engine sets when unpacking)."""
    blank = {f: Node.__dataclass_fields__[f].default for f in fields}
    return {path: replace(node, **blank) for path, node in tree.items()}


def differences(left: dict[str, Node], right: dict[str, Node], limit: int = 20) -> list[str]:
    """Readable differences, for assertion messages."""
    found = [f"only in first: {p}" for p in sorted(left.keys() - right.keys())]
    found += [f"only in second: {p}" for p in sorted(right.keys() - left.keys())]
    found += [
        f"{p}: {left[p]} != {right[p]}"
        for p in sorted(left.keys() & right.keys())
        if left[p] != right[p]
    ]
    return found[:limit]
