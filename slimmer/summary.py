"""The closing summary of a build or profile run: a short table for people, JSON for machines."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from slimmer.escaping import printable, printable_tree


@dataclass
class RunOutcome:
    exit_code: int
    report: dict[str, Any]
    output_dir: Path
    artifacts: dict[str, Path]


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1000
    return f"{value:.1f} GB"


def json_summary(outcome: RunOutcome) -> dict[str, Any]:
    report = outcome.report
    summary = {
        "exit_code": outcome.exit_code,
        "command": report.get("command"),
        "source": {k: report["source"].get(k) for k in ("ref", "id", "size")},
        "verdict": report.get("verification", {}).get("verdict"),
        "warnings": report.get("warnings", []),
        "artifacts": {name: str(path) for name, path in outcome.artifacts.items()},
        "timings": report.get("timings", {}),
    }
    for key in ("timeline", "image_read"):
        if key in report:
            summary[key] = report[key]
    if "result" in report:
        summary["result"] = {k: report["result"].get(k) for k in ("ref", "id", "size")}
        summary["ratio"] = report.get("ratio")
    if "profiles" in report:
        summary["profiles"] = report["profiles"]
    if "findings" in report:
        summary["findings"] = report["findings"]
    return summary


FINDING_STYLES = {"high": "red", "medium": "yellow", "low": "cyan"}


def _add_findings(table: Table, findings: list[dict[str, str]]) -> None:
    """Production-readiness findings, one row each: severity, id, what to do."""
    for finding in findings:
        style = FINDING_STYLES.get(finding["severity"], "yellow")
        table.add_row(
            "finding",
            f"[{style}]{_text(finding['severity'])}[/] {_text(finding['id'])}: "
            f"{_text(finding['message'])}",
        )


def print_summary(outcome: RunOutcome, as_json: bool) -> None:
    if as_json:
        summary = printable_tree(json_summary(outcome))
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        return
    report = outcome.report
    console = Console(highlight=False)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    source = report["source"]
    table.add_row("image", f"{_text(source['ref'])} ({human_size(source['size'])})")
    if "result" in report:
        result = report["result"]
        ratio = report.get("ratio")
        smaller = f", {ratio:.1f}x smaller" if ratio else ""
        table.add_row(
            "slim image", f"{_text(result['ref'])} ({human_size(result['size'])}{smaller})"
        )
        kept, removed = report["kept"], report["removed"]
        table.add_row(
            "files",
            f"{kept['count']} kept, {removed['count']} removed ({human_size(removed['bytes'])})",
        )
    if "profiles" in report:
        counts = report["profiles"]["seccomp_syscalls"]
        table.add_row(
            "seccomp",
            f"{counts['allowed']} syscalls allowed (Docker's default profile allows "
            f"{counts['docker_default']} to this architecture with default capabilities)",
        )
    verification = report.get("verification", {})
    verdict = verification.get("verdict", "skipped")
    style = {"passed": "green", "failed": "red"}.get(verdict, "yellow")
    table.add_row("verification", f"[{style}]{verdict}[/]")
    for run in verification.get("runs", []):
        for difference in run.get("differences", [])[:5]:
            table.add_row("", f"[red]{_text(run['name'])}: {_text(difference)}[/]")
    _add_findings(table, report.get("findings", []))
    for warning in report.get("warnings", [])[:10]:
        table.add_row("warning", f"[yellow]{_text(warning)}[/]")
    read = report.get("image_read")
    if read:
        how = read["method"] + (f" ({_text(read['fallback'])})" if read.get("fallback") else "")
        table.add_row("image read", how)
    table.add_row("artifacts", _text(str(outcome.output_dir)))
    table.add_row("time", f"{report.get('timings', {}).get('total', 0.0):.1f}s")
    console.print(table)


def _text(value: str) -> str:
    """A string from an image or a user, shown as plain text inside markup."""
    return escape(printable(value))
