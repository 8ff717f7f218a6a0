"""Stop behaviour and production-readiness findings, end to end: a Flask development server
ignores SIGTERM as PID 1 (the build verifies it with a short grace and reports it), an app that
handles SIGTERM gets no such finding."""

from __future__ import annotations

import json

import pytest

from slimmer.engine import Engine
from tests.checks import CHECKS
from tests.e2e.helpers import slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STOP_FINDING = {
    "id": "pid1-ignores-stop-signal",
    "severity": "medium",
    "message": "PID 1 ignores SIGTERM: `docker stop` waits 10 s and kills it; use exec-form "
    "ENTRYPOINT with an init (`--init`, tini)",
}


def test_flask_dev_server_ignoring_sigterm_is_found(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("flask-app")
    tag = f"slimmer-e2e/flask-app.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer(
            "build", ref, "--tag", tag, "--output-dir", str(out), "--json", tmpdir=tmp_path / "tmp"
        )
        assert done.returncode == 0, done.stderr
        result = summary(done)
        assert result["verdict"] == "passed", done.stderr
        report = json.loads((out / "report.json").read_text())
        assert report["findings"][0] == STOP_FINDING
        assert [f["id"] for f in report["findings"]] == [
            "pid1-ignores-stop-signal",
            "runs-as-root",
            "no-healthcheck",
            "writes-outside-volumes",  # Python's bytecode cache in /app/__pycache__
        ]
        assert "/app/__pycache__" in report["findings"][3]["message"]
        assert result["findings"] == report["findings"]
        # the slim image was stopped like the original: ignored SIGTERM, then SIGKILL
        assert {run["exit_code"] for run in report["verification"]["runs"]} == {137}
        CHECKS["flask-app"](engine, tag)
        assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"
    finally:
        engine.remove_image(tag)


def test_the_summary_table_shows_findings(engine: Engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("flask-app")
    done = slimmer(
        "profile", ref, "--no-verify", "--output-dir", str(tmp_path / "out"),
        env={"COLUMNS": "200"}, tmpdir=tmp_path / "tmp",
    )
    assert done.returncode == 0, done.stderr
    lines = [line.rstrip() for line in done.stdout.splitlines() if line.startswith("finding")]
    assert lines[0] == f"finding       medium pid1-ignores-stop-signal: {STOP_FINDING['message']}"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["findings"][0] == STOP_FINDING


def test_an_app_that_handles_sigterm_gets_no_stop_finding(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("python-app")  # runs as app, handles SIGTERM, writes nothing
    out = tmp_path / "out"
    done = slimmer(
        "profile", ref, "--no-verify", "--output-dir", str(out), "--json", tmpdir=tmp_path / "tmp"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    assert [f["id"] for f in report["findings"]] == ["no-healthcheck"]
