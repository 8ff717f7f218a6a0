"""CI gates: rules from .slimmer-ci.yaml and options, each broken rule listed, exit code 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from slimmer.errors import EXIT_GATE_FAILED, UsageError
from slimmer.xray.gates import load_rules, parse_size
from tests.xray.helpers import save_image, slimmer

pytestmark = [pytest.mark.docker]


def test_broken_rules_are_listed_and_exit_4(fixture_image, tmp_path: Path) -> None:
    (tmp_path / ".slimmer-ci.yaml").write_text(
        "rules:\n"
        "  lowest-efficiency: 0.999\n"
        "  highest-wasted-bytes: 100B\n"
        "  no-root-user: true\n"
        "  no-setuid: true\n"
        "  max-size: 1MB\n"
    )
    done = slimmer("xray", fixture_image("crafted-secrets"), "--ci", cwd=tmp_path,
                   env={"COLUMNS": "200"})
    assert done.returncode == EXIT_GATE_FAILED == 4, done.stderr
    lines = {line.split("│")[1].strip(): line for line in done.stdout.splitlines()
             if line.count("│") >= 3}
    assert "FAIL" in lines["lowest-efficiency"] and "FAIL" in lines["highest-wasted-bytes"]
    assert "FAIL" in lines["no-root-user"] and "FAIL" in lines["no-secrets"]
    assert "PASS" in lines["no-setuid"] and "PASS" in lines["max-size"]
    assert "FAIL" in lines["highest-user-wasted-percent"]  # dive's default, 0.1
    assert "disabled" in lines["allowed-base"].lower()
    assert "FAILED: 5 rule(s) broken" in done.stdout


def test_options_override_the_file_and_passing_exits_0(fixture_image, tmp_path: Path) -> None:
    (tmp_path / "gates.yaml").write_text("rules:\n  no-setuid: true\n  no-secrets: false\n")
    ref = fixture_image("crafted-caps")
    failed = slimmer("xray", ref, "--ci", "--ci-config", str(tmp_path / "gates.yaml"),
                     "--json")
    assert failed.returncode == 4
    assert '"rule": "no-setuid",\n      "status": "fail"' in failed.stdout
    passed = slimmer("xray", ref, "--ci", "--ci-config", str(tmp_path / "gates.yaml"),
                     "--allow-setuid", "--allow-root-user")
    assert passed.returncode == 0, passed.stdout
    assert "PASSED" in passed.stdout


def test_allowed_base_by_layers(fixture_image, tmp_path: Path) -> None:
    app, base = fixture_image("python-app"), fixture_image("python-base")
    built_on_base = slimmer("xray", app, "--ci", "--allow-secrets", "--lowest-efficiency", "0",
                            "--highest-user-wasted-percent", "1", "--allowed-base", base)
    assert built_on_base.returncode == 0, built_on_base.stdout + built_on_base.stderr
    archive = save_image(fixture_image("crafted-caps"), tmp_path / "other.tar")
    other = slimmer("xray", app, "--ci", "--allow-secrets", "--lowest-efficiency", "0",
                    "--highest-user-wasted-percent", "1", "--allowed-base", str(archive))
    assert other.returncode == 4
    assert "not built on any of" in other.stdout


def test_bad_gate_config_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  lowest-efficiency: 0.9\n  no-such-rule: 1\n")
    with pytest.raises(UsageError, match="unknown rules no-such-rule"):
        load_rules(bad, {})
    assert parse_size("20MB", "x") == 20_000_000
    assert parse_size("1.5GiB", "x") == 1.5 * 1024**3
    with pytest.raises(UsageError):
        parse_size("lots", "x")
