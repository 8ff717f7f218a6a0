"""Put an xray report together from an ImageFs (and the package inventory). The report is a
plain JSON document (schema in docs/xray.md) whose strings from the image are escaped with
``slimmer.escaping.printable``, as in report.json: valid UTF-8, one line each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slimmer.escaping import map_strings, printable
from slimmer.imagefs import EntryType, ImageFs
from slimmer.xray.config import config_summary
from slimmer.xray.content import biggest, duplicates
from slimmer.xray.dockerfile import dockerfile_text, history_layers, reverse_dockerfile
from slimmer.xray.layers import LayerChanges, walk_layers
from slimmer.xray.security import file_findings, secret_findings
from slimmer.xray.treemap import tree_nodes

SCHEMA = "slimmer-xray/1"


@dataclass(frozen=True)
class XrayOptions:
    top: int = 20  # biggest files and directories, duplicate groups
    wasted_paths: int = 200
    min_duplicate_size: int = 1024
    treemap_nodes: int = 0  # > 0: include the final tree for the HTML treemap


def analyze(fs: ImageFs, image: str, options: XrayOptions, packages: Any = None) -> dict[str, Any]:
    walked = walk_layers(fs, options.min_duplicate_size)
    history = history_layers(fs.config, len(fs.layers))
    dockerfile = reverse_dockerfile(history)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "image": {
            "name": image,
            "id": fs.digest,
            "platform": str(fs.platform),
            "layers": len(fs.layers),
            "size": sum(fs.layer_sizes),
            "files_size": _final_bytes(fs),
            "entries": len(fs),
        },
        "layers": [_layer(fs, changes, history) for changes in walked.layers],
        "history": history,
        "efficiency": walked.efficiency.summary(options.wasted_paths),
        "dockerfile": {"lines": dockerfile, "text": dockerfile_text(dockerfile)},
        "config": config_summary(fs),
        "security": {
            **file_findings(fs),
            "secrets": secret_findings(fs, walked.secret_files, walked.layers, history),
        },
        "packages": packages,
        "biggest": biggest(fs, options.top),
        "duplicates": duplicates(fs, walked.files, options.top),
    }
    if options.treemap_nodes:
        report["tree"] = tree_nodes(fs, options.treemap_nodes)
    return map_strings(report, printable)  # names from the image: any bytes, one line each


def _final_bytes(fs: ImageFs) -> int:
    return sum(e.size for e in fs if e.type is EntryType.FILE)


def _layer(fs: ImageFs, changes: LayerChanges, history: list[dict[str, Any]]) -> dict[str, Any]:
    made_by = next((h for h in history if h["layer"] == changes.index), None)
    return {
        "index": changes.index,
        "digest": fs.diff_ids[changes.index],
        "size": fs.layer_sizes[changes.index],
        "files_size": changes.content_bytes,
        "created_by": (made_by["created_by"] or made_by["comment"]) if made_by else None,
        "counts": changes.counts,
        "added": changes.added,
        "changed": changes.changed,
        "deleted": changes.deleted,
        "opaque": changes.opaque,
    }
