"""report.json, kept.txt and removed.txt: what was kept and why, what was removed, how it went."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slimmer import __version__
from slimmer.engine import ImageInfo
from slimmer.escaping import printable, printable_tree
from slimmer.findings import Finding
from slimmer.imagefs.model import Entry, EntryType
from slimmer.observation import Observation
from slimmer.observe import ObservedRun
from slimmer.selection import Selection
from slimmer.verify import Verification

REPORT_VERSION = 1


@dataclass
class Tally:
    count: int = 0
    bytes: int = 0
    paths: list[tuple[str, int]] = field(default_factory=list)


def tally(entries: Iterable[Entry]) -> Tally:
    """Count entries and the bytes of their contents (hardlinked contents once)."""
    result = Tally()
    for entry in entries:
        result.count += 1
        size = entry.size if entry.type is EntryType.FILE else 0
        result.bytes += size
        result.paths.append((entry.path, size))
    return result


def split_tree(fs, selection: Selection) -> tuple[Tally, Tally]:
    """Kept and removed entries of the image."""
    kept = [e for e in fs if e.path in selection.kept]
    removed = [e for e in fs if e.path not in selection.kept]
    return tally(kept), tally(removed)


def observation_summary(observation: Observation) -> dict[str, Any]:
    return {
        "arch": observation.arch,
        "fanotify": observation.fanotify_mode,
        "ptrace": observation.ptrace_mode,
        "target_exit": observation.target_exit,
        "syscalls": {abi: len(names) for abi, names in observation.syscalls.items()},
        "paths_seen": len(observation.paths),
        "files_seen": len(observation.files),
        "execs": [
            {"pid": e.pid, "ppid": e.ppid, "path": e.path, "argv": list(e.argv)}
            for e in observation.execs
        ],
        "counters": observation.counters,
    }


def source_summary(info: ImageInfo, platform: str) -> dict[str, Any]:
    return {
        "ref": info.ref,
        "id": info.id,
        "digests": info.repo_digests,
        "size": info.size,
        "platform": platform,
    }


def probes_summary(observed: ObservedRun) -> dict[str, Any]:
    return {
        "continue_after": observed.mode.mode,
        "exit_code": observed.run.exit_code,
        "timed_out": observed.run.timed_out,
        "probes": [p.to_dict() for p in observed.run.probes],
        "commands": [c.to_dict() for c in observed.run.commands],
    }


def runs_summary(runs: list[ObservedRun]) -> list[dict[str, Any]]:
    """Each --run: its command and what it did (exit status, probes, commands)."""
    return [{"command": run.command, **probes_summary(run)} for run in runs]


def findings_summary(found: list[Finding]) -> list[dict[str, str]]:
    return [finding.to_dict() for finding in found]


def verification_summary(verifications: list[Verification], enabled: bool) -> dict[str, Any]:
    if not enabled:
        return {"verdict": "skipped", "runs": []}
    verdict = "passed" if all(v.passed for v in verifications) else "failed"
    return {"verdict": verdict, "runs": [v.to_dict() for v in verifications]}


def write_outputs(
    report: dict[str, Any], selection: Selection | None, removed: Tally | None, output_dir: Path
) -> Path:
    """Write report.json (and kept.txt / removed.txt for builds); the report's path.

    Every string is written with ``slimmer.escaping.printable`` (names from images may hold any
    bytes, newlines included)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    if selection is not None:
        lines = [f"{printable(path)}\t{printable(str(reason))}"
                 for path, reason in sorted(selection.kept.items())]
        (output_dir / "kept.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if removed is not None:
        lines = [f"{printable(path)}\t{size}" for path, size in sorted(removed.paths)]
        (output_dir / "removed.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = output_dir / "report.json"
    text = json.dumps(printable_tree(report), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def header(command: str) -> dict[str, Any]:
    return {"slimmer_report": REPORT_VERSION, "slimmer_version": __version__, "command": command}
