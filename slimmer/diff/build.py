"""The removed-files audit of ``slimmer build``: the original image compared with the slim one,
written as ``diff.json`` and ``report.html`` into the build's output directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from slimmer.diff import compare
from slimmer.htmlreport import write_diff_html
from slimmer.imagefs import ImageFs, open_stream
from slimmer.inventory import Inventory
from slimmer.rebuild.archive import SlimImage, TarStream, docker_archive_members

CHUNK = 1 << 20


def write_build_audit(
    original: ImageFs,
    slim: SlimImage,
    names: tuple[str, str],
    output_dir: Path,
    workdir: Path,
    inventory: Inventory | None = None,
) -> dict[str, Path]:
    """Compare ``original`` with the ``slim`` image just written (read from its own layer
    file, no engine); write diff.json and report.html; their paths."""

    def chunks() -> Iterator[bytes]:
        with TarStream(docker_archive_members(slim)) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    with open_stream(chunks(), workdir, label="the slim image") as slim_fs:
        report = compare(original, slim_fs, names[0], names[1], inventory)
    output_dir.mkdir(parents=True, exist_ok=True)
    json_path = output_dir / "diff.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    html_path = output_dir / "report.html"
    write_diff_html(report, html_path)
    return {"diff": json_path, "audit": html_path}
