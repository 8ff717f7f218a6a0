"""The command line itself: help, version, usage errors (no engine needed)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from slimmer import __version__
from slimmer.cli import cli, main


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("build", "profile", "doctor", "lint"):
        assert command in result.output


def test_build_help_documents_the_probing_options() -> None:
    result = CliRunner().invoke(cli, ["build", "--help"])
    assert result.exit_code == 0
    for option in (
        "--http-probe-cmd",
        "--probe-file",
        "--continue-after",
        "--include-shell",
        "--exclude",
        "--archive",
        "--oci",
        "--json",
        "--no-verify",
    ):
        assert option in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_usage_error_is_one_line_with_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["build", "--bogus", "img"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("slimmer: error: No such option")
    assert "--bogus" in err[0] and err[0].endswith("(see `slimmer build --help`)")
