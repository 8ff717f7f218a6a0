"""The terminal view of an xray report (rich). Every string from the image goes into a
``Text`` (never parsed as markup), so names like ``[bold]`` or ``<script>`` print as they are."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from slimmer.escaping import printable
from slimmer.summary import human_size

ROWS = 10
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


def shown(value: object) -> str:
    """A string safe to print. Reports hold image strings already escaped with
    ``slimmer.escaping.printable``; anything else that still holds control characters or
    undecodable bytes is escaped the same way here."""
    text = str(value)
    return printable(text) if _UNPRINTABLE.search(text) else text


def T(value: object, style: str = "") -> Text:
    """Image text for rich: never parsed as markup, made printable."""
    return Text(shown(value), style=style)


def print_json(report: dict[str, Any]) -> None:
    click.echo(json.dumps(report, indent=2, sort_keys=False))


def print_gates(verdicts: list[Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="CI gates", title_justify="left")
    for name in ("rule", "result", "detail"):
        table.add_column(name)
    styles = {"pass": "green", "fail": "bold red", "disabled": "dim"}
    for verdict in verdicts:
        table.add_row(
            verdict.rule,
            Text(verdict.status.upper(), style=styles[verdict.status]),
            T(verdict.detail),
        )
    console.print(table)
    failed = [v for v in verdicts if v.status == "fail"]
    console.print(
        Text(
            f"FAILED: {len(failed)} rule(s) broken" if failed else "PASSED",
            style="bold red" if failed else "bold green",
        )
    )


def render_xray(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(file=sys.stdout)
    image = report["image"]
    eff = report["efficiency"]
    console.print(
        Text.assemble(
            ("xray ", "bold"),
            T(image["name"], "bold cyan"),
            f"  {image['id'][:19]}  ",
            f"{image['platform']}  {image['layers']} layers  {human_size(image['size'])} stored, "
            f"{human_size(image['files_size'])} in the final tree, {image['entries']} paths",
        )
    )
    console.print(
        Text(
            f"efficiency {eff['efficiency'] * 100:.4f} %   wasted {human_size(eff['wasted_bytes'])}"
            f"   user wasted {eff['user_wasted_ratio'] * 100:.2f} %",
            style="bold",
        )
    )
    console.print(_layers(report["layers"]))
    if eff["wasted_paths"]:
        console.print(_wasted(eff))
    console.print(
        Panel(
            T(report["dockerfile"]["text"].rstrip()),
            title="Dockerfile (from history)",
            title_align="left",
        )
    )
    console.print(_config(report["config"]))
    console.print(_security(report["security"]))
    if report.get("packages"):
        console.print(_packages(report["packages"]))
    console.print(_biggest(report["biggest"], report["duplicates"]))


def _layers(layers: list[dict[str, Any]]) -> Table:
    table = Table(title="Layers", title_justify="left", expand=False)
    for name in ("#", "digest", "size", "added", "changed", "deleted", "created by"):
        table.add_column(name, justify="right" if name in ("#", "size") else "left")
    for layer in layers:
        counts = layer["counts"]
        table.add_row(
            str(layer["index"]),
            T(layer["digest"][7:19]),
            human_size(layer["size"]),
            str(counts["added"]),
            str(counts["changed"]),
            str(counts["deleted"]),
            T(_short(layer["created_by"] or "(no history)", 90)),
        )
    return table


def _wasted(eff: dict[str, Any]) -> Table:
    table = Table(title=f"Wasted space ({eff['wasted_paths_total']} paths)", title_justify="left")
    table.add_column("bytes", justify="right")
    table.add_column("layers")
    table.add_column("path")
    for item in eff["wasted_paths"][:ROWS]:
        table.add_row(
            human_size(item["bytes"]), ",".join(map(str, item["layers"])), T(item["path"])
        )
    return table


def _config(config: dict[str, Any]) -> Table:
    table = Table(title="Config", title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    user = config["user"]
    table.add_row(
        "user",
        T(
            f"{user['configured'] or '(none)'}"
            f"{'  ROOT' if user['root'] else ''}  {user['note']}".strip()
        ),
    )
    table.add_row("entrypoint", T(str(config["entrypoint"])))
    table.add_row("cmd", T(str(config["cmd"])))
    pid1 = config["pid1"]
    table.add_row(
        "PID 1",
        T(f"{pid1['argv0']}  {pid1['note']}".strip(), style="yellow" if pid1["shell_form"] else ""),
    )
    table.add_row("ports", T(", ".join(config["ports"]) or "-"))
    table.add_row("volumes", T(", ".join(config["volumes"]) or "-"))
    table.add_row("workdir", T(config["workdir"] or "-"))
    env = [f"{e['name']}={e['value']}" for e in config["env"]]
    table.add_row("env", T("\n".join(env) or "-"))
    check = config["healthcheck"]
    table.add_row("healthcheck", T(" ".join(check["test"]) if check else "-"))
    table.add_row("stop signal", T(config["stop_signal"] or "(SIGTERM)"))
    labels = [f"{k}={v}" for k, v in sorted(config["labels"].items())]
    table.add_row("labels", T("\n".join(labels[:ROWS]) or "-"))
    return table


def _security(security: dict[str, Any]) -> Panel:
    lines: list[Text] = []
    for kind, label in (
        ("setuid", "setuid"),
        ("setgid", "setgid"),
        ("world_writable", "world-writable (no sticky bit)"),
    ):
        for item in security[kind][:ROWS]:
            lines.append(
                Text.assemble((f"{label:<30}", "red"), f"{item['mode']} ", T(item["path"]))
            )
    for item in security["capabilities"][:ROWS]:
        caps = ",".join(item["permitted"]) + ("+ep" if item["effective"] else "+p")
        lines.append(
            Text.assemble(("file capabilities".ljust(30), "yellow"), T(item["path"]), f"  {caps}")
        )
    for secret in security["secrets"]:
        lines.append(_secret_line(secret))
    if not lines:
        lines.append(Text("no findings", style="green"))
    return Panel(Group(*lines), title="Security", title_align="left")


def _secret_line(secret: dict[str, Any]) -> Text:
    if secret["where"] == "file":
        gone = (
            ""
            if secret["in_final_image"]
            else (
                f"  (deleted in layer {secret['removed_in_layer']}, "
                f"still in layer {secret['layer']})"
                if secret["removed_in_layer"] is not None
                else "  (not in the final tree)"
            )
        )
        hits = ", ".join(f"{h['rule']} {h['masked']}" for h in secret["hits"][:3])
        return Text.assemble(
            ("secret".ljust(30), "bold red"),
            f"{secret['rule']} layer {secret['layer']} ",
            T(secret["path"]),
            T(f"  {hits}" if hits else ""),
            T(gone),
        )
    return Text.assemble(
        ("secret".ljust(30), "bold red"),
        f"{secret['where']} ",
        T(secret["name"]),
        T(f"={secret['masked']}  ({secret['rule']})"),
    )


def _packages(packages: dict[str, Any]) -> Table:
    system = (packages.get("os") or {}).get("pretty_name") or "unknown OS"
    table = Table(title=f"Packages ({packages['count']}, {system})", title_justify="left")
    for name in ("ecosystem", "count"):
        table.add_column(name)
    for ecosystem, count in sorted(packages.get("by_ecosystem", {}).items()):
        table.add_row(T(ecosystem), str(count))
    return table


def _biggest(top: dict[str, Any], dups: dict[str, Any]) -> Group:
    table = Table(title="Biggest files and directories", title_justify="left")
    table.add_column("bytes", justify="right")
    table.add_column("what")
    table.add_column("path")
    for item in top["files"][:ROWS]:
        table.add_row(human_size(item["bytes"]), f"file (layer {item['layer']})", T(item["path"]))
    for item in top["directories"][:ROWS]:
        table.add_row(human_size(item["bytes"]), "directory", T(item["path"]))
    copies = Table(
        title=f"Duplicate files ({dups['groups_total']} groups, "
        f"{human_size(dups['wasted_bytes'])} in extra copies)",
        title_justify="left",
    )
    copies.add_column("extra bytes", justify="right")
    copies.add_column("copies", justify="right")
    copies.add_column("paths (layer)")
    for group in dups["groups"][:ROWS]:
        first = group["copies"][0]
        more = len(group["copies"]) - 1
        copies.add_row(
            human_size(group["wasted_bytes"]),
            str(len(group["copies"])),
            T(f"{first['path']} ({first['layer']}) and {more} more"),
        )
    return Group(table, copies) if dups["groups"] else Group(table)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
