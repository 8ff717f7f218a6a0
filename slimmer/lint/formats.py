"""The report as text (one line per finding), JSON (docs/lint.md#json-output) and SARIF 2.1.0
(for GitHub code scanning)."""

from __future__ import annotations

import hashlib
from typing import Any

from slimmer import __version__
from slimmer.lint.model import DOCS_URL, SARIF_LEVELS, LintReport, Rule, Severity
from slimmer.lint.registry import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SECURITY_FAMILIES = frozenset({"privilege", "secrets and build context"})
SECURITY_SEVERITY = {Severity.ERROR: "8.0", Severity.WARNING: "5.0", Severity.INFO: "2.0"}


def format_text(report: LintReport) -> str:
    """`path:line RULE severity: message (docs/lint.md#rule)` per finding, then a summary."""
    lines = [
        f"{f.path}:{f.line} {f.rule} {f.severity.label}: {f.message} ({RULES[f.rule].doc_ref})"
        for f in report.findings
    ]
    counts = ", ".join(f"{n} {label}" for label, n in report.counts().items() if n)
    summary = f"{report.path}: {len(report.findings)} finding(s)"
    summary += f" ({counts})" if counts else ""
    if report.suppressed:
        summary += f", {report.suppressed} suppressed inline"
    return "\n".join([*lines, summary])


def to_json(report: LintReport, fail_on: Severity | None) -> dict[str, Any]:
    data = {"tool": "slimmer lint", "version": __version__}
    data.update(report.to_dict())
    data["fail_on"] = fail_on.label if fail_on is not None else "none"
    data["failed"] = bool(report.at_or_above(fail_on))
    return data


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": [rule.family], "precision": "high"}
    if rule.family in SECURITY_FAMILIES and rule.severity in SECURITY_SEVERITY:
        properties["tags"].append("security")
        properties["security-severity"] = SECURITY_SEVERITY[rule.severity]
    if rule.hadolint:
        properties["hadolint"] = list(rule.hadolint)
    return {
        "id": rule.id,
        "name": rule.title.title().replace(" ", "").replace("-", ""),
        "shortDescription": {"text": rule.title},
        "helpUri": rule.help_uri,
        "help": {"text": f"{rule.title}: see {rule.help_uri}"},
        "defaultConfiguration": {"level": SARIF_LEVELS[rule.severity]},
        "properties": properties,
    }


def to_sarif(report: LintReport) -> dict[str, Any]:
    """One run, every rule described (so code scanning can close fixed alerts)."""
    rule_ids = sorted(RULES)
    index = {rule_id: number for number, rule_id in enumerate(rule_ids)}
    results = []
    for finding in report.findings:
        region = {"startLine": finding.line, "endLine": finding.end_line or finding.line}
        fingerprint = hashlib.sha256(
            f"{finding.rule}:{finding.path}:{finding.message}".encode()
        ).hexdigest()[:32]
        results.append(
            {
                "ruleId": finding.rule,
                "ruleIndex": index[finding.rule],
                "level": SARIF_LEVELS[finding.severity],
                "message": {"text": finding.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                            "region": region,
                        }
                    }
                ],
                "partialFingerprints": {"slimmerLintFinding/v1": fingerprint},
            }
        )
    driver = {
        "name": "slimmer-lint",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": DOCS_URL,
        "rules": [_sarif_rule(RULES[rule_id]) for rule_id in rule_ids],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results, "columnKind": "utf16CodeUnits"}],
    }
