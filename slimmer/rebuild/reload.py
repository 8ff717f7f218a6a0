"""A docker-archive of an image read from a file, as it is, for loading it into an engine:
its own config bytes (so the engine gives it the same id) and its layers from where the index
found them (uncompressed), streamed; nothing is copied first."""

from __future__ import annotations

from collections.abc import Sequence

from slimmer.imagefs import ImageFs
from slimmer.rebuild.archive import Member, TarStream
from slimmer.rebuild.config import canonical_json, digest_of


def image_archive(fs: ImageFs, config: bytes, tags: Sequence[str] = ()) -> TarStream:
    """``config`` must be the image's config as stored (its sha256 is ``fs.digest``)."""
    if digest_of(config) != fs.digest:
        raise ValueError("the config bytes are not the indexed image's config")
    config_name = fs.digest.split(":", 1)[1] + ".json"
    members: list[Member] = [(config_name, config)]
    layers = []
    for number in range(len(fs.diff_ids)):
        name = f"{number:04d}/layer.tar"  # by position: an image may hold one layer twice
        region = (fs.layers[number], fs.layer_offsets[number], fs.layer_sizes[number])
        members += [(f"{number:04d}/", None), (name, region)]
        layers.append(name)
    manifest = [{"Config": config_name, "RepoTags": list(tags) or None, "Layers": layers}]
    members.append(("manifest.json", canonical_json(manifest)))
    return TarStream(members)
