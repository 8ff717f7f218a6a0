"""Every rule fires on its bad case (exactly at the expected lines) and not on its good case.

Cases live in tests/lint/rules/<RULE>/{bad,good}/: a Dockerfile whose first line says
`# expect: LINE[,LINE]` (or `FILE:LINE` for another file of the context, or `none`), and the
build context around it (a .dockerignore where the rule needs one). Each case is linted as a
directory, like `slimmer lint DIR`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slimmer.lint import RULES, lint_file

CASES = Path(__file__).parent / "rules"


def _expected(dockerfile: Path) -> set[tuple[str, int]]:
    header = dockerfile.read_text().splitlines()[0]
    assert header.startswith("# expect:"), f"{dockerfile} must start with '# expect: ...'"
    spec = header.split(":", 1)[1].strip()
    if spec == "none":
        return set()
    expected = set()
    for item in spec.split(","):
        path, _, line = item.strip().rpartition(":")
        expected.add((path or "Dockerfile", int(line)))
    return expected


def _found(case: Path, rule_id: str, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, int]]:
    assert (case / "Dockerfile").is_file(), f"rule {rule_id} has no case {case}"
    monkeypatch.chdir(case)
    report = lint_file(Path("."))
    return {(f.path, f.line) for f in report.findings if f.rule == rule_id}


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_fires_on_its_bad_case(rule_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES / rule_id / "bad"
    expected = _expected(case / "Dockerfile")
    assert expected, "a bad case must expect at least one finding"
    assert _found(case, rule_id, monkeypatch) == expected


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_is_quiet_on_its_good_case(rule_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES / rule_id / "good"
    assert _expected(case / "Dockerfile") == set()
    assert _found(case, rule_id, monkeypatch) == set()


def test_every_case_directory_is_a_rule() -> None:
    assert {path.name for path in CASES.iterdir()} == set(RULES)
