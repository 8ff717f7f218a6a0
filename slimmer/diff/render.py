"""The terminal view of a diff report; image strings go through ``T`` (escaped, printable)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from slimmer.summary import human_size
from slimmer.xray.render import T

ROWS = 15


def render_diff(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(file=sys.stdout)
    files = report["files"]
    counts, sizes = files["counts"], files["bytes"]
    console.print(
        Text.assemble(
            ("diff ", "bold"),
            T(report["a"]["name"], "bold cyan"),
            " → ",
            T(report["b"]["name"], "bold cyan"),
        )
    )
    console.print(
        f"files: {counts['removed']} removed ({human_size(sizes['removed'])}), "
        f"{counts['added']} added ({human_size(sizes['added'])}), {counts['changed']} changed, "
        f"{counts['unchanged']} unchanged; {human_size(sizes['a'])} → {human_size(sizes['b'])}",
        markup=False,
        highlight=False,
    )
    for title, items in (("Removed", files["removed"]), ("Added", files["added"])):
        if items:
            console.print(_paths(title, items))
    if files["changed"]:
        table = Table(title=f"Changed ({len(files['changed'])})", title_justify="left")
        table.add_column("path")
        table.add_column("what changed")
        for item in files["changed"][:ROWS]:
            what = "; ".join(f"{k}: {v[0]} → {v[1]}" for k, v in item["changes"].items())
            table.add_row(T(item["path"]), T(what))
        console.print(table)
    if report.get("packages"):
        console.print(_packages(report["packages"]))
    if report["config"]:
        table = Table(title="Config", title_justify="left")
        for name in ("field", "a", "b"):
            table.add_column(name)
        for item in report["config"]:
            field = item["field"] + (f" {item['key']}" if "key" in item else "")
            table.add_row(
                T(field), *(T("(absent)" if v is None else v) for v in (item["a"], item["b"]))
            )
        console.print(table)


def _paths(title: str, items: list[dict[str, Any]]) -> Table:
    biggest = sorted(items, key=lambda i: -i["size"])[:ROWS]
    table = Table(title=f"{title} ({len(items)}, biggest first)", title_justify="left")
    table.add_column("size", justify="right")
    table.add_column("type")
    table.add_column("path")
    for item in biggest:
        table.add_row(human_size(item["size"]), item["type"], T(item["path"]))
    return table


def _packages(packages: dict[str, Any]) -> Table:
    counts = packages["counts"]
    table = Table(
        title=f"Packages: {counts['removed']} removed, {counts['partially_kept']} partially "
        f"kept, {counts['kept']} kept",
        title_justify="left",
    )
    table.add_column("state")
    table.add_column("package")
    table.add_column("files left", justify="right")
    for state in ("removed", "partially_kept"):
        for item in packages[state][:ROWS]:
            table.add_row(
                state.replace("_", " "),
                T(f"{item['name']} {item['version']}"),
                f"{item['files_left']}/{item['files']}",
            )
    return table
