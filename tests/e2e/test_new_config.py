"""The --new-*/--remove-* options end to end: each changes the slim image's config as
documented, the observation and the verification run with the new config (so a new user, a new
working directory, new variables and a new entrypoint are what gets verified), and --new-env
values appear in no output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slimmer.engine import Engine
from slimmer.escaping import unprintable
from tests.checks import CHECKS, OPENSSL_RUNS, TOOL, run_command
from tests.e2e.helpers import slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SECRET = "s3cret-token-Zq81x"


def assert_secret_absent(done, out: Path) -> None:
    assert SECRET not in done.stdout and SECRET not in done.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path.name


def test_service_config_changes_and_verification_as_the_new_user(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("flask-app")  # root, WORKDIR /app, ENV PYTHONUNBUFFERED, LABEL team
    tag = f"slimmer-e2e/flask-config.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    health = '--interval=5s --retries=2 CMD ["python3", "-c", "print(1)"]'
    try:
        done = slimmer(
            "build", ref, "--tag", tag, "--output-dir", str(out), "--json",
            "--new-user", "nobody",
            "--new-env", f"APP_TOKEN={SECRET}",
            "--remove-env", "PYTHONUNBUFFERED",
            "--new-label", "org.example.tier=web",
            "--remove-label", "org.example.team",
            "--new-expose", "9000",
            "--new-volume", "/var/cache/books",
            "--new-healthcheck", health,
            "--probe-timeout", "15",
            # PID 1 of the verified container is the app itself: its uid is the proof
            "--exec", "grep Uid: /proc/1/status",
            tmpdir=tmp_path / "tmp",
        )
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        original, slim = engine.inspect_image(ref).config, engine.inspect_image(tag).config
        assert slim["User"] == "nobody"
        assert slim["Env"] == [f"APP_TOKEN={SECRET}"]  # PYTHONUNBUFFERED removed
        assert slim["ExposedPorts"] == {"5000/tcp": {}, "9000/tcp": {}}
        assert slim["Volumes"] == {"/var/cache/books": {}}
        assert slim["Labels"]["org.example.tier"] == "web"
        assert "org.example.team" not in slim["Labels"]
        assert slim["Healthcheck"] == {
            "Test": ["CMD", "python3", "-c", "print(1)"], "Interval": 5_000_000_000, "Retries": 2
        }
        assert (slim["Cmd"], slim["WorkingDir"]) == (original["Cmd"], original["WorkingDir"])
        report = json.loads((out / "report.json").read_text())
        for run in report["verification"]["runs"]:
            tail = unprintable(run["commands"][0]["output_tail"])  # report.json escapes tabs
            assert tail.split() == ["Uid:", *["65534"] * 4]
        assert report["config_changes"]["env"] == ["APP_TOKEN"]
        # nobody cannot write /app/__pycache__, and it is no root: those findings are gone
        assert [f["id"] for f in report["findings"]] == ["pid1-ignores-stop-signal"]
        CHECKS["flask-app"](engine, tag)
        assert_secret_absent(done, out)
    finally:
        engine.remove_image(tag)


CONFIG_OUTPUT = f"""\
argv[0]={TOOL}
cwd=/home/svc
uid=1234 gid=2345 groups=2345
env PATH=/usr/local/bin:/usr/bin:/bin
env APP_GREETING=hello world
env EMPTY=
env APP_SECRET={SECRET}
env HOME=/home/svc
"""


def test_job_runs_with_the_new_user_workdir_and_environment(
    engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image("crafted-config")  # fixture-tool as svc; with no arguments it prints
    tag = f"slimmer-e2e/config-new.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer(
            "build", ref, "--tag", tag, "--output-dir", str(out), "--json",
            "--new-cmd", "",  # no CMD: the tool prints its argv, cwd, ids and environment
            "--new-user", "svc:svcextra",
            "--new-workdir", "/home/svc",
            "--remove-env", "APP_MODE",
            "--new-env", f"APP_SECRET={SECRET}",
            "--remove-expose", "8080",  # no TCP port left: observed until it exits
            "--new-healthcheck", "NONE",
            tmpdir=tmp_path / "tmp",
        )
        assert done.returncode == 0, done.stderr
        # verification compared the slim image's output with the observed run's: both ran with
        # the new user, group, working directory and environment
        assert summary(done)["verdict"] == "passed"
        report = json.loads((out / "report.json").read_text())
        assert report["probes"]["continue_after"] == "exit"
        slim = engine.inspect_image(tag).config
        assert (slim["User"], slim["WorkingDir"], slim.get("Cmd")) == ("svc:svcextra", "/home/svc",
                                                                       None)
        assert slim["ExposedPorts"] == {"9090/udp": {}}
        assert slim["Healthcheck"] == {"Test": ["NONE"]}
        status, stdout, _ = run_command(engine, tag, [])
        shown = "".join(
            line for line in stdout.decode().splitlines(keepends=True)
            if not line.startswith("env HOSTNAME=")
        )
        assert (status, shown) == (0, CONFIG_OUTPUT)
        assert_secret_absent(done, out)
    finally:
        engine.remove_image(tag)


def test_a_new_entrypoint_is_observed_and_verified(engine: Engine, fixture_image, tmp_path):
    ref = fixture_image("openssl-cli")  # ENTRYPOINT openssl, CMD version
    tag = f"slimmer-e2e/openssl-entry.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer(
            "build", ref, "--tag", tag, "--output-dir", str(out), "--json",
            "--new-entrypoint", '["openssl", "dgst", "-sha256"]',
            "--new-cmd", "/data/sample.txt",
            tmpdir=tmp_path / "tmp",
        )
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        slim = engine.inspect_image(tag).config
        assert (slim["Entrypoint"], slim["Cmd"]) == (
            ["openssl", "dgst", "-sha256"], ["/data/sample.txt"]
        )
        report = json.loads((out / "report.json").read_text())
        assert report["observation"]["execs"][0]["argv"] == [
            "openssl", "dgst", "-sha256", "/data/sample.txt"
        ]
        kept = {entry["path"] for entry in report["kept"]["paths"]}
        assert "/data/sample.txt" in kept and "/data/cert.pem" not in kept
        status, stdout, stderr = run_command(engine, tag, [])
        assert (status, stdout, stderr) == (0, OPENSSL_RUNS["dgst -sha256 /data/sample.txt"], b"")
    finally:
        engine.remove_image(tag)
