"""HEALTHCHECKs using a tool the app never runs: observed under the sensor, then awaited."""

from __future__ import annotations

import json

import pytest

from slimmer.engine import Engine
from tests.checks import CHECKS
from tests.e2e.helpers import leftovers, sessions_in, slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOOL = {"health-exec": "/usr/bin/curl", "health-shell": "/usr/bin/wget"}


def kept_paths(out) -> dict[str, str]:
    report = json.loads((out / "report.json").read_text())
    return {entry["path"]: entry["reason"] for entry in report["kept"]["paths"]}


@pytest.mark.parametrize("name", sorted(TOOL))
def test_slim_image_keeps_the_check_tool_and_becomes_healthy(
    name: str, engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image(name)
    tag = f"slimmer-e2e/{name}.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer("build", ref, "--tag", tag, "--output-dir", str(out), "--json",
                       tmpdir=tmp_path / "tmp")
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        report = json.loads((out / "report.json").read_text())
        observed = report["healthcheck"]["observed"]
        assert len(observed) >= 2 and all(run["exit_code"] == 0 for run in observed)
        assert kept_paths(out)[TOOL[name]].startswith("trace")  # seen running, not a rule
        CHECKS[name](engine, tag)  # healthy by the engine's own schedule, page served
        assert not list((tmp_path / "tmp").iterdir())
    finally:
        engine.remove_image(tag)


def test_unhealthy_slim_image_fails_verification_naming_the_check(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("health-shell")
    tag = f"slimmer-e2e/health-broken.slim:{tmp_path.name[-12:].lower()}"
    tmpdir = tmp_path / "tmp"
    try:
        done = slimmer("build", ref, "--tag", tag, "--output-dir", str(tmp_path / "out"),
                       "--json", "--exclude", "/usr/bin/wget", tmpdir=tmpdir)
        assert done.returncode == 3, done.stderr
        assert summary(done)["verdict"] == "failed"
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        differences = [d for run in report["verification"]["runs"] for d in run["differences"]]
        assert any(
            d.startswith("HEALTHCHECK CMD-SHELL /usr/local/bin/healthcheck.sh turned unhealthy")
            for d in differences
        ), differences
        assert all(leftovers(engine, s) == [] for s in sessions_in(tmpdir))
    finally:
        engine.remove_image(tag)


def test_no_healthcheck_skips_it_and_healthcheck_cmd_replaces_it(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("health-shell")
    tag = f"slimmer-e2e/health-skip.slim:{tmp_path.name[-12:].lower()}"
    try:
        skipped = slimmer("build", ref, "--tag", tag, "--output-dir", str(tmp_path / "skip"),
                          "--json", "--no-healthcheck", tmpdir=tmp_path / "tmp")
        assert skipped.returncode == 0, skipped.stderr
        assert "healthcheck" not in json.loads((tmp_path / "skip" / "report.json").read_text())
        assert "/usr/bin/wget" not in kept_paths(tmp_path / "skip")  # what the issue was about
        replaced = slimmer("build", ref, "--tag", tag, "--output-dir", str(tmp_path / "cmd"),
                           "--json", "--healthcheck-cmd", "wget -q -O /dev/null "
                           "http://127.0.0.1:8080/", tmpdir=tmp_path / "tmp")
        assert replaced.returncode == 0, replaced.stderr
        report = json.loads((tmp_path / "cmd" / "report.json").read_text())
        assert report["healthcheck"]["check"].startswith("HEALTHCHECK CMD-SHELL wget -q")
        assert "/usr/bin/wget" in kept_paths(tmp_path / "cmd")
        assert "/usr/local/bin/healthcheck.sh" not in kept_paths(tmp_path / "cmd")
    finally:
        engine.remove_image(tag)
