"""Self-contained HTML reports of xray and diff: one file, inline CSS and JavaScript (written
here, no library), a Content-Security-Policy that forbids any network fetch. Every string from
an image is escaped (``html.escape`` in markup, ``\\u003c`` in embedded JSON) and set by the
script with ``textContent`` only."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from slimmer.errors import SlimmerError
from slimmer.summary import human_size
from slimmer.xray.render import shown

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
MAX_ROWS = 20000  # per table; the JSON output has everything


def esc(value: object) -> str:
    return html.escape("(absent)" if value is None else shown(value), quote=True)


def json_island(element_id: str, document: Any) -> str:
    """A JSON document inside <script type="application/json">, safe against </script>."""
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()
) -> str:
    out = ['<div class="scroll"><table><tr>']
    out += [f"<th>{esc(h)}</th>" for h in headers]
    out.append("</tr>")
    count = 0
    for row in rows:
        count += 1
        if count > MAX_ROWS:
            continue
        cells = [
            f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
            for i, c in enumerate(row)
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    if count > MAX_ROWS:
        out.append(f'<p class="muted">{count - MAX_ROWS} more rows in the JSON output</p>')
    return "".join(out)


def page(title: str, body: str, script: str = "") -> str:
    css = files("slimmer.htmlreport").joinpath("report.css").read_text()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{esc(title)}</title><style>{css}</style></head><body>"
        f"{body}{script}</body></html>\n"
    )


def write_page(text: str, path: Path) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SlimmerError(
            f"cannot write {path}: {exc.strerror}", "choose a writable path"
        ) from None


def write_xray_html(report: dict[str, Any], path: Path) -> None:
    from slimmer.htmlreport.xray import xray_page

    write_page(xray_page(report), Path(path))


def write_diff_html(report: dict[str, Any], path: Path) -> None:
    from slimmer.htmlreport.diff import diff_page

    write_page(diff_page(report), Path(path))


def treemap_script() -> str:
    return "<script>" + files("slimmer.htmlreport").joinpath("treemap.js").read_text() + "</script>"


def size(value: int | None) -> str:
    return human_size(value)
