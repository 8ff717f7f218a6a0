"""Verification: run an image with the probes of the observation replayed, compare the answers.

The same comparison serves the slim image, the slim image under the generated seccomp profile,
and (for `slimmer profile`) the original image under that profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from slimmer import health
from slimmer.engine import Engine
from slimmer.errors import TargetFailed
from slimmer.observe import ObservedRun, still_running
from slimmer.probes.compare import compare
from slimmer.probes.plan import run_specs
from slimmer.runner import HOSTNAME, SHORT_STOP_WAIT, STOP_WAIT, Run, RunResult
from slimmer.session import Session
from slimmer.target import Target

PASSED = "passed"
FAILED = "failed"


@dataclass(frozen=True)
class Limits:
    """Seconds a verification run may take in all, and each port to start answering."""

    run: float
    probe_timeout: float


@dataclass
class Verification:
    name: str  # e.g. "slim image", "slim image under seccomp.json"
    verdict: str
    differences: list[str] = field(default_factory=list)
    run: RunResult | None = None
    denied_syscalls: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "verdict": self.verdict,
            "differences": self.differences,
        }
        if self.denied_syscalls:
            data["denied_syscalls"] = self.denied_syscalls
        if self.run is not None:
            data["exit_code"] = self.run.exit_code
            data["probes"] = [p.to_dict() for p in self.run.probes]
            data["commands"] = [c.to_dict() for c in self.run.commands]
        return data


def seccomp_option(profile: dict[str, Any]) -> list[str]:
    """The engine's security option that applies a seccomp profile given inline."""
    return ["seccomp=" + json.dumps(profile, separators=(",", ":"))]


def verify_image(
    engine: Engine,
    session: Session,
    name: str,
    image: str,
    target: Target,
    observed: ObservedRun,
    limits: Limits,
    security_opt: list[str] | None = None,
) -> Verification:
    """Run ``image`` as the engine would (with the observed run's CMD for a ``--run``), replay
    the observation's probes, compare."""
    container = engine.create_container(
        image,
        session=session.id,
        ports=target.tcp_ports,
        security_opt=security_opt,
        hostname=HOSTNAME,
        **run_parameters(target, observed),
    )
    plan = observed.plan
    alive = still_running(engine, container)

    def replay(host: str, ports: dict[str, int]):
        return run_specs(host, ports, plan.specs, limits.probe_timeout, alive=alive)

    try:
        run = Run(
            engine=engine,
            container=container,
            target=replace(target, image=image),
            mode=observed.mode,
            timeout=limits.run,
            probe=replay,
            execs=plan.execs,
            host_execs=plan.host_execs,
            exec_user=target.user,
            stop_wait=stop_wait(observed, target),
            after_probes=await_health(engine, container, target, observed),
            redact=target.run.redact,
        ).drive()
    except TargetFailed as exc:
        return Verification(name, FAILED, [exc.message])
    finally:
        engine.remove_container(container)
    differences = [target.run.redact(d) for d in compare_runs(observed, run)]
    return Verification(name, FAILED if differences else PASSED, differences, run)


def run_parameters(target: Target, observed: ObservedRun) -> dict[str, Any]:
    """Container-create parameters from the run settings, as the observation had them."""
    params: dict[str, Any] = {"run": target.run}
    if target.command_overridden:
        params.update(entrypoint=target.argv[:1], command=target.argv[1:])
    if observed.command is not None:  # a --run: its command replaces CMD (and --cmd)
        params["command"] = observed.command
        if target.run.entrypoint is not None:
            params["entrypoint"] = list(target.run.entrypoint)
        else:
            params.pop("entrypoint", None)
    if target.run.user is not None:
        params["user"] = target.user
    if health_required(target, observed):
        assert target.healthcheck is not None
        params["healthcheck"] = health.verification_check(target.healthcheck)
    return params


def health_required(target: Target, observed: ObservedRun) -> bool:
    """Verification waits for healthy when the check passed every time it was observed."""
    runs = observed.run.health
    return target.healthcheck is not None and bool(runs) and all(r.exit_code == 0 for r in runs)


def await_health(
    engine: Engine, container: str, target: Target, observed: ObservedRun
) -> Callable[[RunResult], None] | None:
    if not health_required(target, observed):
        return None
    check = target.healthcheck
    assert check is not None

    def wait(result: RunResult) -> None:
        result.health_error = health.wait_healthy(engine, container, check, target.run.redact)

    return wait


def stop_wait(observed: ObservedRun, target: Target) -> float:
    """How long to wait after the stop signal: briefly when the sensor saw that the target does
    not handle it (as PID 1 it will not stop), the usual bound otherwise."""
    signals = observed.observation.pid1_signals
    if signals and signals.disposition(target.stop_signal) in ("default", "ignored"):
        return SHORT_STOP_WAIT
    return STOP_WAIT


def compare_runs(observed: ObservedRun, run: RunResult) -> list[str]:
    """What the run answered differently from the observation."""
    original = observed.run
    differences = compare(original.probes, run.probes)
    if run.health_error:
        differences.append(run.health_error)
    for before, after in zip(original.commands, run.commands, strict=False):
        if before.exit_code != after.exit_code:
            differences.append(
                f"{before.where} {before.command!r}: exit code {after.exit_code}, "
                f"expected {before.exit_code} ({after.output_tail or 'no output'})"
            )
    if observed.mode.mode == "exit" and not original.timed_out:
        if run.exit_code != original.exit_code:
            differences.append(
                f"exit status {run.exit_code}, expected {original.exit_code} "
                f"(last log lines: {run.log_tail or '(none)'})"
            )
        if run.stdout != original.stdout:
            differences.append(_stdout_difference(original.stdout, run.stdout))
    return differences


def _stdout_difference(expected: bytes, got: bytes) -> str:
    expected_lines = expected.splitlines()
    got_lines = got.splitlines()
    for number, (a, b) in enumerate(zip(expected_lines, got_lines, strict=False), start=1):
        if a != b:
            return f"stdout differs at line {number}: {b[:120]!r}, expected {a[:120]!r}"
    return f"stdout has {len(got_lines)} lines, expected {len(expected_lines)}"
