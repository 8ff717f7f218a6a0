"""The slim image's config: the original's runtime settings and platform, the new layer, one
history entry, provenance labels. Canonical JSON, so equal inputs give equal image ids."""

from __future__ import annotations

import hashlib
import json
import re
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
    (source image digest, slimmer version) always are. Empty settings are left out and the
    creation time is written as the engine shows it (``created_text``), so the config is the
    same whether the original's came from its archive or from the engine's inspection."""
    original = fs.config
    runtime = original.get("config") or {}
    config: dict[str, Any] = {k: runtime[k] for k in RUNTIME_KEYS if runtime.get(k) not in _EMPTY}
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
    created = created_text(original.get("created"))
    if created:
        image["created"] = history["created"] = created
    return canonical_json(image)


_EMPTY = (None, "", [], {})
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)"
)


def created_text(value: Any) -> str:
    """An image's creation time as the engine writes it back (Go's RFC 3339 with up to 9
    digits, trailing zeros cut, "Z" for UTC); "" for none or Go's zero time."""
    found = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return value if isinstance(value, str) else ""
    year, month, day, clock, fraction, zone = found.groups()
    if year == "0001" and month == "01" and day == "01" and clock == "00:00:00" and not (
        fraction or ""
    ).strip("0"):
        return ""
    digits = (fraction or "")[:9].rstrip("0")
    zone = "Z" if zone in ("Z", "z", "+00:00", "-00:00") else zone
    return f"{year}-{month}-{day}T{clock}{'.' + digits if digits else ''}{zone}"


def canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
