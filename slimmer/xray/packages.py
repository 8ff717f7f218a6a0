"""The packages section of xray, from the shared package inventory (``slimmer.inventory``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from slimmer.imagefs import ImageFs


def inventory_of(fs: ImageFs) -> Any:
    """The image's package inventory, or None while ``slimmer.inventory`` is not there."""
    try:
        from slimmer.inventory import read_inventory
    except ImportError:
        return None
    return read_inventory(fs)


def package_summary(fs: ImageFs) -> dict[str, Any] | None:
    inventory = inventory_of(fs)
    if inventory is None:
        return None
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
    }
