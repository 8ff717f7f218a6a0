"""--continue-after signal: the observation and each verification run wait for the user's
SIGUSR1 (announced on stderr), and Ctrl-C while a verification run waits ends the build with
nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slimmer.engine import Engine
from tests.e2e.helpers import leftovers, sessions_in

WAITING = "waiting for SIGUSR1 to pid"
# far longer than a build takes: a run that ignored SIGUSR1 would wait this out and time out
RUN_TIMEOUT = "300"


TAG = f"slimmer-e2e/signal.slim:{os.getpid()}"


def _start_build(ref: str, tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    summary = tmp_path / "summary.json"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "slimmer", "build", ref, "--json",
            "--continue-after", "signal", "--timeout", RUN_TIMEOUT,
            "--tag", TAG,
            "--output-dir", str(tmp_path / "out"),
        ],
        env=dict(os.environ, TMPDIR=str(tmpdir)),
        stdout=summary.open("w"),
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, tmpdir, summary


def _answer_each_wait(process: subprocess.Popen[str]) -> list[str]:
    """Read stderr to its end, sending SIGUSR1 for each wait announced; the waits."""
    assert process.stderr is not None
    waits: list[str] = []
    for line in process.stderr:
        if WAITING in line:
            waits.append(line.strip())
            process.send_signal(signal.SIGUSR1)
    return waits


@pytest.mark.docker
@pytest.mark.slow
def test_each_run_waits_for_the_users_signal(engine: Engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("nginx")
    process, tmpdir, summary = _start_build(ref, tmp_path)
    try:
        waits = _answer_each_wait(process)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    try:
        assert process.returncode == 0, summary.read_text()
        assert json.loads(summary.read_text())["verdict"] == "passed"
        # the observation, then the slim image as is and under seccomp.json, one at a time
        assert len(waits) == 3, waits
        assert ref in waits[0]
        assert "slim image (" in waits[1] and "slim image under seccomp.json (" in waits[2]
        assert all("80/tcp at 127.0.0.1:" in line for line in waits), waits
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        verdicts = {v["name"]: v["verdict"] for v in report["verification"]["runs"]}
        assert verdicts == {
            "slim image": "passed",
            "slim image under seccomp.json": "passed",
        }, report["verification"]
        assert not list(tmpdir.iterdir())
    finally:
        engine.remove_image(TAG)


@pytest.mark.docker
@pytest.mark.slow
def test_ctrl_c_while_verification_waits(engine: Engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("nginx")
    process, tmpdir, _ = _start_build(ref, tmp_path)
    sessions: list[str] = []
    interrupted: list[float] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if WAITING not in line:
                continue
            if not sessions:  # the observation waits: let it finish
                sessions = sessions_in(tmpdir)
                process.send_signal(signal.SIGUSR1)
                continue
            interrupted.append(time.monotonic())  # the first verification run waits: Ctrl-C
            process.send_signal(signal.SIGINT)
            break
        process.wait(timeout=60)
        stopped = time.monotonic()
    finally:
        if process.poll() is None:
            process.kill()
    assert interrupted, "no verification run waited for SIGUSR1"
    assert process.returncode == 130
    assert len(sessions) == 1
    assert leftovers(engine, sessions[0]) == []
    assert not list(tmpdir.iterdir())
    print(f"Ctrl-C during verification: exited {stopped - interrupted[0]:.2f}s after SIGINT")
