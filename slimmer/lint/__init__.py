"""`slimmer lint`: Dockerfile checks (rules and their reasons in docs/lint.md).

Other commands attach findings with `lint_file(path) -> LintReport` and `report.to_dict()`.
"""

from slimmer.lint.config import (
    LintConfig,
    find_config,
    load_config,
    parse_fail_on,
    resolve_config,
)
from slimmer.lint.engine import lint_file, lint_path, lint_text
from slimmer.lint.formats import format_text, to_json, to_sarif
from slimmer.lint.model import EXIT_FINDINGS, Finding, LintReport, Rule, Severity
from slimmer.lint.rules import RULES

__all__ = [
    "EXIT_FINDINGS",
    "RULES",
    "Finding",
    "LintConfig",
    "LintReport",
    "Rule",
    "Severity",
    "find_config",
    "format_text",
    "lint_file",
    "lint_path",
    "lint_text",
    "load_config",
    "parse_fail_on",
    "resolve_config",
    "to_json",
    "to_sarif",
]
