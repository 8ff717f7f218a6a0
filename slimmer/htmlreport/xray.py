"""The xray HTML page: summary, treemap of the final tree by layer, layers, wasted space,
Dockerfile, config, findings, packages, biggest files and duplicates."""

from __future__ import annotations

from typing import Any

from slimmer.htmlreport import esc, json_island, page, size, table, treemap_script


def xray_page(report: dict[str, Any]) -> str:
    image = report["image"]
    eff = report["efficiency"]
    parts = [
        f"<h1>xray: {esc(image['name'])}</h1>",
        f"<p>{esc(image['id'])} · {esc(image['platform'])} · {image['layers']} layers · "
        f"{esc(size(image['size']))} stored · {esc(size(image['files_size']))} in the final tree "
        f"· {image['entries']} paths</p>",
        f"<p><b>efficiency {eff['efficiency'] * 100:.4f} %</b> · wasted "
        f"{esc(size(eff['wasted_bytes']))} · user wasted {eff['user_wasted_ratio'] * 100:.2f} %"
        "</p>",
        _ci(report.get("ci")),
        '<h2>Final tree by layer</h2><p class="muted">Click a directory to zoom in; the path '
        'above goes back.</p><div id="crumbs"></div><div id="treemap"></div>',
        _legend(report["layers"]),
        "<h2>Layers</h2>",
        table(
            ("#", "digest", "size", "added", "changed", "deleted", "created by"),
            (
                (
                    la["index"],
                    la["digest"][:19],
                    size(la["size"]),
                    la["counts"]["added"],
                    la["counts"]["changed"],
                    la["counts"]["deleted"],
                    la["created_by"] or "",
                )
                for la in report["layers"]
            ),
            numeric=(0, 2, 3, 4, 5),
        ),
        "<h2>Wasted space</h2>",
        table(
            ("bytes", "layers", "path"),
            (
                (size(w["bytes"]), ",".join(map(str, w["layers"])), w["path"])
                for w in eff["wasted_paths"]
            ),
            numeric=(0,),
        ),
        "<h2>Dockerfile from history</h2>",
        f"<pre>{esc(report['dockerfile']['text'])}</pre>",
        "<h2>Config</h2>",
        _config(report["config"]),
        "<h2>Findings</h2>",
        _findings(report["security"]),
        "<h2>Packages</h2>",
        _packages(report.get("packages")),
        "<h2>Biggest files</h2>",
        table(
            ("bytes", "layer", "path"),
            ((size(f["bytes"]), f["layer"], f["path"]) for f in report["biggest"]["files"]),
            numeric=(0, 1),
        ),
        "<h2>Biggest directories</h2>",
        table(
            ("bytes", "path"),
            ((size(d["bytes"]), d["path"]) for d in report["biggest"]["directories"]),
            numeric=(0,),
        ),
        "<h2>Duplicate files</h2>",
        table(
            ("wasted", "copies", "paths (layer)"),
            (
                (
                    size(g["wasted_bytes"]),
                    len(g["copies"]),
                    ", ".join(f"{c['path']} ({c['layer']})" for c in g["copies"]),
                )
                for g in report["duplicates"]["groups"]
            ),
            numeric=(0, 1),
        ),
    ]
    tree = report.get("tree") or {"n": "/", "s": 0, "l": -1}
    script = json_island("tree-data", tree) + treemap_script()
    return page(f"xray {report['image']['name']}", "".join(parts), script)


def _ci(verdicts: list[dict[str, Any]] | None) -> str:
    if not verdicts:
        return ""
    rows = ((v["rule"], v["status"].upper(), v["detail"]) for v in verdicts)
    return "<h2>CI gates</h2>" + table(("rule", "result", "detail"), rows)


def _legend(layers: list[dict[str, Any]]) -> str:
    spans = [
        f'<span style="background:hsl({(layer["index"] * 137.508) % 360:.1f},55%,62%)">'
        f"layer {layer['index']}</span>"
        for layer in layers
    ]
    return '<div class="legend">' + "".join(spans) + "</div>"


def _config(config: dict[str, Any]) -> str:
    user = config["user"]
    check = config["healthcheck"]
    rows = [
        (
            "user",
            f"{user['configured'] or '(none)'}{' (root)' if user['root'] else ''} {user['note']}",
        ),
        ("entrypoint", config["entrypoint"]),
        ("cmd", config["cmd"]),
        ("PID 1", f"{config['pid1']['argv0']} {config['pid1']['note']}"),
        ("ports", ", ".join(config["ports"])),
        ("volumes", ", ".join(config["volumes"])),
        ("workdir", config["workdir"]),
        ("env", "; ".join(f"{e['name']}={e['value']}" for e in config["env"])),
        ("healthcheck", " ".join(check["test"]) if check else ""),
        ("stop signal", config["stop_signal"]),
        ("labels", "; ".join(f"{k}={v}" for k, v in sorted(config["labels"].items()))),
    ]
    return table(("key", "value"), rows)


def _findings(security: dict[str, Any]) -> str:
    rows: list[tuple[object, ...]] = []
    for kind in ("setuid", "setgid", "world_writable"):
        rows += [
            (kind, item["mode"], item["path"], f"layer {item['layer']}") for item in security[kind]
        ]
    rows += [
        ("capabilities", "+ep" if c["effective"] else "+p", c["path"], ",".join(c["permitted"]))
        for c in security["capabilities"]
    ]
    for secret in security["secrets"]:
        if secret["where"] == "file":
            state = (
                "in the final image"
                if secret["in_final_image"]
                else (
                    f"deleted in layer {secret['removed_in_layer']}, still stored in layer "
                    f"{secret['layer']}"
                )
            )
            hits = ", ".join(f"{h['rule']} {h['masked']}" for h in secret["hits"])
            rows.append((f"secret: {secret['rule']}", hits, secret["path"], state))
        else:
            rows.append(
                (
                    f"secret: {secret['rule']}",
                    secret["masked"],
                    f"{secret['where']} {secret['name']}",
                    "",
                )
            )
    if not rows:
        return '<p class="ok">no findings</p>'
    return table(("finding", "detail", "path", "where"), rows)


def _packages(packages: dict[str, Any] | None) -> str:
    if not packages:
        return '<p class="muted">no package inventory</p>'
    return table(
        ("ecosystem", "name", "version", "files"),
        (
            (p["ecosystem"], p["name"], p["version"], p.get("files", ""))
            for p in packages.get("packages", [])
        ),
        numeric=(3,),
    )
