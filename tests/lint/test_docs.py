"""docs/lint.md documents every rule (anchor, ID, severity) and the hadolint mapping."""

from __future__ import annotations

from pathlib import Path

from slimmer.lint import RULES
from tests.lint.test_hadolint_crosscheck import HADOLINT_TO_SLIMMER

DOC = (Path(__file__).parents[2] / "docs" / "lint.md").read_text()


def test_every_rule_has_a_section_with_its_anchor() -> None:
    for rule in RULES.values():
        assert (
            f'<a id="{rule.anchor}"></a>\n#### {rule.id} {rule.title} ({rule.severity.label})'
            in DOC
        )


def test_every_mapped_hadolint_rule_is_in_the_docs_table() -> None:
    for code in HADOLINT_TO_SLIMMER:
        assert code in DOC.split('<a id="hadolint"></a>')[1], code
