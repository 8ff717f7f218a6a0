"""CI gates over an xray report, like dive's CI mode: rules from ``.slimmer-ci.yaml`` (or a file
given) and from options, each passed, failed or disabled. A failed gate exits with
``EXIT_GATE_FAILED``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from slimmer.errors import UsageError

DEFAULT_FILE = ".slimmer-ci.yaml"
BASE_LABEL = "org.opencontainers.image.base.name"
# dive's defaults, plus no secrets
DEFAULTS: dict[str, Any] = {
    "lowest-efficiency": 0.9,
    "highest-wasted-bytes": None,
    "highest-user-wasted-percent": 0.1,
    "max-size": None,
    "no-root-user": False,
    "no-secrets": True,
    "no-setuid": False,
    "allowed-base": None,
}
_SIZE = re.compile(r"(?i)^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?i?b?)?\s*$")
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "ki": 1024,
    "mi": 1024**2,
    "gi": 1024**3,
}


@dataclass(frozen=True)
class Verdict:
    rule: str
    status: str  # "pass", "fail", "disabled"
    detail: str = ""


def parse_size(value: Any, rule: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match or match[2].lower() not in _UNITS:
        raise UsageError(f"{rule}: {value!r} is not a size", "write e.g. 20MB, 1.5GiB or 1048576")
    return int(float(match[1]) * _UNITS[match[2].lower()])


def load_rules(path: Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """The rules in force: defaults, then the file (``path``, else ``.slimmer-ci.yaml`` if it
    exists), then options given on the command line (None means not given)."""
    rules = dict(DEFAULTS)
    source = path if path is not None else Path(DEFAULT_FILE)
    if path is not None or source.is_file():
        rules.update(_read_file(source))
    rules.update({k: v for k, v in overrides.items() if v is not None})
    return rules


def _read_file(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(
            f"cannot read {path}: {exc.strerror}", "check the --ci-config path"
        ) from None
    except yaml.YAMLError as exc:
        raise UsageError(
            f"{path} is not valid YAML: {exc}".replace("\n", " "), "see docs/xray.md for the format"
        ) from None
    rules = (document or {}).get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, dict):
        raise UsageError(f"{path} has no 'rules:' mapping", "see docs/xray.md for the format")
    unknown = sorted(set(rules) - set(DEFAULTS))
    if unknown:
        raise UsageError(
            f"{path}: unknown rules {', '.join(map(str, unknown))}",
            "known rules: " + ", ".join(DEFAULTS),
        )
    return {k: (None if _disabled(v) else v) for k, v in rules.items()}


def _disabled(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("", "disabled", "off")


def evaluate(
    report: dict[str, Any], rules: dict[str, Any], base_layers: Callable[[str], list[str]]
) -> list[Verdict]:
    """One verdict per rule. ``base_layers(ref)`` gives an allowed base image's diff ids."""
    eff = report["efficiency"]
    security = report["security"]
    verdicts = [
        _threshold(
            "lowest-efficiency",
            rules,
            eff["efficiency"],
            lambda v, t: v < float(t),
            lambda v, t: f"efficiency {v:.4f} < {t}",
        ),
        _threshold(
            "highest-wasted-bytes",
            rules,
            eff["wasted_bytes"],
            lambda v, t: v > parse_size(t, "highest-wasted-bytes"),
            lambda v, t: f"wasted {v} bytes > {t}",
        ),
        _threshold(
            "highest-user-wasted-percent",
            rules,
            eff["user_wasted_ratio"],
            lambda v, t: v > _ratio(t),
            lambda v, t: f"user wasted {v:.4f} > {t}",
        ),
        _threshold(
            "max-size",
            rules,
            report["image"]["size"],
            lambda v, t: v > parse_size(t, "max-size"),
            lambda v, t: f"image size {v} bytes > {t}",
        ),
        _flag("no-root-user", rules, report["config"]["user"]["root"], "the image runs as root"),
        _flag(
            "no-secrets",
            rules,
            bool(security["secrets"]),
            f"{len(security['secrets'])} secrets found",
        ),
        _flag(
            "no-setuid",
            rules,
            bool(security["setuid"] or security["setgid"]),
            f"{len(security['setuid'])} setuid and {len(security['setgid'])} setgid files",
        ),
        _allowed_base(report, rules.get("allowed-base"), base_layers),
    ]
    return verdicts


def _ratio(value: Any) -> float:
    ratio = float(value)
    if not 0 <= ratio <= 1:
        raise UsageError(
            f"highest-user-wasted-percent {value} is outside 0..1",
            "give a ratio, as dive does: 0.1 for 10 %",
        )
    return ratio


def _threshold(
    rule: str,
    rules: dict[str, Any],
    value: Any,
    broken: Callable[[Any, Any], bool],
    describe: Callable[[Any, Any], str],
) -> Verdict:
    threshold = rules.get(rule)
    if threshold is None or threshold is False:
        return Verdict(rule, "disabled")
    try:
        failed = broken(value, threshold)
    except ValueError:
        raise UsageError(f"{rule}: {threshold!r} is not a number", "see docs/xray.md") from None
    return Verdict(rule, "fail", describe(value, threshold)) if failed else Verdict(rule, "pass")


def _flag(rule: str, rules: dict[str, Any], broken: bool, detail: str) -> Verdict:
    if not rules.get(rule):
        return Verdict(rule, "disabled")
    return Verdict(rule, "fail", detail) if broken else Verdict(rule, "pass")


def _allowed_base(
    report: dict[str, Any], allowed: Any, base_layers: Callable[[str], list[str]]
) -> Verdict:
    if not allowed:
        return Verdict("allowed-base", "disabled")
    bases = [allowed] if isinstance(allowed, str) else [str(b) for b in allowed]
    label = report["config"]["labels"].get(BASE_LABEL)
    ours = [layer["digest"] for layer in report["layers"]]
    for base in bases:
        if label == base:
            return Verdict("allowed-base", "pass", f"label {BASE_LABEL}={base}")
        layers = base_layers(base)
        if layers and ours[: len(layers)] == layers:
            return Verdict("allowed-base", "pass", f"built on {base}")
    return Verdict("allowed-base", "fail", "not built on any of: " + ", ".join(bases))
