"""The observation run: the target under the sensor while probes exercise it.

The profiling container is created from the original image (never started before), the sensor
is put in through the archive API (works with remote engines), and it runs as PID 1 with the
original ENTRYPOINT+CMD after `--`. It runs as 0:0 with SYS_ADMIN and SYS_PTRACE added (never
--privileged); the sensor drops to the image's USER and capabilities before exec'ing the target,
and filters the target's syscalls as Docker's default profile does for the target's own
capabilities (the engine's filter is built for the container's, which are wider).

The sensor and its report live in a directory whose name is drawn per run (``SensorLayout``): the
image cannot have it. The sensor writes the report when it is the container's last process, into
a file it creates itself, and the report is read back by its exact name as a single regular file.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from slimmer import health
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
from slimmer.profiles.docker_default import profile_for_engine
from slimmer.runner import HOSTNAME, Run, RunResult
from slimmer.sensor.assets import sensor_binary
from slimmer.sensor.report import read_report
from slimmer.session import Session
from slimmer.target import Target, command_of

SENSOR_DIR_PREFIX = "/.slimmer-"
SENSOR_GRACE = 5  # seconds the sensor waits after forwarding the stop signal
# SYS_ADMIN: fanotify. SYS_PTRACE: read the memory of tracees that changed uid (nginx workers)
# and let setuid programs keep their privileges under ptrace. The sensor removes both from the
# target, which runs with exactly the capabilities a plain `docker run` gives.
PROFILING_CAPS = ["SYS_ADMIN", "SYS_PTRACE"]
MAX_REPORT = 256 << 20


@dataclass(frozen=True)
class SensorLayout:
    """Where the sensor and its report are in one profiling container."""

    directory: str

    @classmethod
    def new(cls) -> SensorLayout:
        """A directory name drawn for this run (128 random bits)."""
        return cls(f"{SENSOR_DIR_PREFIX}{secrets.token_hex(16)}")

    @property
    def binary(self) -> str:
        return f"{self.directory}/sensor"

    @property
    def report(self) -> str:
        return f"{self.directory}/report"

    def install(self, engine: Engine, container: str, binary: bytes) -> None:
        """Put the sensor into the created container (the archive API makes the directory)."""
        engine.put_file(container, "/", self.binary.lstrip("/"), binary, 0o755)


def sensor_command(layout: SensorLayout, engine: Engine, *options: str) -> list[str]:
    """The sensor's command line up to ``--``: report path, the default seccomp profile the
    engine applies (the sensor gives the target the same), ``options``."""
    return [
        layout.binary,
        *("--report", layout.report),
        *("--default-seccomp", profile_for_engine(engine.version())),
        *options,
    ]


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


def run_targets(target: Target, config: dict, runs: list[list[str]]) -> list[Target]:
    """The target once per ``--run`` command (the ENTRYPOINT, the image's or --entrypoint, then
    the command in place of CMD), or as it is when there is none."""
    if not runs:
        return [target]
    return [
        replace(target, argv=command_of(config, replace(target.run, cmd=tuple(command))))
        for command in runs
    ]


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
        or target.healthcheck  # a service with a HEALTHCHECK runs until it is stopped
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
    layout = SensorLayout.new()
    sensor_args = sensor_command(
        layout,
        engine,
        *("--user", target.user),
        *("--grace", str(SENSOR_GRACE)),
        *("--stop-signal", target.stop_signal),
        *sensor_cap_args(target),
        # ~30 hot, harmless syscalls (read, write, futex, ...) pass the sensor's filter
        # untraced and are always allowed in seccomp.json: 10-15% less overhead (bench_sensor)
        "--allow-hot",
        *unset_env_args(engine, target),
    )
    if target.sets_home:
        sensor_args.append("--image-home")
    container = engine.create_container(
        target.image,
        session=session.id,
        entrypoint=[*sensor_args, "--"],
        command=target.argv,
        user="0:0",
        cap_add=PROFILING_CAPS,
        ports=target.tcp_ports,
        hostname=HOSTNAME,
        environment=config_env(target),
        working_dir=target.workdir,
        run=target.run,
        healthcheck=health.DISABLED,  # observation runs the check itself, as the target's user
    )
    layout.install(engine, container, binary)
    plan = ProbePlan(execs=list(options.execs), host_execs=list(options.host_execs))
    warnings: list[str] = []
    traced: list[Observation] = []  # the HEALTHCHECK's own sensor run

    alive = still_running(engine, container)

    def discover(host: str, ports: dict[str, int]) -> list[ProbeResult]:
        results: list[ProbeResult] = []
        if options.http_probe and target.tcp_ports:
            # ports are discovered side by side: one that never answers costs its timeout once
            with ThreadPoolExecutor(max_workers=len(target.tcp_ports)) as pool:
                plans = pool.map(
                    lambda port: default_plan(
                        host, ports[port], port, options.probe_timeout, alive=alive
                    )[1],
                    target.tcp_ports,
                )
                results = [result for found in plans for result in found]
        if extra:
            bound = bind_specs(extra, target.tcp_ports, [r.spec for r in results])
            results += run_specs(
                host, ports, bound, options.probe_timeout, repeat=2, alive=alive
            )
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
        after_probes=observe_health(engine, session, container, target, binary, warnings, traced),
        redact=target.run.redact,
    ).drive()
    if mode.mode == "exit" and run.exit_code:
        raise TargetFailed(
            f"the target exited with status {run.exit_code}; "
            f"last log lines: {run.log_tail or '(none)'}",
            "slimmer observes an image that works: check it with `docker run`",
        )
    observation = read_report(fetch_report(engine, container, run, layout))
    for extra_observation in traced:
        health.merge_traced(observation, extra_observation)
    return ObservedRun(observation, run, plan, mode, warnings)


def sensor_cap_args(target: Target) -> list[str]:
    """The sensor drops SYS_PTRACE from the target unless --cap-add gave it to the target."""
    return [] if "SYS_PTRACE" in target.run.cap_add else ["--drop-cap", "SYS_PTRACE"]


def still_running(engine: Engine, container: str) -> Callable[[], bool]:
    """Whether the container still runs (probes stop waiting for a target that exited)."""

    def alive() -> bool:
        try:
            return bool(engine.state(container).get("Running"))
        except SlimmerError:
            return False

    return alive


def observe_health(
    engine: Engine,
    session: Session,
    container: str,
    target: Target,
    binary: bytes,
    warnings: list[str],
    traced: list[Observation],
) -> Callable[[RunResult], None] | None:
    """The step that runs the target's HEALTHCHECK after the probes: exec'd in the profiling
    container (fanotify sees its files), then once under its own sensor (its syscalls)."""
    check = target.healthcheck
    if check is None:
        return None

    def run_check(result: RunResult) -> None:
        result.health = health.observe_check(
            engine, container, check, target.user, target.run.redact
        )
        observation = trace_healthcheck(engine, session, target, container, binary)
        if observation is None:
            warnings.append(f"{target.run.redact(check.name)}: its syscalls could not be traced")
        else:
            traced.append(observation)
        failed = [r for r in result.health if r.exit_code != 0]
        if failed:
            warnings.append(
                f"{failed[0].command} fails on the original image (exit code "
                f"{failed[0].exit_code}: {failed[0].output_tail or 'no output'}): "
                "the slim image is not required to become healthy"
            )

    return run_check


def trace_healthcheck(
    engine: Engine, session: Session, target: Target, container: str, binary: bytes
) -> Observation | None:
    """One run of the HEALTHCHECK under a sensor of its own, in a side container of the same
    image and settings sharing the profiling container's network (the check reaches the target
    on localhost). ptrace cannot follow processes exec'd into the profiling container, so this
    is how the check's syscalls and lookups reach the profiles. None when it did not work."""
    check = target.healthcheck
    assert check is not None
    layout = SensorLayout.new()
    args = sensor_command(layout, engine, "--user", target.user, "--grace", "1",
                          *sensor_cap_args(target), *unset_env_args(engine, target))
    args += ["--allow-hot", *(["--image-home"] if target.sets_home else []), "--"]
    # the network, its aliases and /etc/hosts are the profiling container's
    side_run = replace(
        target.run, network=None, network_aliases=(), more_networks=(), extra_hosts=()
    )
    side = engine.create_container(
        target.image,
        session=session.id,
        entrypoint=args,
        command=check.argv,
        user="0:0",
        cap_add=PROFILING_CAPS,
        network_mode=f"container:{container}",
        environment=config_env(target),
        working_dir=target.workdir,
        run=side_run,
        healthcheck=health.DISABLED,
    )
    try:
        layout.install(engine, side, binary)
        engine.start(side)
        if engine.wait(side, timeout=check.effective()[1] + SENSOR_GRACE) is None:
            return None
        return read_report(engine.read_file(side, layout.report, MAX_REPORT))
    except SlimmerError:
        return None
    finally:
        engine.remove_container(side)


def config_env(target: Target) -> list[str]:
    """The Env of the config the target runs with (the slim image's, after --new-env and
    --remove-env), without the run settings' variables (the engine adds those itself)."""
    return list(target.env[: len(target.env) - len(target.run.env)])


def unset_env_args(engine: Engine, target: Target) -> list[str]:
    """``--unset-env NAME`` for each name the image's Env sets that the target's does not
    (``--remove-env``): the engine adds the image's variables to a container's, the sensor
    removes them."""
    keep = {item.split("=", 1)[0] for item in target.env}
    image_env = engine.inspect_image(target.image).config.get("Env") or []
    removed = sorted({item.split("=", 1)[0] for item in image_env} - keep)
    return [arg for name in removed for arg in ("--unset-env", name)]


def fetch_report(engine: Engine, container: str, run: RunResult, layout: SensorLayout) -> bytes:
    """Copy the sensor's report out of the stopped container through the archive API: the
    exact regular file the sensor wrote."""
    try:
        return engine.read_file(container, layout.report, MAX_REPORT)
    except SlimmerError as exc:  # 404: the sensor wrote no report
        raise SensorError(
            f"the sensor left no report (target exit status {run.exit_code}; "
            f"last log lines: {run.log_tail or '(none)'}): {exc.message}",
            "run `slimmer doctor` to check that the engine allows fanotify and ptrace",
        ) from None
