"""The packages section of xray: the shared package inventory, summarised."""

from __future__ import annotations

from typing import Any

from slimmer.imagefs import ImageFs


def package_summary(fs: ImageFs) -> dict[str, Any] | None:
    """Packages by ecosystem with name, version, licences; None until the inventory exists."""
    return None
