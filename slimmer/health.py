"""HEALTHCHECKs: run the check under the sensor while observing, wait for `healthy` when verifying.

Observation execs the check in the profiling container the way the engine does (as the target's
user, ``CMD-SHELL`` through ``/bin/sh -c``, ``CMD`` as argv), ``OBSERVED_RUNS`` times, so that
fanotify sees every file the check's tools open and they are kept. The engine's own scheduler is
off in the profiling container (it would run the check as the sensor's root user).

Verification lets the engine run the check in the slim container and waits for ``healthy``. The
check runs every second at most, its start period is widened by the original ``interval x
retries``: the slim container turns healthy as soon as the check passes, and never turns
unhealthy sooner than the original could. The wait is bounded by those timings.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from slimmer.engine import Engine
from slimmer.observation import Observation
from slimmer.runner import CommandResult
from slimmer.runsettings import NANOSECONDS, HealthCheck

OBSERVED_RUNS = 2
VERIFY_INTERVAL = 1.0
POLL = 0.25
DISABLED = {"Test": ["NONE"]}
"""The engine's Healthcheck object that turns the image's check off (profiling container)."""


def observe_check(
    engine: Engine, container: str, check: HealthCheck, user: str, redact: Callable[[str], str]
) -> list[CommandResult]:
    """Run the check ``OBSERVED_RUNS`` times in the running container, as the engine would."""
    results = []
    for _ in range(OBSERVED_RUNS):
        code, output = engine.exec_run(container, check.argv, user=user)
        tail = " | ".join(output.decode("utf-8", errors="replace").strip().splitlines()[-5:])
        results.append(CommandResult(redact(check.name), "healthcheck", code, redact(tail)))
    return results


def verification_check(check: HealthCheck) -> dict:
    """The engine's Healthcheck object for a verification container (see the module doc)."""
    interval, timeout, start, retries = check.effective()
    return {
        "Test": list(check.test),
        "Interval": int(min(interval, VERIFY_INTERVAL) * NANOSECONDS),
        "Timeout": int(timeout * NANOSECONDS),
        "StartPeriod": int((start + interval * retries) * NANOSECONDS),
        "Retries": retries,
    }


def wait_bound(check: HealthCheck) -> float:
    """Seconds the verification waits for healthy at most: the widened start period, then
    ``retries`` + 1 checks of at most interval + timeout each."""
    interval, timeout, start, retries = check.effective()
    return start + interval * retries + (min(interval, VERIFY_INTERVAL) + timeout) * (retries + 1)


def wait_healthy(
    engine: Engine, container: str, check: HealthCheck, redact: Callable[[str], str]
) -> str:
    """Wait until the container is ``healthy``; "" then, else what went wrong, naming the check."""
    deadline = time.monotonic() + wait_bound(check)
    name = redact(check.name)
    while True:
        state = engine.state(container)
        health = state.get("Health") or {}
        status = health.get("Status")
        if status == "healthy":
            return ""
        if status == "unhealthy" or not state.get("Running"):
            last = (health.get("Log") or [{}])[-1]
            output = " | ".join(str(last.get("Output", "")).strip().splitlines()[-5:])
            why = "turned unhealthy" if state.get("Running") else "never healthy: the target exited"
            return redact(
                f"{name} {why} (exit code {last.get('ExitCode')}: {output or 'no output'})"
            )
        if time.monotonic() > deadline:
            return f"{name} not healthy after {wait_bound(check):.0f}s (status {status})"
        time.sleep(POLL)


def merge_traced(observation: Observation, traced: Observation) -> None:
    """Add what the check's own sensor run saw (syscalls, path lookups, files, execs, sockets)
    to the target's observation, so the profiles and the selection cover the check too."""
    for abi, names in traced.syscalls.items():
        counts = observation.syscalls.setdefault(abi, {})
        for name, count in names.items():
            counts[name] = counts.get(name, 0) + count
    observation.paths += traced.paths
    observation.files += traced.files
    observation.execs += traced.execs
    observation.sockets += traced.sockets
