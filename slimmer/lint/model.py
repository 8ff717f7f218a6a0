"""Severities, rules, findings and the report of one lint run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slimmer.lint.context import LintContext

DOCS_URL = "https://github.com/OWNER/slimmer/blob/main/docs/lint.md"
DOCS_PATH = "docs/lint.md"
EXIT_FINDINGS = 4  # findings at or above --fail-on (the value xray --ci uses for a failed gate)


class Severity(IntEnum):
    STYLE = 0
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of {names})") from None


SARIF_LEVELS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
    Severity.STYLE: "note",
}


@dataclass(frozen=True)
class Hit:
    """What a rule check yields: where, and the one-line message saying what to do."""

    line: int
    message: str
    path: str | None = None  # another file than the Dockerfile (the .dockerignore)
    end_line: int | None = None


Check = Callable[["LintContext"], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    severity: Severity
    title: str  # short name, e.g. "FROM without a tag"
    check: Check
    hadolint: tuple[str, ...] = ()  # hadolint rules this one covers (docs/lint.md)

    @property
    def anchor(self) -> str:
        return self.id.lower()

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URL}#{self.anchor}"

    @property
    def doc_ref(self) -> str:
        return f"{DOCS_PATH}#{self.anchor}"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    path: str
    line: int
    message: str
    end_line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "path": self.path,
            "line": self.line,
            "end_line": self.end_line or self.line,
            "message": self.message,
            "help_uri": f"{DOCS_URL}#{self.rule.lower()}",
        }


@dataclass
class LintReport:
    """The findings for one Dockerfile (and its build context), sorted by file and line."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    suppressed: int = 0  # findings silenced by inline comments
    disabled: tuple[str, ...] = ()  # rules turned off by the config
    context: str | None = None  # the build context directory that was checked

    def counts(self) -> dict[str, int]:
        counts = {severity.label: 0 for severity in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    def at_or_above(self, threshold: Severity | None) -> list[Finding]:
        if threshold is None:
            return []
        return [finding for finding in self.findings if finding.severity >= threshold]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "context": self.context,
            "findings": [finding.to_dict() for finding in self.findings],
            "counts": self.counts(),
            "suppressed": self.suppressed,
            "disabled_rules": list(self.disabled),
        }
