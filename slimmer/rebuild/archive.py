"""Image archives of the slim image, produced as streams (nothing is assembled in memory or
copied to disk first): a docker-archive for ``docker load``, and an OCI image layout tar (that
``docker load`` also reads, as archives of Docker Engine 25+ are).

Both are deterministic: fixed member order, mtimes and modes.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from slimmer.engine import split_ref
from slimmer.rebuild.config import canonical_json, digest_of
from slimmer.rebuild.layer import LayerInfo
from slimmer.rebuild.tarwriter import END_OF_ARCHIVE, header, padding

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class SlimImage:
    """A written slim image: its config, its layer tar in the work directory."""

    config: bytes
    layer: Path
    layer_info: LayerInfo

    @property
    def id(self) -> str:
        return digest_of(self.config)

    @property
    def diff_id(self) -> str:
        return self.layer_info.digest


Member = tuple[str, bytes | Path | None]  # name, content (a file, or None for a directory)


def docker_archive_members(image: SlimImage, tags: Sequence[str] = ()) -> list[Member]:
    config_name = image.id.split(":", 1)[1] + ".json"
    layer_name = image.diff_id.split(":", 1)[1] + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": list(tags) or None, "Layers": [layer_name]}]
    return [
        (config_name, image.config),
        (layer_name.split("/")[0] + "/", None),
        (layer_name, image.layer),
        ("manifest.json", canonical_json(manifest)),
    ]


def oci_layout_members(image: SlimImage, tags: Sequence[str] = ()) -> list[Member]:
    config = image.config
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": image.id, "size": len(config)},
            "layers": [
                {
                    "mediaType": OCI_LAYER,
                    "digest": image.diff_id,
                    "size": image.layer_info.size,
                }
            ],
        }
    )
    manifest_digest = digest_of(manifest)
    descriptor = {"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest)}
    platform = _platform(config)
    descriptors = [{**descriptor, "platform": platform}] if not tags else []
    for tag in tags:
        annotations = {
            "io.containerd.image.name": qualified(tag),
            "org.opencontainers.image.ref.name": split_ref(tag)[1],
        }
        descriptors.append({**descriptor, "platform": platform, "annotations": annotations})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
    docker_manifest = [
        {
            "Config": _blob(image.id),
            "RepoTags": list(tags) or None,
            "Layers": [_blob(image.diff_id)],
        }
    ]
    return [
        ("blobs/", None),
        ("blobs/sha256/", None),
        (_blob(image.id), config),
        (_blob(image.diff_id), image.layer),
        (_blob(manifest_digest), manifest),
        ("index.json", canonical_json(index)),
        ("manifest.json", canonical_json(docker_manifest)),
        ("oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"})),
    ]


def qualified(ref: str) -> str:
    """A reference with its registry, as containerd names images: "app:1" ->
    "docker.io/library/app:1", "team/app:1" -> "docker.io/team/app:1"."""
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if rest else f"docker.io/library/{ref}"


def _blob(digest: str) -> str:
    return "blobs/sha256/" + digest.split(":", 1)[1]


def _platform(config: bytes) -> dict[str, str]:
    document = json.loads(config)
    platform = {"architecture": document["architecture"], "os": document["os"]}
    if document.get("variant"):
        platform["variant"] = document["variant"]
    return platform


class TarStream(io.RawIOBase):
    """A tar of ``members`` generated while it is read; ``len()`` is its exact size."""

    def __init__(self, members: Sequence[Member]) -> None:
        super().__init__()
        self._parts: list[bytes | tuple[Path, int]] = []
        for name, content in members:
            if content is None:
                self._parts.append(header(name, b"5", mode=0o755))
            elif isinstance(content, bytes):
                self._parts += [header(name, b"0", size=len(content)), content]
                self._parts.append(padding(len(content)))
            else:
                size = os.stat(content).st_size
                self._parts += [header(name, b"0", size=size), (content, size)]
                self._parts.append(padding(size))
        self._parts.append(END_OF_ARCHIVE)
        self._size = sum(p[1] if isinstance(p, tuple) else len(p) for p in self._parts)
        self._index = 0
        self._offset = 0  # within the current part
        self._file: BinaryIO | None = None

    def __len__(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        while self._index < len(self._parts):
            part = self._parts[self._index]
            if isinstance(part, bytes):
                got = min(len(view), len(part) - self._offset)
                view[:got] = part[self._offset : self._offset + got]
            else:
                if self._file is None:
                    self._file = open(part[0], "rb")  # noqa: SIM115 (closed below)
                got = self._file.readinto(view[: min(len(view), part[1] - self._offset)]) or 0
                if not got and part[1] > self._offset:
                    raise OSError(f"{part[0]} changed while it was being archived")
            self._offset += got
            size = part[1] if isinstance(part, tuple) else len(part)
            if self._offset >= size:
                self._next_part()
            if got:
                return got
        return 0

    def _next_part(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._index += 1
        self._offset = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()


def write_archive(members: Sequence[Member], destination: Path) -> None:
    """Write a tar of ``members`` to ``destination`` atomically: into a temp file created
    exclusively (O_EXCL, unpredictable name) in the destination's directory, then renamed over
    ``destination`` (a symlink there is replaced, never followed)."""
    handle, name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".slimmer-tmp"
    )
    temporary = Path(name)
    try:
        with TarStream(members) as stream, os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), 0o666 & ~_umask())
            buffer = bytearray(COPY_CHUNK)
            while got := stream.readinto(buffer):
                out.write(memoryview(buffer)[:got])
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_docker_archive(image: SlimImage, destination: Path, tags: Sequence[str] = ()) -> None:
    write_archive(docker_archive_members(image, tags), destination)


def write_oci_layout(image: SlimImage, destination: Path, tags: Sequence[str] = ()) -> None:
    write_archive(oci_layout_members(image, tags), destination)
