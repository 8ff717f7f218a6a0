"""`slimmer build --compose-file F --service S`: the service's dependencies run under Compose,
the service's image is observed and verified in the same place, and nothing slimmer started
stays behind (after success, failure and Ctrl-C); what the user had running is left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from slimmer.compose import PROJECT_LABEL, compose_command
from slimmer.engine import Engine
from tests.checks import CHECKS, PG_APP_COMPOSE
from tests.e2e.helpers import leftovers, sessions_in, slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def compose_env(fixture_image) -> dict[str, str]:
    return {
        "APP_IMAGE": fixture_image("pg-app"),
        "DB_IMAGE": fixture_image("postgres"),
        "DB_PASSWORD": f"db-{uuid.uuid4().hex}",
    }


def project_leftovers(engine: Engine, project: str) -> list[str]:
    labels = {PROJECT_LABEL: project}
    found = [f"container {c['Id'][:12]}" for c in engine.containers_labelled(labels)]
    found += [f"volume {v}" for v in engine.volumes_labelled(labels)]
    found += [f"network {n}" for n in engine.networks_labelled(labels)]
    return found


def compose_args(*more: str) -> list[str]:
    return ["--compose-file", str(PG_APP_COMPOSE), "--service", "app", "--json", *more]


def test_compose_service_is_slimmed_verified_and_cleaned_up(
    engine: Engine, compose_env: dict[str, str], tmp_path
) -> None:
    tag = f"slimmer-e2e/pg-app.slim:{tmp_path.name[-12:].lower()}"
    out, tmpdir = tmp_path / "out", tmp_path / "tmp"
    try:
        done = slimmer("build", *compose_args("--tag", tag, "--output-dir", str(out)),
                       env=compose_env, tmpdir=tmpdir)
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        report = json.loads((out / "report.json").read_text())
        settings = report["run_settings"]
        assert settings["source"].startswith("compose service app of project slimmer-")
        project = settings["source"].rsplit(" ", 1)[1]  # slimmer's own: its session id
        assert settings["env_names"] == ["DATABASE_URL"]
        assert settings["network_aliases"] == ["app"]
        described = [p["description"] for p in report["probes"]["probes"]]
        assert any(d.startswith("GET http://:8000/items -> 200") for d in described), described
        # the compose file's values are secrets too
        config = json.dumps(engine.api.inspect_image(tag)["Config"])
        texts = [done.stdout, done.stderr, config]
        texts += [p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()]
        assert not any(compose_env["DB_PASSWORD"] in text for text in texts)
        assert project_leftovers(engine, project) == [] and leftovers(engine, project) == []
        assert not list(tmpdir.iterdir())
        CHECKS["pg-app"](engine, tag)  # in the same compose setup, against a real PostgreSQL
    finally:
        engine.remove_image(tag)


def test_failing_dependency_leaves_nothing(
    engine: Engine, compose_env: dict[str, str], fixture_image, tmp_path
) -> None:
    tmpdir = tmp_path / "tmp"
    project = f"slimmer-e2e-{uuid.uuid4().hex[:12]}"
    # a "database" that exits at once: the app's dependency never becomes healthy
    env = dict(compose_env, DB_IMAGE=fixture_image("batch"))
    done = slimmer("build", *compose_args("--output-dir", str(tmp_path / "out"),
                                          "--compose-project", project),
                   env=env, tmpdir=tmpdir)
    assert done.returncode == 1, done.stderr
    assert "dependency 'db' exited with status 0" in done.stderr.strip().splitlines()[-1]
    assert project_leftovers(engine, project) == []
    assert not list(tmpdir.iterdir())


def test_interrupt_during_observation_leaves_nothing(
    engine: Engine, compose_env: dict[str, str], tmp_path
) -> None:
    tmpdir, marker = tmp_path / "tmp", tmp_path / "probing"
    tmpdir.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "slimmer", "build",
         *compose_args("--no-verify", "--output-dir", str(tmp_path / "out"),
                       "--host-exec", f"sh -c 'touch {marker}; sleep 120'")],
        env=dict(os.environ, TMPDIR=str(tmpdir), **compose_env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "probing never started"
            time.sleep(0.2)
        (session,) = sessions_in(tmpdir)
        assert project_leftovers(engine, session), "the database should be running"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert project_leftovers(engine, session) == [] and leftovers(engine, session) == []
    assert not list(tmpdir.iterdir())


def test_a_project_the_user_runs_is_left_alone(
    engine: Engine, compose_env: dict[str, str], tmp_path
) -> None:
    project = f"slimmer-e2e-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, **compose_env)
    base = [*compose_command(), "-f", str(PG_APP_COMPOSE), "-p", project]
    tag = f"slimmer-e2e/pg-app-user.slim:{tmp_path.name[-12:].lower()}"
    try:
        subprocess.run([*base, "up", "-d", "db"], env=env, check=True, capture_output=True,
                       timeout=300)
        before = project_leftovers(engine, project)
        done = slimmer("build", *compose_args("--compose-project", project, "--tag", tag,
                                              "--output-dir", str(tmp_path / "out")),
                       env=compose_env, tmpdir=tmp_path / "tmp")
        assert done.returncode == 0, done.stderr
        assert project_leftovers(engine, project) == before
        db = engine.containers_labelled({PROJECT_LABEL: project})
        assert [c["State"] for c in db] == ["running"]
    finally:
        subprocess.run([*base, "down", "-v", "-t", "5"], env=env, capture_output=True,
                       timeout=300, check=False)
        engine.remove_image(tag)
