"""SBOM formats, file names, digests and where an attached SBOM lives in the image."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from slimmer.errors import UsageError
from slimmer.sbom.cyclonedx import cyclonedx_json
from slimmer.sbom.spdx import spdx_json
from slimmer.sbom.subject import Subject

FILES = {"cyclonedx": "sbom.cdx.json", "spdx": "sbom.spdx.json"}
RENDERERS = {"cyclonedx": cyclonedx_json, "spdx": spdx_json}
CHOICES = ("cyclonedx", "spdx", "both", "none")
ATTACH_DIR = "/usr/share/slimmer"  # --attach-sbom writes the documents here in the image
LABEL = "io.slimmer.sbom.{format}.digest"


def formats_of(choice: str) -> list[str]:
    if choice not in CHOICES:
        raise UsageError(f"unknown SBOM format {choice!r}", f"use one of {', '.join(CHOICES)}")
    if choice == "both":
        return ["cyclonedx", "spdx"]
    return [] if choice == "none" else [choice]


def render(subject: Subject, formats: list[str]) -> dict[str, bytes]:
    """{format: document bytes}."""
    return {name: RENDERERS[name](subject) for name in formats}


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def labels_of(documents: Mapping[str, bytes]) -> dict[str, str]:
    """``io.slimmer.sbom.cyclonedx.digest`` / ``...spdx.digest``: sha256 of each document."""
    return {LABEL.format(format=name): digest(data) for name, data in documents.items()}


def attached(documents: Mapping[str, bytes]) -> dict[str, bytes]:
    """{image path: bytes} of the documents written into the image by --attach-sbom."""
    return {f"{ATTACH_DIR}/{FILES[name]}": data for name, data in documents.items()}


def write_documents(documents: Mapping[str, bytes], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in documents.items():
        path = directory / FILES[name]
        path.write_bytes(data)
        written[f"sbom_{name}"] = path
    return written
