"""The diff HTML page (also build's report.html, the removed-files audit)."""

from __future__ import annotations

from typing import Any

from slimmer.htmlreport import esc, page, size, table


def diff_page(report: dict[str, Any]) -> str:
    files = report["files"]
    counts, sizes = files["counts"], files["bytes"]
    parts = [
        f"<h1>diff: {esc(report['a']['name'])} → {esc(report['b']['name'])}</h1>",
        f"<p>{counts['removed']} files removed ({esc(size(sizes['removed']))}), "
        f"{counts['added']} added ({esc(size(sizes['added']))}), {counts['changed']} changed, "
        f"{counts['unchanged']} unchanged · {esc(size(sizes['a']))} → {esc(size(sizes['b']))}"
        "</p>",
        "<h2>Packages</h2>",
        _packages(report.get("packages")),
        "<h2>Config</h2>",
        table(
            ("field", "a", "b"),
            (
                (c["field"] + (f" {c['key']}" if "key" in c else ""), c["a"], c["b"])
                for c in report["config"]
            ),
        )
        if report["config"]
        else "<p>no differences</p>",
        f"<h2>Removed files ({counts['removed']})</h2>",
        table(
            ("size", "type", "path"),
            ((size(i["size"]), i["type"], i["path"]) for i in files["removed"]),
            numeric=(0,),
        ),
        f"<h2>Added files ({counts['added']})</h2>",
        table(
            ("size", "type", "path"),
            ((size(i["size"]), i["type"], i["path"]) for i in files["added"]),
            numeric=(0,),
        ),
        f"<h2>Changed files ({counts['changed']})</h2>",
        table(
            ("path", "what changed"),
            (
                (i["path"], "; ".join(f"{k}: {v[0]} → {v[1]}" for k, v in i["changes"].items()))
                for i in files["changed"]
            ),
        ),
    ]
    title = f"diff {report['a']['name']} {report['b']['name']}"
    return page(title, "".join(parts))


def _packages(packages: dict[str, Any] | None) -> str:
    if not packages:
        return '<p class="muted">no package inventory</p>'
    rows = [
        (
            state.replace("_", " "),
            item["ecosystem"],
            item["name"],
            item["version"],
            f"{item.get('files_left', 0)}/{item.get('files', 0)}",
        )
        for state in ("removed", "partially_kept", "kept")
        for item in packages[state]
    ]
    rows += [("added in b", p["ecosystem"], p["name"], p["version"], "") for p in packages["added"]]
    return table(("state", "ecosystem", "name", "version", "files left"), rows)
