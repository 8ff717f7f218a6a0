"""The slim image's config: the original's runtime settings and platform, the new layer, one
history entry, provenance labels. Canonical JSON, so equal inputs give equal image ids."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from slimmer import __version__
from slimmer.imagefs import ImageFs
from slimmer.rebuild.layer import LayerInfo

RUNTIME_KEYS = (
    "Env",
    "Entrypoint",
    "Cmd",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "StopSignal",
    "Healthcheck",
    "Shell",
)
SOURCE_LABEL = "io.slimmer.source-digest"
VERSION_LABEL = "io.slimmer.version"


def build_config(fs: ImageFs, layer: LayerInfo, labels: Mapping[str, str] | None = None) -> bytes:
    """The config JSON. ``labels`` are added to the original's; slimmer's own two labels
    (source image digest, slimmer version) always are."""
    original = fs.config
    runtime = original.get("config") or {}
    config: dict[str, Any] = {k: runtime[k] for k in RUNTIME_KEYS if runtime.get(k) is not None}
    config["Labels"] = {
        **(runtime.get("Labels") or {}),
        **(labels or {}),
        SOURCE_LABEL: fs.digest,
        VERSION_LABEL: __version__,
    }
    history: dict[str, Any] = {
        "created_by": f"slimmer {__version__}",
        "comment": f"minified from {fs.digest}",
    }
    image: dict[str, Any] = {
        "architecture": fs.platform.architecture,
        "os": fs.platform.os,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        "history": [history],
    }
    if fs.platform.variant:
        image["variant"] = fs.platform.variant
    if original.get("created"):
        image["created"] = history["created"] = original["created"]
    return canonical_json(image)


def canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
