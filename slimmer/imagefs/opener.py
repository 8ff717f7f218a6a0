"""open_image: any image source to an ImageFs."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from slimmer.engine import Engine
from slimmer.errors import ImageFormatError, SlimmerError
from slimmer.imagefs.cache import LayerCache
from slimmer.imagefs.engineview import engine_paths
from slimmer.imagefs.index import ImageFs
from slimmer.imagefs.layer import (
    DEFAULT_MAX_LAYER_BYTES,
    HINT,
    LayerBlob,
    copy_diff,
    printable,
)
from slimmer.imagefs.layout import locate, wanted_platform
from slimmer.imagefs.merge import merge
from slimmer.imagefs.model import Platform
from slimmer.imagefs.sources import ArchiveStore, DirectoryStore, Store, StreamStore
from slimmer.imagefs.spec import parse_image_spec
from slimmer.imagefs.streams import IterReader
from slimmer.imagefs.tree import Tree

MAX_LAYERS = 128  # overlay2's limit of lower layers


def open_image(
    spec: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    engine: Engine | None = None,
    platform: Platform | str | None = None,
    max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES,
    keep_layers: bool = False,
) -> ImageFs:
    """Index an image.

    ``spec`` is an image archive file (``docker save`` output of any engine version, or an OCI
    layout tar), an OCI layout directory (either also named with a transport, as
    ``slimmer.imagefs.spec`` reads them: a missing file is a UsageError), or else an image
    reference for the engine (its save
    stream is read; ``engine`` defaults to a new connection). ``platform`` ("os/arch[/variant]")
    picks an image of a multi-platform index; by default the host's. Uncompressed layers of
    files are indexed where they are; other layers are copied uncompressed to a new
    ``slimmer-imagefs-*`` directory under ``workdir``, removed by ``ImageFs.close()``.
    A layer whose uncompressed tar exceeds ``max_layer_bytes`` is refused. Raises
    ImageFormatError for corrupt or hostile input (and no other exception for any input).
    ``keep_layers``: also keep each layer's own tree (``ImageFs.layer_diffs``, which
    ``read_layer`` then uses instead of reading the layer again).
    """
    path = _as_path(spec)
    if path is None:
        return _from_engine(str(spec), workdir, engine, platform, max_layer_bytes, keep_layers)
    store = DirectoryStore if path.is_dir() else ArchiveStore
    return _index(lambda spool: store(path, spool, max_layer_bytes), workdir, platform, keep_layers)


def open_stream(
    chunks: Iterable[bytes],
    workdir: str | os.PathLike[str],
    platform: Platform | str | None = None,
    label: str = "the image stream",
    max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES,
    keep_layers: bool = False,
    *,
    cache: LayerCache | None = None,
    expected: Sequence[str] = (),
    engine_view: bool = False,
) -> ImageFs:
    """Index an image arriving as a stream of an image archive (``docker save`` output, or an
    OCI layout tar), read once: every layer is indexed while it is copied to ``workdir``.

    ``cache``: layers of ``expected`` (the image's diff_ids) found there are not read again,
    the others are stored there. ``engine_view``: the tree a build reads, without what the
    engine provides in every container (``engineview``)."""

    def store(spool: Path) -> Store:
        stream = IterReader(iter(chunks))
        known = cache.known_by_size(expected) if cache is not None else None
        try:
            return StreamStore(stream, spool, label, max_layer_bytes, known, cache is not None)
        finally:
            stream.close()

    return _index(store, workdir, platform, keep_layers, cache, engine_view)


def _from_engine(
    ref: str,
    workdir: str | os.PathLike[str],
    engine: Engine | None,
    platform: Platform | str | None,
    max_layer_bytes: int,
    keep_layers: bool,
) -> ImageFs:
    connected = engine or Engine.connect()
    try:
        connected.inspect_image(ref)  # a clear "not found" before streaming
        label = f"the engine's save stream of {ref}"
        chunks = connected.save_image(ref)
        return open_stream(chunks, workdir, platform, label, max_layer_bytes, keep_layers)
    finally:
        if engine is None:
            connected.close()


def _index(
    make_store: Callable[[Path], Store],
    workdir: str | os.PathLike[str],
    platform: Platform | str | None,
    keep_layers: bool = False,
    cache: LayerCache | None = None,
    engine_view: bool = False,
) -> ImageFs:
    want, explicit = wanted_platform(platform)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    spool = Path(tempfile.mkdtemp(prefix="slimmer-imagefs-", dir=work))
    try:
        store = make_store(spool)
        located = locate(store, want, explicit)
        config = _config(located.config, store.label)
        diff_ids = config["rootfs"]["diff_ids"]
        if len(located.layers) > MAX_LAYERS:
            raise ImageFormatError(
                f"{store.label}: the image has {len(located.layers)} layers",
                f"the engine runs images of at most {MAX_LAYERS} layers; squash the image",
            )
        if len(diff_ids) != len(located.layers):
            raise ImageFormatError(
                f"{store.label}: the config lists {len(diff_ids)} layers, the manifest "
                f"{len(located.layers)}",
                HINT,
            )
        blobs: list[LayerBlob] = []
        for number, (name, digest) in enumerate(located.layers):
            blob = store.layer(name)
            if digest is not None and blob.digest != digest:
                raise ImageFormatError(f"layer {name} does not match its digest {digest}", HINT)
            if blob.diff_id != diff_ids[number]:
                raise ImageFormatError(
                    f"layer {number} ({name}) does not match the config's diff_id "
                    f"{diff_ids[number]}",
                    HINT,
                )
            blobs.append(blob)
        _store_indexes(cache, blobs)
        kept = [copy_diff(b.diff, n) for n, b in enumerate(blobs)] if keep_layers else None
        tree = merge([b.diff for b in blobs])
        if engine_view:
            remove_engine_paths(tree)
        return ImageFs(
            config=config,
            digest=located.digest,
            layers=[b.path for b in blobs],
            layer_offsets=[b.start for b in blobs],
            layer_sizes=[b.size for b in blobs],
            diff_ids=list(diff_ids),
            tree=tree,
            owned=spool,
            layer_diffs=kept,
        )
    except SlimmerError as exc:  # names from the archive may hold any bytes: show them escaped
        shutil.rmtree(spool, ignore_errors=True)
        exc.message, exc.hint = printable(exc.message), printable(exc.hint)
        raise
    except OSError as exc:  # the archive or layout itself cannot be read
        shutil.rmtree(spool, ignore_errors=True)
        raise SlimmerError(
            printable(f"cannot read the image: {exc}"), "check the path and its permissions"
        ) from None
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise


def _store_indexes(cache: LayerCache | None, blobs: list[LayerBlob]) -> None:
    """Put the layers read (not taken from the cache) into it."""
    for blob in blobs:
        if cache is not None and blob.members is not None:
            cache.put(blob.diff_id, blob.total, blob.members)
        blob.members = None


def remove_engine_paths(tree: Tree) -> None:
    """Drop what the engine provides in every container from a merged tree."""
    for path in engine_paths(list(tree.entries)):
        tree.remove(path)


def _as_path(spec: str | os.PathLike[str]) -> Path | None:
    """A file (also named ``docker-archive:FILE`` or ``oci-archive:FILE``), or a directory
    with an OCI layout (also ``oci:DIR``); None for an engine reference."""
    if isinstance(spec, os.PathLike):
        return Path(spec)
    named = parse_image_spec(spec)
    if named.path is not None:
        return named.path
    path = Path(spec)
    if path.is_file() or (path.is_dir() and (path / "index.json").exists()):
        return path
    return None


def _config(data: bytes, label: str) -> dict[str, Any]:
    try:
        config = json.loads(data)
    except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
        raise ImageFormatError(f"{label}: the image config is not valid JSON", HINT) from None
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise ImageFormatError(f"{label}: the image config has no rootfs.diff_ids", HINT)
    problem = config_problem(config)
    if problem:
        raise ImageFormatError(f"{label}: the image config's {problem}", HINT)
    return config


_TEXT_FIELDS = ("os", "architecture", "variant", "created", "author")
_RUNTIME_LISTS = ("Env", "Cmd", "Entrypoint", "Shell", "OnBuild")
_RUNTIME_TEXTS = ("WorkingDir", "User", "StopSignal")
_RUNTIME_OBJECTS = ("ExposedPorts", "Volumes", "Labels")


def config_problem(config: dict[str, Any]) -> str:
    """What in an image config has a type the engine would refuse to decode ("" if nothing):
    the fields slimmer reads must have the types of the OCI image spec."""
    for key in _TEXT_FIELDS:
        if config.get(key) is not None and not isinstance(config[key], str):
            return f"{key} is not a string"
    runtime = config.get("config")
    if runtime is None:
        return ""
    if not isinstance(runtime, dict):
        return "config is not an object"
    for key in _RUNTIME_LISTS:
        value = runtime.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return f"config.{key} is not a list of strings"
    for key in _RUNTIME_TEXTS:
        if runtime.get(key) is not None and not isinstance(runtime[key], str):
            return f"config.{key} is not a string"
    for key in _RUNTIME_OBJECTS:
        if runtime.get(key) is not None and not isinstance(runtime[key], dict):
            return f"config.{key} is not an object"
    labels = runtime.get("Labels") or {}
    if not all(isinstance(v, str) for v in labels.values()):
        return "config.Labels has a value that is not a string"
    return ""
