"""Probing and selection options of `slimmer build`, and a failed verification (exit code 3)."""

from __future__ import annotations

import json

import pytest

from slimmer.engine import Engine
from tests.e2e.helpers import slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_exec_and_user_probes_are_observed_and_replayed(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("nginx")
    tag = f"slimmer-e2e/nginx-options.slim:{tmp_path.name[-12:].lower()}"
    probes = tmp_path / "probes.json"
    probes.write_text(json.dumps([{"method": "POST", "path": "/about.html", "status": 405}]))
    out = tmp_path / "out"
    try:
        done = slimmer(
            "build",
            ref,
            "--tag",
            tag,
            "--output-dir",
            str(out),
            "--json",
            "--exec",
            "cat /etc/debian_version",
            "--http-probe-cmd",
            "GET /css/site.css?v=2",
            "--probe-file",
            str(probes),
            "--include-exe",
            "ls",
            tmpdir=tmp_path / "tmp",
        )
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        report = json.loads((out / "report.json").read_text())
        kept = {entry["path"]: entry["reason"] for entry in report["kept"]["paths"]}
        # what only the docker exec touched was seen (fanotify) and kept
        assert kept["/usr/bin/cat"].startswith(("trace", "elf"))
        assert "/etc/debian_version" in kept
        assert kept["/usr/bin/ls"] == "include: --include-exe ls"
        described = [p["description"] for p in report["probes"]["probes"]]
        assert "POST http://:80/about.html -> 405 text/html 157 B" in described
        assert any(d.startswith("GET http://:80/css/site.css?v=2 -> 200") for d in described)
        slim_run = report["verification"]["runs"][0]
        assert slim_run["commands"] == [
            {
                "command": "cat /etc/debian_version",
                "where": "exec",
                "exit_code": 0,
                "output_tail": report["probes"]["commands"][0]["output_tail"],
            }
        ]
    finally:
        engine.remove_image(tag)


def test_verification_failure_exits_3_and_keeps_the_slim_image(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("nginx")
    tag = f"slimmer-e2e/nginx-broken.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer(
            "build",
            ref,
            "--tag",
            tag,
            "--output-dir",
            str(out),
            "--json",
            "--exclude",
            "/var/www/site/about.html",
            tmpdir=tmp_path / "tmp",
        )
        assert done.returncode == 3, done.stderr
        result = summary(done)
        assert result["verdict"] == "failed"
        report = json.loads((out / "report.json").read_text())
        differences = report["verification"]["runs"][0]["differences"]
        assert "GET http://:80/about.html: status 200 in the original, 404 in the slim image" in (
            differences
        )
        assert engine.inspect_image(tag).id == result["result"]["id"]  # kept for inspection
        assert not list((tmp_path / "tmp").iterdir())
    finally:
        engine.remove_image(tag)
