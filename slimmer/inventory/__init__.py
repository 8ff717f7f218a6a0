"""Package inventory of an image: its OS identity, its OS packages (dpkg, apk, rpm) and its
language packages (Python, node, Ruby, Java), with the paths each package owns.

``read_inventory(fs) -> Inventory`` reads only package databases and manifests through the
image's own resolver (bounded reads, never the host filesystem); malformed records are skipped
with a warning in ``Inventory.warnings``. Shared by sbom, xray and diff.
"""

from __future__ import annotations

from slimmer.inventory.apk import read_apk
from slimmer.inventory.dpkg import read_dpkg
from slimmer.inventory.files import Reader
from slimmer.inventory.languages import read_languages
from slimmer.inventory.model import Inventory, OsInfo, Package
from slimmer.inventory.osinfo import read_os
from slimmer.inventory.rpm import read_rpm

__all__ = ["Inventory", "OsInfo", "Package", "read_inventory"]


def read_inventory(fs) -> Inventory:
    """Everything the image's package databases and manifests say. ``fs`` is an ImageFs (or
    anything with its lookup, resolve, listdir, walk, open and iteration)."""
    reader = Reader(fs)
    os = read_os(reader)
    packages: list[Package] = []
    databases: list[str] = []
    for read in (read_dpkg, read_apk, read_rpm):
        found, read_from = read(reader, os)
        packages += found
        databases += read_from
    packages += read_languages(reader)
    return Inventory(os, packages, reader.warnings, tuple(databases))
