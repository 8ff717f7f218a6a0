"""Find the image in a store: an OCI layout (index.json, platform selection through nested
indexes) or a docker-archive (manifest.json, legacy ``<id>/layer.tar`` or Engine 25+ blobs).
Every blob named by a digest is checked against it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from slimmer.arch import host_oci_arch
from slimmer.errors import ImageFormatError
from slimmer.imagefs.layer import HINT
from slimmer.imagefs.model import Platform
from slimmer.imagefs.sources import Store

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MAX_INDEX_DEPTH = 4
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HEX_NAME = re.compile(r"(?:.*/)?(?:sha256:)?([0-9a-f]{64})(?:\.json)?")
_DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}


@dataclass
class Located:
    """The image a store holds: its config and its layers (member name, expected digest)."""

    config: bytes
    digest: str  # sha256 of the config: the image id
    layers: list[tuple[str, str | None]]


def wanted_platform(platform: Platform | str | None) -> tuple[Platform, bool]:
    """The platform asked for (explicit) or the host's (not explicit)."""
    if platform is None:
        return Platform("linux", host_oci_arch()), False
    if isinstance(platform, Platform):
        return platform, True
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ImageFormatError(
            f"platform {platform!r} is not OS/ARCH[/VARIANT]", "for example linux/arm64/v8"
        )
    return Platform(*parts), True


def locate(store: Store, platform: Platform, explicit: bool) -> Located:
    if store.has("index.json"):
        located = _from_index(store, platform)
    elif store.has("manifest.json"):
        located = _from_manifest(store)
    else:
        raise ImageFormatError(
            f"{store.label} is not an image: it has neither index.json nor manifest.json",
            "give an image reference, a `docker save` archive or an OCI image layout",
        )
    if explicit:
        found = _platform_of(_json(located.config, "the image config"))
        if not _matches(found, platform):
            raise ImageFormatError(
                f"{store.label} holds a {_describe(found)} image, not {platform}",
                "pass the platform the image was built for",
            )
    return located


def _from_index(store: Store, platform: Platform) -> Located:
    document = _json(store.read("index.json"), "index.json")
    for _ in range(MAX_INDEX_DEPTH):
        descriptor = _choose(store, document, platform)
        document = _json(_blob(store, descriptor), f"manifest {descriptor['digest']}")
        media = descriptor.get("mediaType") or document.get("mediaType")
        if media not in INDEX_TYPES and "manifests" not in document:
            break
    else:
        raise ImageFormatError(f"{store.label}: image indexes nest too deeply", HINT)
    config_descriptor = document.get("config")
    layers = document.get("layers")
    if not isinstance(config_descriptor, dict) or not isinstance(layers, list):
        raise ImageFormatError(f"{store.label}: an image manifest without config or layers", HINT)
    config = _blob(store, config_descriptor)
    named = [(_blob_name(store, d), str(d["digest"])) for d in layers if isinstance(d, dict)]
    if len(named) != len(layers):
        raise ImageFormatError(f"{store.label}: malformed layer descriptor", HINT)
    return Located(config, _sha256(config), named)


def _choose(store: Store, index: dict[str, Any], platform: Platform) -> dict[str, Any]:
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        raise ImageFormatError(f"{store.label}: an image index without manifests", HINT)
    if not all(isinstance(d, dict) for d in manifests):
        raise ImageFormatError(f"{store.label}: an image index lists a non-object", HINT)
    candidates = [d for d in manifests if not _is_attestation(d, store.label)]
    if not candidates:
        raise ImageFormatError(f"{store.label} lists no image", HINT)
    with_platform = [d for d in candidates if isinstance(d.get("platform"), dict)]
    if with_platform:
        matching = [d for d in with_platform if _matches(_platform_of(d["platform"]), platform)]
        if not matching:
            available = ", ".join(
                sorted({_describe(_platform_of(d["platform"])) for d in with_platform})
            )
            raise ImageFormatError(
                f"{store.label} has no image for {platform} (it has {available})",
                "pass one of the platforms it has",
            )
        return matching[0]
    if len({str(d.get("digest")) for d in candidates}) > 1:
        raise ImageFormatError(
            f"{store.label} holds {len(candidates)} different images",
            "save or export one image per archive",
        )
    return candidates[0]


def _from_manifest(store: Store) -> Located:
    items = _json(store.read("manifest.json"), "manifest.json", kind=list)
    usable = [i for i in items if isinstance(i, dict) and isinstance(i.get("Config"), str)]
    if not usable or len(usable) != len(items):
        raise ImageFormatError(f"{store.label}: manifest.json lists no image", HINT)
    configs = {i["Config"] for i in usable}
    for entry in usable:
        _check_tags(entry.get("RepoTags"), store.label)
    if len(configs) > 1:
        tags = ", ".join(t for i in usable for t in i.get("RepoTags") or []) or "untagged"
        raise ImageFormatError(
            f"{store.label} holds {len(configs)} images ({tags})",
            "save one image per archive: `docker save IMAGE -o FILE`",
        )
    item = usable[0]
    layers = item.get("Layers") or []
    if not isinstance(layers, list) or not all(isinstance(n, str) for n in layers):
        raise ImageFormatError(f"{store.label}: manifest.json has malformed Layers", HINT)
    config = store.read(item["Config"])
    digest = _sha256(config)
    named = _HEX_NAME.fullmatch(item["Config"])
    if named and f"sha256:{named.group(1)}" != digest:
        raise ImageFormatError(
            f"{store.label}: config {item['Config']} does not match its name", HINT
        )
    return Located(config, digest, [(name, None) for name in layers])


def _check_tags(tags: Any, label: str) -> None:
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise ImageFormatError(f"{label}: manifest.json has malformed RepoTags", HINT)


def _blob(store: Store, descriptor: dict[str, Any]) -> bytes:
    data = store.read(_blob_name(store, descriptor))
    digest = descriptor["digest"]
    if _sha256(data) != digest:
        raise ImageFormatError(f"{store.label}: blob {digest} does not match its digest", HINT)
    size = descriptor.get("size")
    if isinstance(size, int) and size != len(data):
        raise ImageFormatError(f"{store.label}: blob {digest} has the wrong size", HINT)
    return data


def _blob_name(store: Store, descriptor: dict[str, Any]) -> str:
    digest = descriptor.get("digest")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ImageFormatError(
            f"{store.label}: unsupported or malformed digest {str(digest)[:80]!r}",
            "slimmer reads sha256 digests",
        )
    return "blobs/sha256/" + digest.split(":", 1)[1]


def _is_attestation(descriptor: dict[str, Any], label: str) -> bool:
    annotations = descriptor.get("annotations") or {}
    platform = descriptor.get("platform") or {}
    if not isinstance(annotations, dict) or not isinstance(platform, dict):
        raise ImageFormatError(
            f"{label}: a descriptor whose annotations or platform is not an object", HINT
        )
    return (
        annotations.get("vnd.docker.reference.type") == "attestation-manifest"
        or platform.get("os") == "unknown"
    )


def _platform_of(document: dict[str, Any]) -> Platform:
    fields = [document.get(key) or "" for key in ("os", "architecture", "variant")]
    if not all(isinstance(value, str) for value in fields):
        raise ImageFormatError("a platform whose os, architecture or variant is not a string", HINT)
    return Platform(*fields)


def _matches(found: Platform, wanted: Platform) -> bool:
    if (found.os, found.architecture) != (wanted.os, wanted.architecture):
        return False
    if not wanted.variant:
        return True
    default = _DEFAULT_VARIANTS.get(found.architecture, "")
    return (found.variant or default) == wanted.variant


def _describe(platform: Platform) -> str:
    return str(platform) or "platform-less"


def _json(data: bytes, what: str, kind: type = dict) -> Any:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
        raise ImageFormatError(f"{what} is not valid JSON", HINT) from None
    if not isinstance(document, kind):
        raise ImageFormatError(f"{what} is not a JSON {kind.__name__}", HINT)
    return document


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
