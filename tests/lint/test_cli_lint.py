"""`slimmer lint` on the command line: exit codes, stdin, formats, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slimmer.cli import main

CORPUS = Path(__file__).parent / "corpus"


def run(args: list[str], stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a child process."""
    return subprocess.run(
        [sys.executable, "-c", "from slimmer.cli import main; main()", "lint", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_findings_at_or_above_fail_on_exit_4() -> None:
    path = str(CORPUS / "python-flask-basic.Dockerfile")  # warnings and infos, no error
    assert run([path]).returncode == 4  # default --fail-on warning
    assert run([path, "--fail-on", "error"]).returncode == 0
    assert run([path, "--fail-on", "none"]).returncode == 0
    assert run([str(CORPUS / "secrets-args.Dockerfile"), "--fail-on", "error"]).returncode == 4


def test_stdin_and_text_output() -> None:
    done = run(["-", "--fail-on", "none"], stdin="FROM python\nCMD python app.py\n")
    assert done.returncode == 0, done.stderr
    assert "stdin:1 SL1001 warning:" in done.stdout
    assert "stdin:2 SL3001 warning:" in done.stdout


def test_json_and_sarif_outputs_parse() -> None:
    path = str(CORPUS / "node-express-basic.Dockerfile")
    data = json.loads(run([path, "--json"]).stdout)
    assert data["failed"] is True and data["findings"]
    sarif = json.loads(run([path, "--sarif", "--fail-on", "none"]).stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_directory_without_dockerfile_is_a_usage_error(tmp_path: Path) -> None:
    done = run([str(tmp_path)])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"no Dockerfile or Containerfile in {tmp_path}" in done.stderr
    assert "give the Dockerfile's path" in done.stderr


def test_missing_file_and_config_are_one_line_errors(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["lint", str(tmp_path / "Dockerfile")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("slimmer: error: ") and "does not exist" in err[0]
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.20\n")
    (tmp_path / "bad.yaml").write_text("disable: [\n")
    with pytest.raises(SystemExit) as exited:
        main(["lint", str(dockerfile), "--config", str(tmp_path / "bad.yaml")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not valid YAML" in err[0]


def test_huge_input_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "Dockerfile"
    with open(big, "wb") as handle:
        handle.truncate(64 << 20)  # sparse: 64 MiB of zeros
    done = run([str(big)])
    assert done.returncode == 2
    assert "is larger than 4 MiB" in done.stderr and done.stderr.count("\n") == 1


def test_config_beside_the_dockerfile_is_used(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    (tmp_path / ".slimmer-lint.yaml").write_text("fail-on: error\ndisable: [SL1001]\n")
    done = run([str(tmp_path)])
    assert done.returncode == 0, done.stdout
    assert "SL1001" not in done.stdout and "SL2002" in done.stdout
