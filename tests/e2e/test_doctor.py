"""`slimmer doctor` on this machine's engine, and without one."""

from __future__ import annotations

import json

import pytest

from slimmer.doctor import wrap_fields
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


@pytest.mark.docker
def test_doctor_wraps_only_between_fields_in_80_columns(engine: Engine, tmp_path) -> None:
    done = slimmer("doctor", env={"COLUMNS": "80"}, tmpdir=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    detail = {c["name"]: c["detail"] for c in json.loads(slimmer("doctor", "--json").stdout)}
    for name in ("engine", "profiling container"):
        for field in detail[name].split("; "):
            assert any(field in line for line in lines), f"{field!r} was split: {lines}"


def test_wrap_fields_breaks_between_fields_only() -> None:
    fields = ["unix:///var/run/docker.sock", "Engine 20.10.24", "API 1.41", "linux/amd64"]
    assert wrap_fields(fields, 200) == ["; ".join(fields)]
    assert wrap_fields(fields, 48) == [
        "unix:///var/run/docker.sock; Engine 20.10.24;", "API 1.41; linux/amd64"]
    assert wrap_fields(["a" * 30, "b"], 10) == ["a" * 30 + ";", "b"]
