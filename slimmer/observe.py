"""The observation run: the target under the sensor while probes exercise it.

The profiling container is created from the original image (never started before), the sensor
is put in through the archive API (works with remote engines), and it runs as PID 1 with the
original ENTRYPOINT+CMD after `--`. It runs as 0:0 with SYS_ADMIN and SYS_PTRACE added (never
--privileged); the sensor drops to the image's USER and capabilities before exec'ing the target.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from slimmer.arch import sensor_arch
from slimmer.engine import Engine
from slimmer.errors import SensorError, SlimmerError, TargetFailed
from slimmer.observation import Observation, merge_observations
from slimmer.options import ContinueAfter, ObserveOptions
from slimmer.probes.compare import answered
from slimmer.probes.model import ProbeResult, ProbeSpec
from slimmer.probes.plan import (
    bind_specs,
    default_plan,
    load_probe_file,
    parse_probe_cmd,
    run_specs,
)
from slimmer.runner import HOSTNAME, Run, RunResult
from slimmer.sensor.assets import sensor_binary
from slimmer.sensor.report import read_report
from slimmer.session import Session
from slimmer.target import Target

SENSOR_DIR = "/.slimmer"
SENSOR_PATH = f"{SENSOR_DIR}/sensor"
REPORT_PATH = f"{SENSOR_DIR}/report"
SENSOR_GRACE = 5  # seconds the sensor waits after forwarding the stop signal
# SYS_ADMIN: fanotify. SYS_PTRACE: read the memory of tracees that changed uid (nginx workers)
# and let setuid programs keep their privileges under ptrace. The sensor removes both from the
# target, which runs with exactly the capabilities a plain `docker run` gives.
PROFILING_CAPS = ["SYS_ADMIN", "SYS_PTRACE"]
MAX_REPORT = 256 << 20


@dataclass
class ProbePlan:
    """Everything the observation did to the target, replayed as is against the slim image."""

    specs: list[ProbeSpec] = field(default_factory=list)
    execs: list[str] = field(default_factory=list)
    host_execs: list[str] = field(default_factory=list)


@dataclass
class ObservedRun:
    observation: Observation
    run: RunResult
    plan: ProbePlan
    mode: ContinueAfter
    warnings: list[str] = field(default_factory=list)  # about the probing
    command: list[str] | None = None  # --run: the CMD this run replaced the image's with


@dataclass
class Observed:
    """Every observation run of one build (one per ``--run``, else one) and their union, which
    selection and profiles use."""

    runs: list[ObservedRun]
    observation: Observation

    @classmethod
    def of(cls, runs: list[ObservedRun]) -> Observed:
        if len(runs) == 1:
            return cls(runs, runs[0].observation)
        return cls(runs, merge_observations(run.observation for run in runs))

    @property
    def first(self) -> ObservedRun:
        return self.runs[0]

    @property
    def service(self) -> bool:
        """Whether the target ran until it was stopped (not a job that exits by itself)."""
        return self.first.mode.mode != "exit"

    @property
    def warnings(self) -> list[str]:
        """The sensor's warnings and those about the probing, each once."""
        found = list(self.observation.warnings)
        for run in self.runs:
            found += [w for w in run.warnings if w not in found]
        return found


def run_targets(target: Target, entrypoint: list[str], runs: list[list[str]]) -> list[Target]:
    """The target once per ``--run`` command (the image's ENTRYPOINT, then the command), or as
    the image says when there is none."""
    if not runs:
        return [target]
    return [replace(target, argv=[*entrypoint, *command]) for command in runs]


def continue_mode(target: Target, options: ObserveOptions) -> ContinueAfter:
    """The default: probe when there are ports or probes, else wait for the target to exit."""
    if options.continue_after is not None:
        return options.continue_after
    has_probes = (
        target.tcp_ports
        or options.http_probe_cmds
        or options.probe_file
        or options.execs
        or options.host_execs
    )
    return ContinueAfter("probe" if has_probes else "exit")


def user_specs(options: ObserveOptions) -> list[ProbeSpec]:
    """The probes the user gave explicitly (checked before anything starts)."""
    specs = [parse_probe_cmd(text) for text in options.http_probe_cmds]
    if options.probe_file is not None:
        specs += load_probe_file(options.probe_file)
    return specs


def observe(
    engine: Engine,
    session: Session,
    target: Target,
    architecture: str,
    options: ObserveOptions,
    notify=print,
) -> ObservedRun:
    binary = sensor_binary(sensor_arch(architecture))
    mode = continue_mode(target, options)
    extra = user_specs(options)
    container = engine.create_container(
        target.image,
        session=session.id,
        entrypoint=sensor_command(engine, target),
        command=target.argv,
        user="0:0",
        cap_add=PROFILING_CAPS,
        ports=target.tcp_ports,
        hostname=HOSTNAME,
        environment=target.env,
        working_dir=target.workdir,
    )
    engine.put_file(container, "/", SENSOR_PATH.lstrip("/"), binary, 0o755)
    plan = ProbePlan(execs=list(options.execs), host_execs=list(options.host_execs))
    warnings: list[str] = []

    def discover(host: str, ports: dict[str, int]) -> list[ProbeResult]:
        results: list[ProbeResult] = []
        if options.http_probe and target.tcp_ports:
            # ports are discovered side by side: one that never answers costs its timeout once
            with ThreadPoolExecutor(max_workers=len(target.tcp_ports)) as pool:
                plans = pool.map(
                    lambda port: default_plan(host, ports[port], port, options.probe_timeout)[1],
                    target.tcp_ports,
                )
                results = [result for found in plans for result in found]
        if extra:
            bound = bind_specs(extra, target.tcp_ports, [r.spec for r in results])
            results += run_specs(host, ports, bound, options.probe_timeout, repeat=2)
        for result in results:
            if not answered(result):
                warnings.append(f"{result.description}: not verified (no answer while observed)")
        # replay what answered, with the scheme that answered
        results = [r for r in results if answered(r)]
        plan.specs = [r.spec for r in results]
        return results

    run = Run(
        engine=engine,
        container=container,
        target=target,
        mode=mode,
        timeout=options.timeout,
        probe=discover,
        execs=plan.execs,
        host_execs=plan.host_execs,
        exec_user=target.user,
        notify=notify,
    ).drive()
    if mode.mode == "exit" and run.exit_code:
        raise TargetFailed(
            f"the target exited with status {run.exit_code}; "
            f"last log lines: {run.log_tail or '(none)'}",
            "slimmer observes an image that works: check it with `docker run`",
        )
    observation = read_report(fetch_report(engine, container, run))
    return ObservedRun(observation, run, plan, mode, warnings)


def sensor_command(engine: Engine, target: Target) -> list[str]:
    """The profiling container's entrypoint: the sensor and its options, then ``--``."""
    args = [
        SENSOR_PATH,
        *("--user", target.user),
        *("--grace", str(SENSOR_GRACE)),
        *("--stop-signal", target.stop_signal),
        *("--drop-cap", "SYS_PTRACE"),
        # ~30 hot, harmless syscalls (read, write, futex, ...) pass the sensor's filter
        # untraced and are always allowed in seccomp.json: 10-15% less overhead (bench_sensor)
        "--allow-hot",
    ]
    if target.sets_home:
        args.append("--image-home")
    for name in removed_env(engine, target):
        args += ["--unset-env", name]
    return [*args, "--"]


def removed_env(engine: Engine, target: Target) -> list[str]:
    """Names the image's Env sets that the target's does not (``--remove-env``): the engine adds
    the image's variables to a container's, so the sensor removes them."""
    keep = {item.split("=", 1)[0] for item in target.env}
    image_env = engine.inspect_image(target.image).config.get("Env") or []
    return sorted({item.split("=", 1)[0] for item in image_env} - keep)


def fetch_report(engine: Engine, container: str, run: RunResult) -> bytes:
    """Copy the sensor's report out of the stopped container through the archive API."""
    try:
        return engine.read_file(container, REPORT_PATH, MAX_REPORT)
    except SlimmerError as exc:  # 404: the sensor wrote no report
        raise SensorError(
            f"the sensor left no report (target exit status {run.exit_code}; "
            f"last log lines: {run.log_tail or '(none)'}): {exc.message}",
            "run `slimmer doctor` to check that the engine allows fanotify and ptrace",
        ) from None
