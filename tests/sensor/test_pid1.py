"""PID 1 duties the sensor measures for the target: how it handles the stop signal (sampled from
/proc when the signal arrives, else while it runs), orphans left to PID 1, zombies never reaped."""

from __future__ import annotations

import pytest

from slimmer.errors import SensorError
from slimmer.observation import Pid1Signals, signal_number
from slimmer.sensor.report import read_report

from .harness import SensorContainer, run_sensor

docker = [pytest.mark.docker, pytest.mark.slow]
TERM_BIT = 1 << 14
LOOP = "echo ready; while :; do sleep 0.2; done"


def _report(*records: bytes) -> bytes:
    lines = [
        b"slimmer-sensor-report 2", b"arch x86_64", b"default-seccomp docker-20.10.24",
        *records, b"end",
    ]
    return b"".join(line + b"\n" for line in lines)


def test_reads_pid1_records() -> None:
    obs = read_report(
        _report(b"pid1-signals stop 0000000000004002 0000000000000004", b"orphans 2", b"zombies 1")
    )
    assert obs.pid1_signals == Pid1Signals(caught=0x4002, ignored=0x4, at_stop=True)
    assert obs.pid1_signals.disposition("SIGTERM") == "caught"
    assert obs.pid1_signals.disposition("QUIT") == "ignored"
    assert obs.pid1_signals.disposition(10) == "default"
    assert (obs.orphans, obs.zombies) == (2, 1)


def test_older_reports_say_nothing_about_pid1() -> None:
    obs = read_report(_report())
    assert (obs.pid1_signals, obs.orphans, obs.zombies) == (None, None, None)


@pytest.mark.parametrize(
    "record",
    [
        b"pid1-signals later 0000000000000000 0000000000000000",
        b"pid1-signals stop 1" + b"0" * 16 + b" 0000000000000000",
        b"pid1-signals stop 4002 0000000000000000",
        b"orphans x",
        b"zombies -1",
    ],
)
def test_malformed_pid1_records_are_refused(record: bytes) -> None:
    with pytest.raises(SensorError, match="line 4 is malformed"):
        read_report(_report(record))


@pytest.mark.parametrize(
    ("text", "number"),
    [("SIGTERM", 15), ("TERM", 15), ("15", 15), ("sigquit", 3), ("SIGRTMIN+3", 37), ("NOPE", None)],
)
def test_signal_numbers(text: str, number: int | None) -> None:
    assert signal_number(text) == number


def _stopped(engine, image: str, argv: list[str], *options: str):
    with SensorContainer(engine, image, argv, ("--stop-signal", "TERM", *options)) as box:
        box.wait_for_output(b"ready")
        engine.kill(box.container, "SIGTERM")
        return box.finish()


@pytest.mark.parametrize(
    ("script", "disposition", "exit_code"),
    [
        (f"trap 'exit 3' TERM; {LOOP}", "caught", 3),
        (f"trap '' TERM; {LOOP}", "ignored", 137),
        (f"{LOOP}", "default", 143),  # not PID 1 under the sensor: the default action kills it
    ],
)
@pytest.mark.docker
@pytest.mark.slow
def test_stop_signal_disposition_at_stop(
    engine, sensorlab, script: str, disposition: str, exit_code: int
) -> None:
    run = _stopped(engine, sensorlab, ["sh", "-c", script], "--grace", "1")
    assert run.exit_code == exit_code
    signals = run.obs.pid1_signals
    assert signals is not None and signals.at_stop
    assert signals.disposition("TERM") == disposition
    assert (run.obs.orphans, run.obs.zombies) == (0, 0)


@pytest.mark.docker
@pytest.mark.slow
def test_a_target_that_exits_is_sampled_while_it_runs(engine, sensorlab) -> None:
    run = run_sensor(engine, sensorlab, ["sh", "-c", "trap 'exit 1' USR1; sleep 1"])
    assert run.exit_code == 0
    signals = run.obs.pid1_signals
    assert signals is not None and not signals.at_stop
    assert signals.disposition("USR1") == "caught"
    assert signals.disposition("TERM") == "default"
    assert signals.caught & TERM_BIT == 0


@pytest.mark.docker
@pytest.mark.slow
def test_orphans_left_to_pid1_are_counted(engine, sensorlab) -> None:
    # the subshell exits at once: its `sleep` is reparented to PID 1 (the sensor), which reaps it
    run = run_sensor(engine, sensorlab, ["sh", "-c", "(sleep 1 &); sleep 2"])
    assert run.exit_code == 0
    assert (run.obs.orphans, run.obs.zombies) == (1, 0)


@pytest.mark.docker
@pytest.mark.slow
def test_zombies_of_a_parent_that_never_waits_are_counted(engine, sensorlab) -> None:
    # the shell execs `sleep 3`, which inherits the shell's child and never waits for it
    run = run_sensor(engine, sensorlab, ["sh", "-c", "sleep 0.2 & exec sleep 3"])
    assert run.exit_code == 0
    assert (run.obs.orphans, run.obs.zombies) == (0, 1)
