"""How a build reads its image: the fastest way that gives exactly the tree of its layers.

``read_for_build`` tries, in order (``method="auto"``): the layer cache (every layer's index
cached), a walk of a fresh container (``fast``), and the engine's save stream (every byte of
every layer). ``ReadReport`` says which was used and why the faster ones were not; a build
whose walk turns out not to cover what it keeps calls ``read_save_stream`` and says so.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from slimmer.engine import Engine, ImageInfo
from slimmer.errors import SlimmerError
from slimmer.imagefs.cache import LayerCache
from slimmer.imagefs.fast import FastReadUnavailable, open_cached, open_walked
from slimmer.imagefs.index import ImageFs
from slimmer.imagefs.layer import DEFAULT_MAX_LAYER_BYTES
from slimmer.imagefs.opener import open_stream

METHODS = ("auto", "cache", "walk", "save")


class ReadingCancelled(SlimmerError):
    """The build ended while its image was still being read."""


@dataclass
class ReadReport:
    """How the image was read (report.json's ``image_read``)."""

    method: str = "save"  # "cache", "walk", "save", or "file" (an image given as a file)
    asked: str = "auto"
    why_not_faster: list[str] | None = None  # why faster methods were not used
    fallback: str = ""  # why a walk was given up after the selection
    layers: int = 0
    layers_cached: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_for_build(
    engine: Engine,
    session_id: str,
    info: ImageInfo,
    workdir: Path,
    *,
    method: str = "auto",
    cache: LayerCache | None = None,
    cancelled: threading.Event | None = None,
    max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES,
) -> tuple[ImageFs, ReadReport]:
    """The image's tree for a build (engine-provided paths left out) and how it was read."""
    report = ReadReport(asked=method, why_not_faster=[], layers=len(info.diff_ids))
    if cache is not None:
        report.layers_cached = sum(cache.size_of(d) is not None for d in info.diff_ids)
    if method in ("auto", "cache"):
        if cache is None:
            report.why_not_faster.append("the layer cache is off (--no-cache)")
        else:
            found = open_cached(engine, session_id, info, workdir, cache)
            if found is not None:
                report.method = "cache"
                return found, report
            report.why_not_faster.append(
                f"{report.layers - report.layers_cached} of {report.layers} layers are not cached"
            )
    if method in ("auto", "walk"):
        try:
            walked = open_walked(engine, session_id, info, workdir)
        except FastReadUnavailable as exc:
            report.why_not_faster.append(str(exc))
        else:
            report.method = "walk"
            return walked, report
    report.method = "save"
    fs = read_save_stream(engine, info, workdir, cache, cancelled, max_layer_bytes)
    return fs, report


def read_save_stream(
    engine: Engine,
    info: ImageInfo,
    workdir: Path,
    cache: LayerCache | None,
    cancelled: threading.Event | None,
    max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES,
) -> ImageFs:
    """The image from the engine's save stream (stops when ``cancelled`` is set); layers in
    ``cache`` are not indexed again, the others are added to it."""

    def chunks() -> Iterator[bytes]:
        for chunk in engine.save_image(info.id):
            if cancelled is not None and cancelled.is_set():
                raise ReadingCancelled("image reading cancelled")
            yield chunk

    return open_stream(
        chunks(),
        workdir,
        label=f"the save stream of {info.ref}",
        max_layer_bytes=max_layer_bytes,
        cache=cache,
        expected=info.diff_ids,
        engine_view=True,
    )
