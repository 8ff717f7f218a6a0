"""A CLI image built with three --run commands: observed once per command, the observations
united, every command verified on the slim image (exit status and output)."""

from __future__ import annotations

import json

import pytest

from slimmer.engine import Engine
from tests.checks import CHECKS, OPENSSL_RUNS
from tests.e2e.helpers import slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUNS = list(OPENSSL_RUNS)  # dgst of /data/sample.txt, enc of sample.txt, x509 of /data/cert.pem


def build(ref: str, tag: str, tmp_path, *extra: str):
    args = [arg for command in RUNS for arg in ("--run", command)]
    out = tmp_path / "out"
    done = slimmer(
        "build", ref, "--tag", tag, "--output-dir", str(out), "--json", *args, *extra,
        tmpdir=tmp_path / "tmp",
    )
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return done, report


def test_each_run_works_on_the_slim_image(engine: Engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("openssl-cli")
    tag = f"slimmer-e2e/openssl-cli.slim:{tmp_path.name[-12:].lower()}"
    try:
        done, report = build(ref, tag, tmp_path)
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        assert [run["command"] for run in report["runs"]] == [c.split() for c in RUNS]
        assert [run["exit_code"] for run in report["runs"]] == [0, 0, 0]
        names = [run["name"] for run in report["verification"]["runs"]]
        assert names == [
            f"{kind}, --run '{command}'"
            for command in RUNS
            for kind in ("slim image", "slim image under seccomp.json")
        ]
        # the union: what only one run read is kept
        kept = {entry["path"] for entry in report["kept"]["paths"]}
        assert {"/data/sample.txt", "/data/cert.pem"} <= kept
        execs = [entry["argv"][1] for entry in report["observation"]["execs"]]
        assert execs == ["dgst", "enc", "x509"]
        CHECKS["openssl-cli"](engine, tag)
        assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"
    finally:
        engine.remove_image(tag)


def test_a_run_that_breaks_on_the_slim_image_fails_verification(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("openssl-cli")
    tag = f"slimmer-e2e/openssl-broken.slim:{tmp_path.name[-12:].lower()}"
    try:
        done, report = build(ref, tag, tmp_path, "--exclude", "/data/cert.pem")
        assert done.returncode == 3, done.stderr
        verdicts = [(run["name"], run["verdict"]) for run in report["verification"]["runs"]]
        failed = [name for name, verdict in verdicts if verdict == "failed"]
        assert failed == [
            f"slim image, --run '{RUNS[2]}'",
            f"slim image under seccomp.json, --run '{RUNS[2]}'",
        ]
        differences = report["verification"]["runs"][4]["differences"]
        assert differences[0].startswith("exit status 1, expected 0 (last log lines: ")
        assert "/data/cert.pem" in differences[0]
        assert differences[1] == "stdout has 0 lines, expected 2"
        assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"
    finally:
        engine.remove_image(tag)
