"""Bad input ends as one line on stderr, the right exit code, and nothing left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

from fixtures.tools import derive_image
from slimmer.engine import Engine
from tests.e2e.helpers import leftovers, sessions_in, slimmer
from tests.processes import running


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error: one line, the last on stderr; before it only progress lines ("[ 1.0s] ...")."""
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("slimmer: error: "), done.stderr
    assert all(re.match(r"\[ *\d+\.\ds\] ", line) for line in lines[:-1]), done.stderr
    assert "Traceback" not in done.stderr
    return lines[-1]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["frobnicate"], 2, "No such command"),
        (["build", "--no-such-flag", "x"], 2, "--no-such-flag"),
        (["build"], 2, "IMAGE"),
        (["build", "x", "--continue-after", "sometimes"], 2, "--continue-after"),
    ],
)
def test_usage_errors(args: list[str], code: int, words: str, tmp_path) -> None:
    done = slimmer(*args, tmpdir=tmp_path)
    assert done.returncode == code
    assert words in one_line_error(done)
    assert not list(tmp_path.iterdir())


def test_unreachable_engine(tmp_path) -> None:
    done = slimmer(
        "build", "anything", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, tmpdir=tmp_path
    )
    assert done.returncode == 1
    line = one_line_error(done)
    assert "/nonexistent/docker.sock" in line and "DOCKER_HOST" in line
    assert not list(tmp_path.iterdir())


@pytest.mark.docker
def test_unknown_image(engine: Engine, tmp_path) -> None:
    done = slimmer("build", "slimmer-test/does-not-exist:never", tmpdir=tmp_path)
    assert done.returncode == 1
    assert "not found" in one_line_error(done)
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def failing_image(engine: Engine, fixture_image):
    ref = f"slimmer-test/fails-at-once:{os.getpid()}"
    derive_image(fixture_image("batch"), {}, ['CMD ["sh", "-c", "echo boom >&2; exit 1"]'], ref)
    yield ref
    engine.remove_image(ref)


@pytest.mark.docker
def test_target_that_exits_at_once(engine: Engine, failing_image: str, tmp_path) -> None:
    done = slimmer(
        "build", failing_image, "--output-dir", str(tmp_path / "out"), tmpdir=tmp_path / "tmp"
    )
    assert done.returncode == 1
    line = one_line_error(done)
    assert "status 1" in line and "boom" in line
    assert not list((tmp_path / "tmp").iterdir())


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(
    ("sent", "message"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated by SIGTERM")]
)
def test_signal_during_probing_leaves_nothing(
    engine: Engine, fixture_image, tmp_path, sent: int, message: str
) -> None:
    ref = fixture_image("nginx")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    marker = tmp_path / "probing"
    tag = f"slimmer-test-{uuid.uuid4().hex[:12]}"  # names the host command's grandchild
    # the host command marks the probing phase, then keeps it going until interrupted
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slimmer",
            "build",
            ref,
            "--no-verify",
            "--host-exec",
            f"bash -c 'touch {marker}; (exec -a {tag} sleep 120); true'",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        env=dict(os.environ, TMPDIR=str(tmpdir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "probing never started"
            time.sleep(0.1)
        sessions = sessions_in(tmpdir)
        assert len(sessions) == 1
        session = sessions[0]
        assert engine.containers_of(session), "the profiling container should be running"
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + sent, stderr
    assert message in stderr
    assert leftovers(engine, session) == []
    assert not list(tmpdir.iterdir())
    assert running(tag) == [], "a process the --host-exec command started outlived the run"
