"""Drive one started container through a run: probe it or wait for it, stop it, collect results.

Shared by the observation (under the sensor, probes discovered) and the verification (slim
image, the same probes replayed), so both runs follow exactly the same steps.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slimmer.engine import Engine
from slimmer.errors import TargetFailed
from slimmer.options import ContinueAfter
from slimmer.probes.model import ProbeResult
from slimmer.processes import run_in_group
from slimmer.target import Target

# observation and verification containers get the same host name, so answers that show it
# (pages, banners) do not differ between the original and the slim image
HOSTNAME = "slimmer-target"
STOP_WAIT = 20.0  # seconds after the stop signal before SIGKILL (sensor grace is shorter)
# for a target that does not handle its stop signal as PID 1: the kernel drops the signal, so
# waiting longer only delays the SIGKILL that ends it anyway
SHORT_STOP_WAIT = 1.0
HOST_EXEC_TIMEOUT = 600.0


@dataclass
class CommandResult:
    """An --exec (inside the target) or --host-exec (on the host) command and how it ended."""

    command: str
    where: str  # "exec", "host" or "healthcheck"
    exit_code: int
    output_tail: str

    def to_dict(self) -> dict[str, object]:
        return {
            "command": self.command,
            "where": self.where,
            "exit_code": self.exit_code,
            "output_tail": self.output_tail,
        }


@dataclass
class RunResult:
    exit_code: int | None = None
    stdout: bytes = b""
    log_tail: str = ""
    probes: list[ProbeResult] = field(default_factory=list)
    commands: list[CommandResult] = field(default_factory=list)
    timed_out: bool = False
    health: list[CommandResult] = field(default_factory=list)  # HEALTHCHECK runs observed
    health_error: str = ""  # why the container did not become healthy (verification)


ProbeStep = Callable[[str, dict[str, int]], list[ProbeResult]]
AfterProbes = Callable[[RunResult], None]


def _unchanged(text: str) -> str:
    return text


@dataclass
class Run:
    """One container run to drive. ``probe`` does the network probing given host and ports."""

    engine: Engine
    container: str
    target: Target
    mode: ContinueAfter
    timeout: float
    probe: ProbeStep
    execs: list[str] = field(default_factory=list)
    host_execs: list[str] = field(default_factory=list)
    exec_user: str = ""
    notify: Callable[[str], None] = print
    stop_wait: float = STOP_WAIT  # seconds from the stop signal to SIGKILL
    after_probes: AfterProbes | None = None  # e.g. health checks, once the probes are done
    redact: Callable[[str], str] = _unchanged  # removes secret values from logs and output

    def drive(self) -> RunResult:
        result = RunResult()
        self.engine.start(self.container)
        deadline = time.monotonic() + self.timeout
        if self.mode.mode == "exit":
            result.exit_code = self.engine.wait(self.container, timeout=self.timeout)
            result.timed_out = result.exit_code is None
        else:
            self._probe(result, deadline)
            remaining = max(0.0, deadline - time.monotonic())
            if self.mode.mode == "timeout":
                self._sleep_while_running(min(self.mode.seconds, remaining))
            elif self.mode.mode == "signal":
                self.notify(f"waiting for SIGUSR1 to pid {os.getpid()} (at most {remaining:.0f}s)")
                _wait_for_sigusr1(remaining)
        if result.exit_code is None:
            result.exit_code = self._stop()
        result.stdout = self.engine.stdout(self.container)
        result.log_tail = self.redact(_tail(self.engine.logs(self.container, tail=20)))
        for command in result.commands:
            command.output_tail = self.redact(command.output_tail)
        return result

    def _probe(self, result: RunResult, deadline: float) -> None:
        host = self.engine.published_host()
        ports = self.engine.published_ports(self.container) if self.target.tcp_ports else {}
        self._fail_if_exited("before it could be probed")
        result.probes = self.probe(host, ports)
        for command in self.execs:
            self._fail_if_exited(f"before --exec {command!r}")
            code, output = self.engine.exec_run(
                self.container, shlex.split(command), user=self.exec_user
            )
            result.commands.append(CommandResult(command, "exec", code, _tail(output)))
        for command in self.host_execs:
            remaining = max(1.0, deadline - time.monotonic())
            result.commands.append(
                _host_exec(command, host, ports, min(remaining, HOST_EXEC_TIMEOUT))
            )
        if self.after_probes is not None:
            self._fail_if_exited("before its health check")
            self.after_probes(result)
        self._fail_if_exited("while it was probed")

    def _fail_if_exited(self, when: str) -> None:
        state = self.engine.state(self.container)
        if state.get("Running"):
            return
        code = state.get("ExitCode")
        tail = self.redact(_tail(self.engine.logs(self.container, tail=10)))
        raise TargetFailed(
            f"the target exited with status {code} {when}; last log lines: {tail or '(none)'}",
            "check that the image runs with `docker run`, or use --continue-after exit for jobs",
        )

    def _sleep_while_running(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if (
                self.engine.wait(self.container, timeout=min(1.0, end - time.monotonic()))
                is not None
            ):
                return

    def _stop(self) -> int | None:
        self.engine.kill(self.container, self.target.stop_signal)
        code = self.engine.wait(self.container, timeout=self.stop_wait)
        if code is None:
            self.engine.kill(self.container, "SIGKILL")
            code = self.engine.wait(self.container, timeout=STOP_WAIT)
        return code


def _host_exec(command: str, host: str, ports: dict[str, int], timeout: float) -> CommandResult:
    env = dict(os.environ, SLIMMER_TARGET_HOST=host)
    for spec, host_port in ports.items():
        env[f"SLIMMER_TARGET_PORT_{spec.split('/')[0]}"] = str(host_port)
    try:
        done = run_in_group(shlex.split(command), timeout, env)
    except FileNotFoundError as exc:
        return CommandResult(command, "host", 127, str(exc))
    if done.returncode is None:
        return CommandResult(command, "host", -1, f"timed out after {timeout:.0f}s")
    return CommandResult(command, "host", done.returncode, _tail(done.stdout))


def _wait_for_sigusr1(timeout: float) -> None:
    """Block until slimmer receives SIGUSR1 (the user says the workload is done) or timeout."""
    if threading.current_thread() is not threading.main_thread():
        time.sleep(timeout)
        return
    received = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda *_: received.set())
    try:
        received.wait(timeout)
    finally:
        signal.signal(signal.SIGUSR1, previous)


def _tail(data: bytes, lines: int = 10) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    return " | ".join(text.splitlines()[-lines:])
