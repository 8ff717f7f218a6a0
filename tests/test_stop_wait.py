"""Verification's wait after the stop signal follows what the sensor saw of the target."""

from __future__ import annotations

import pytest

from slimmer.observation import Observation, Pid1Signals
from slimmer.observe import ObservedRun, ProbePlan
from slimmer.options import ContinueAfter
from slimmer.runner import SHORT_STOP_WAIT, STOP_WAIT, RunResult
from slimmer.target import Target
from slimmer.verify import stop_wait

TERM, QUIT = 1 << 14, 1 << 2


def observed(signals: Pid1Signals | None) -> ObservedRun:
    observation = Observation(arch="x86_64", pid1_signals=signals)
    return ObservedRun(observation, RunResult(), ProbePlan(), ContinueAfter("probe"))


def target(stop_signal: str) -> Target:
    return Target("sha256:1", "img", ["app"], "", [], ["80/tcp"], stop_signal, "/")


@pytest.mark.parametrize(
    ("signals", "stop_signal", "wait"),
    [
        (Pid1Signals(caught=0, ignored=0), "SIGTERM", SHORT_STOP_WAIT),  # dropped by the kernel
        (Pid1Signals(caught=0, ignored=TERM), "SIGTERM", SHORT_STOP_WAIT),
        (Pid1Signals(caught=TERM, ignored=0), "SIGTERM", STOP_WAIT),
        (Pid1Signals(caught=TERM, ignored=0), "SIGQUIT", SHORT_STOP_WAIT),
        (Pid1Signals(caught=QUIT, ignored=0), "QUIT", STOP_WAIT),
        (None, "SIGTERM", STOP_WAIT),  # unknown: the usual bound
        (Pid1Signals(caught=0, ignored=0), "SIGNOPE", STOP_WAIT),
    ],
)
def test_short_grace_only_for_targets_that_drop_the_stop_signal(signals, stop_signal, wait):
    assert stop_wait(observed(signals), target(stop_signal)) == wait
    assert SHORT_STOP_WAIT < STOP_WAIT
