"""The rule registry: each check function registers itself with its metadata."""

from __future__ import annotations

from collections.abc import Callable

from slimmer.lint.model import Check, Rule, Severity

RULES: dict[str, Rule] = {}
FAMILIES = {
    "SL1": "pinning",
    "SL2": "privilege",
    "SL3": "signals and processes",
    "SL4": "secrets and build context",
    "SL5": "caching and size",
    "SL6": "syntax and shell",
}


def rule(
    rule_id: str, severity: Severity, title: str, hadolint: tuple[str, ...] = ()
) -> Callable[[Check], Check]:
    """Register ``check`` as rule ``rule_id`` (its family comes from the ID's first digit)."""

    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        RULES[rule_id] = Rule(rule_id, FAMILIES[rule_id[:3]], severity, title, check, hadolint)
        return check

    return register
