"""The packages section of xray, from the shared package inventory (``slimmer.inventory``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from slimmer.imagefs import ImageFs
from slimmer.inventory import Inventory, read_inventory


def inventory_of(fs: ImageFs) -> Inventory:
    return read_inventory(fs)


def package_summary(fs: ImageFs) -> dict[str, Any]:
    """Packages with name, version, arch, licences, purl and the number of paths each owns;
    counts by ecosystem; the OS identity; the inventory's warnings."""
    inventory = inventory_of(fs)
    packages = [
        {
            "ecosystem": p.ecosystem,
            "name": p.name,
            "version": p.version,
            "arch": p.arch,
            "licenses": list(p.licenses),
            "purl": p.purl,
            "files": len(p.files),
        }
        for p in inventory.packages
    ]
    packages.sort(key=lambda p: (p["ecosystem"], p["name"], p["version"]))
    return {
        "os": inventory.os.to_dict() if inventory.os is not None else None,
        "count": len(packages),
        "by_ecosystem": dict(Counter(p["ecosystem"] for p in packages)),
        "packages": packages,
        "warnings": list(inventory.warnings),
    }
