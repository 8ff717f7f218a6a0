"""How a verification run is compared with the observation (no engine needed)."""

from __future__ import annotations

from slimmer.observation import Observation
from slimmer.observe import ObservedRun, ProbePlan
from slimmer.options import ContinueAfter
from slimmer.probes.model import ProbeResult, ProbeSpec
from slimmer.runner import CommandResult, RunResult
from slimmer.verify import compare_runs


def observed(mode: str, run: RunResult) -> ObservedRun:
    return ObservedRun(Observation(arch="x86_64"), run, ProbePlan(), ContinueAfter(mode))


def test_exit_mode_compares_status_and_stdout() -> None:
    original = observed("exit", RunResult(exit_code=0, stdout=b"a\nb\nc\n"))
    assert compare_runs(original, RunResult(exit_code=0, stdout=b"a\nb\nc\n")) == []
    differences = compare_runs(
        original, RunResult(exit_code=2, stdout=b"a\nX\nc\n", log_tail="boom")
    )
    assert differences == [
        "exit status 2, expected 0 (last log lines: boom)",
        "stdout differs at line 2: b'X', expected b'b'",
    ]
    assert compare_runs(original, RunResult(exit_code=0, stdout=b"a\nb\n")) == [
        "stdout has 2 lines, expected 3"
    ]


def test_exit_mode_that_timed_out_compares_nothing_of_the_exit() -> None:
    original = observed("exit", RunResult(exit_code=None, timed_out=True))
    assert compare_runs(original, RunResult(exit_code=137, stdout=b"other")) == []


def test_probe_mode_compares_probes_and_commands_not_stdout() -> None:
    spec = ProbeSpec(kind="http", port="80/tcp", path="/", scheme="http")
    answer = ProbeResult(
        spec=spec,
        ok=True,
        status=200,
        content_type="text/html",
        body_sha256="ab",
        body_len=2,
        stable=True,
    )
    command = CommandResult("check", "exec", 0, "")
    original = observed(
        "probe", RunResult(exit_code=0, stdout=b"log", probes=[answer], commands=[command])
    )
    same = RunResult(exit_code=0, stdout=b"other log", probes=[answer], commands=[command])
    assert compare_runs(original, same) == []
    broken = ProbeResult(
        spec=spec,
        ok=True,
        status=404,
        content_type="text/html",
        body_sha256="cd",
        body_len=2,
        stable=True,
    )
    failed = CommandResult("check", "exec", 1, "missing file")
    differences = compare_runs(original, RunResult(probes=[broken], commands=[failed]))
    assert len(differences) == 2
    assert "404" in differences[0]
    assert differences[1] == "exec 'check': exit code 1, expected 0 (missing file)"
