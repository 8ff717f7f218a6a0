"""``slimmer xray``: what is inside an image, layer by layer, with CI gates.

``xray_image(spec, ...) -> report`` opens any image source (engine reference, docker-archive,
OCI layout: no engine needed for files) in a temporary ``slimmer-xray-*`` directory, analyses
it and removes the directory again; ``analyze(fs, name, options)`` works on an open ImageFs.
The report is a JSON document (schema ``slimmer-xray/1``, docs/xray.md).
"""

from __future__ import annotations

import tempfile
from typing import Any

from slimmer.imagefs import open_image
from slimmer.session import terminate_as_interrupt
from slimmer.xray.analyze import SCHEMA, XrayOptions, analyze
from slimmer.xray.packages import package_summary

__all__ = ["SCHEMA", "XrayOptions", "analyze", "base_diff_ids", "xray_image"]


def xray_image(
    spec: str, platform: str | None = None, options: XrayOptions | None = None
) -> dict[str, Any]:
    with (
        terminate_as_interrupt(),
        tempfile.TemporaryDirectory(prefix="slimmer-xray-") as work,
        open_image(spec, work, platform=platform, keep_layers=True) as fs,
    ):
        return analyze(fs, spec, options or XrayOptions(), package_summary(fs))


def base_diff_ids(spec: str) -> list[str]:
    """The layer digests of a base image (engine reference or image file), for allowed-base."""
    with (
        tempfile.TemporaryDirectory(prefix="slimmer-xray-base-") as work,
        open_image(spec, work) as fs,
    ):
        return list(fs.diff_ids)
