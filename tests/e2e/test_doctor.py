"""`slimmer doctor` on this machine's engine, and without one."""

from __future__ import annotations

import json

import pytest

from slimmer.engine import Engine
from tests.e2e.helpers import slimmer


@pytest.mark.docker
def test_doctor_passes_and_sees_fanotify_and_ptrace(engine: Engine, tmp_path) -> None:
    done = slimmer("doctor", "--json", tmpdir=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["engine"]["ok"] and "API" in checks["engine"]["detail"]
    assert checks["sensor amd64"]["ok"] and checks["sensor arm64"]["ok"]
    profiling = checks["profiling container"]
    assert profiling["ok"], profiling
    assert "fanotify: filesystem" in profiling["detail"]
    assert "ptrace: seccomp" in profiling["detail"]
    assert not list(tmp_path.iterdir())


def test_doctor_without_engine_fails_and_says_what_to_do(tmp_path) -> None:
    done = slimmer(
        "doctor", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, tmpdir=tmp_path
    )
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "DOCKER_HOST" in done.stdout
