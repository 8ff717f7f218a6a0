"""``slimmer diff``: two images compared by files, packages and config.

``diff_images(spec_a, spec_b, platform)`` opens both (engine references or image files, in a
temporary ``slimmer-diff-*`` directory); ``compare(fs_a, fs_b, name_a, name_b)`` works on open
ImageFs (``slimmer build`` uses it for original vs slim). Schema ``slimmer-diff/1``
(docs/xray.md)."""

from __future__ import annotations

import tempfile
from typing import Any

from slimmer.diff.config import diff_config
from slimmer.diff.files import diff_files
from slimmer.diff.packages import diff_packages
from slimmer.escaping import map_strings, printable
from slimmer.imagefs import ImageFs, open_image
from slimmer.inventory import Inventory
from slimmer.session import terminate_as_interrupt
from slimmer.xray.config import config_summary
from slimmer.xray.packages import inventory_of

SCHEMA = "slimmer-diff/1"

__all__ = ["SCHEMA", "compare", "diff_images"]


def diff_images(spec_a: str, spec_b: str, platform: str | None = None) -> dict[str, Any]:
    with (
        terminate_as_interrupt(),
        tempfile.TemporaryDirectory(prefix="slimmer-diff-") as work,
        open_image(spec_a, work, platform=platform) as fs_a,
        open_image(spec_b, work, platform=platform) as fs_b,
    ):
        return compare(fs_a, fs_b, spec_a, spec_b)


def compare(
    fs_a: ImageFs, fs_b: ImageFs, name_a: str, name_b: str, inventory_a: Inventory | None = None
) -> dict[str, Any]:
    """Files, packages and config of B against A (``inventory_a``: A's inventory when the
    caller has it already)."""
    inventory_a = inventory_a or inventory_of(fs_a)
    packages = diff_packages(fs_a, inventory_a, fs_b, inventory_of(fs_b))
    report = {
        "schema": SCHEMA,
        "a": _image(fs_a, name_a),
        "b": _image(fs_b, name_b),
        "files": diff_files(fs_a, fs_b),
        "packages": packages,
        "config": diff_config(config_summary(fs_a), config_summary(fs_b)),
    }
    return map_strings(report, printable)  # image strings escaped as in report.json


def _image(fs: ImageFs, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "id": fs.digest,
        "platform": str(fs.platform),
        "layers": len(fs.layers),
        "size": sum(fs.layer_sizes),
        "entries": len(fs),
    }
