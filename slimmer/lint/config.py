"""`.slimmer-lint.yaml`: rules turned off, the lowest severity reported, the failing severity.

```yaml
disable: [SL1003, SL5008]   # rule IDs
min-severity: info          # findings below are not reported (default: style, all)
fail-on: warning            # exit 4 at or above (error, warning, info, style, none)
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from slimmer.errors import UsageError
from slimmer.lint.model import Severity
from slimmer.lint.registry import RULES

CONFIG_NAME = ".slimmer-lint.yaml"
KNOWN_KEYS = ("disable", "min-severity", "fail-on")
MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class LintConfig:
    disabled: frozenset[str] = frozenset()
    min_severity: Severity = Severity.STYLE
    fail_on: Severity | None = Severity.WARNING  # None: never fail on findings
    source: str | None = None  # the file it was read from


def parse_fail_on(text: str) -> Severity | None:
    """`error`, `warning`, `info`, `style`, or `none` (never fail)."""
    return None if text.strip().lower() == "none" else Severity.parse(text)


def find_config(*directories: Path) -> Path | None:
    for directory in directories:
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path) -> LintConfig:
    """Read and check a config file; every problem is a one-line UsageError (exit 2)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            f"cannot read lint config {path}: {exc.strerror or exc}",
            "check the path given to --config",
        ) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"lint config {path} is larger than 1 MiB", "is it the right file?")
    try:
        data = yaml.safe_load(raw.decode("utf-8", errors="replace")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(
            f"lint config {path} is not valid YAML{where}",
            "see docs/lint.md#configuration for the format",
        ) from None
    return _config_from(data, path)


def _config_from(data: Any, path: Path) -> LintConfig:
    hint = "see docs/lint.md#configuration"
    if not isinstance(data, dict):
        raise UsageError(f"lint config {path} must be a mapping of {', '.join(KNOWN_KEYS)}", hint)
    unknown = [str(key) for key in data if key not in KNOWN_KEYS]
    if unknown:
        raise UsageError(f"unknown key {unknown[0]!r} in lint config {path}", hint)
    disabled = data.get("disable") or []
    if isinstance(disabled, str):
        disabled = [disabled]
    if not isinstance(disabled, list):
        raise UsageError(f"'disable' in lint config {path} must be a list of rule IDs", hint)
    ids = [str(rule_id).upper() for rule_id in disabled]
    bad = [rule_id for rule_id in ids if rule_id not in RULES]
    if bad:
        raise UsageError(f"unknown rule {bad[0]} in lint config {path}", hint)
    try:
        min_severity = Severity.parse(str(data.get("min-severity", "style")))
        fail_on = parse_fail_on(str(data.get("fail-on", "warning")))
    except ValueError as exc:
        raise UsageError(f"lint config {path}: {exc}", hint) from None
    return LintConfig(frozenset(ids), min_severity, fail_on, str(path))


def resolve_config(spec: str, explicit: Path | None) -> LintConfig:
    """The config for `slimmer lint SPEC`: ``explicit`` (--config), else the first
    .slimmer-lint.yaml beside the Dockerfile (in the directory) or in the working directory,
    else the defaults."""
    if explicit is not None:
        return load_config(explicit)
    directories = []
    if spec != "-":
        target = Path(spec)
        directories.append(target if target.is_dir() else target.parent)
    directories.append(Path.cwd())
    found = find_config(*directories)
    return load_config(found) if found else LintConfig()
