"""How an image is named: skopeo's transports for image files (``docker-archive:FILE``,
``oci-archive:FILE``, ``oci:DIR``), else an engine reference. Every command takes these names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slimmer.errors import UsageError

TRANSPORTS = ("docker-archive", "oci-archive", "oci")


@dataclass(frozen=True)
class ImageSpec:
    """What the user named: an engine reference (``transport`` None) or an image file."""

    text: str
    transport: str | None = None
    path: Path | None = None


def parse_image_spec(text: str) -> ImageSpec:
    """``docker-archive:FILE``, ``oci-archive:FILE``, ``oci:DIR``, else an engine reference."""
    transport, colon, rest = text.partition(":")
    if not colon or transport not in TRANSPORTS:
        return ImageSpec(text)
    if not rest:
        raise UsageError(f"{text!r} names no file", f"write {transport}:PATH")
    path = Path(rest)
    if transport == "oci":
        if not (path / "index.json").is_file():
            raise UsageError(
                f"{text}: {path} is not an OCI image layout directory (no index.json)",
                "give a directory written by `skopeo copy ... oci:DIR` or `docker save` unpacked",
            )
    elif not path.is_file():
        raise UsageError(
            f"{text}: no such file {path}",
            "check the path (slimmer reads the archive's image; it does not pick one by name)",
        )
    return ImageSpec(text, transport, path)
