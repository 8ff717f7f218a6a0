"""What the engine would run for an image with the user's run settings: command, user, ports,
stop signal, health check."""

from __future__ import annotations

from dataclasses import dataclass, field

from slimmer.engine import ImageInfo
from slimmer.errors import SlimmerError
from slimmer.runsettings import HealthCheck, RunSettings


@dataclass(frozen=True)
class Target:
    image: str  # the image id (stable even if the tag moves during the run)
    ref: str  # what the user named
    argv: list[str]  # ENTRYPOINT + CMD (after --entrypoint / --cmd)
    user: str
    env: list[str]  # the image's Env, then the run settings' (values are secrets)
    tcp_ports: list[str]  # TCP ports to publish and probe, "80/tcp"
    stop_signal: str
    workdir: str
    healthcheck: HealthCheck | None = None  # what observation runs and verification waits for
    run: RunSettings = field(default_factory=RunSettings)

    @property
    def sets_home(self) -> bool:
        return any(item.startswith("HOME=") for item in self.env)

    @property
    def command_overridden(self) -> bool:
        return self.run.entrypoint is not None or self.run.cmd is not None


def target_of(info: ImageInfo, run: RunSettings | None = None) -> Target:
    run = run or RunSettings()
    config = info.config
    argv = command_of(config, run)
    if not argv:
        raise SlimmerError(
            f"image {info.ref!r} has neither ENTRYPOINT nor CMD, so there is nothing to observe",
            "give the image a CMD (docker commit --change 'CMD [...]' or a Dockerfile), "
            "or pass --cmd",
        )
    return Target(
        image=info.id,
        ref=info.ref,
        argv=argv,
        user=run.user if run.user is not None else config.get("User") or "",
        env=[*(config.get("Env") or []), *run.env],
        tcp_ports=ports_of(config, run),
        stop_signal=config.get("StopSignal") or "SIGTERM",
        workdir=run.workdir or config.get("WorkingDir") or "/",
        healthcheck=None
        if run.no_healthcheck
        else run.healthcheck or HealthCheck.from_config(config.get("Healthcheck")),
        run=run,
    )


def command_of(config: dict, run: RunSettings) -> list[str]:
    """ENTRYPOINT + CMD as the engine combines them: a new entrypoint drops the image's CMD."""
    if run.entrypoint is not None:
        return [*run.entrypoint, *(run.cmd or ())]
    cmd = run.cmd if run.cmd is not None else config.get("Cmd") or []
    return [*(config.get("Entrypoint") or []), *cmd]


def ports_of(config: dict, run: RunSettings) -> list[str]:
    """The TCP ports to probe: --probe-port only when given, else the image's and --expose."""
    if run.probe_ports:
        ports = set(run.probe_ports)
    else:
        declared = {
            p if "/" in p else f"{p}/tcp"
            for p in config.get("ExposedPorts") or {}
            if p.endswith("/tcp") or "/" not in p
        }
        ports = declared | set(run.expose)
    return sorted(ports, key=lambda p: int(p.split("/")[0]))
