"""A syscall the image's normal run never makes is denied (EPERM) by its generated profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.profiles.negative_probe import personality_image
from tests.profiles.pipeline import profile_of
from tests.profiles.targets import Target, run_target

pytestmark = [pytest.mark.docker, pytest.mark.slow]

UNUSUAL = Target("personality", argv=("/groundtruth", "unusual"))


def _opt(path: Path) -> list[str]:
    return ["seccomp=" + json.dumps(json.loads(path.read_text()))]


def test_unobserved_syscall_gets_eperm(engine, tmp_path: Path) -> None:
    image = personality_image(engine)
    out = tmp_path / "out"
    report = profile_of(image, out, "--seccomp-log")
    assert report["verification"]["verdict"] == "passed"
    names = json.loads((out / "seccomp.json").read_text())["syscalls"][0]["names"]
    assert "personality" not in names

    # without a profile, and under the log-only variant, the call succeeds
    assert run_target(engine, image, UNUSUAL).output == b"personality 0 errno 0\n"
    logged = run_target(engine, image, UNUSUAL, _opt(out / "seccomp-log.json"))
    assert logged.output == b"personality 0 errno 0\n"
    # under the generated profile it fails with EPERM, and the rest of the program still works
    confined = run_target(engine, image, UNUSUAL, _opt(out / "seccomp.json"))
    assert (confined.exit_code, confined.output) == (0, b"personality -1 errno 1\n")
