"""A compose service as the target: the Compose CLI resolves the file and runs the dependencies.

The installed Compose implementation is used (``docker compose`` v2, else ``docker-compose``
v1); slimmer never parses a compose file itself. ``config`` gives the resolved model (YAML, read
with PyYAML), from which the service's image and run settings are taken (environment, volumes,
networks and aliases, command/entrypoint, user, working_dir, healthcheck, ports...). The
service's dependencies are started with ``up -d`` and awaited per their ``depends_on``
conditions; slimmer then runs the service's image itself (under the sensor, then the slim image)
attached to the project's networks.

Clean-up (``compose_stack``'s exit, also on errors, Ctrl-C and SIGTERM): slimmer's own
containers first (they hold network endpoints), then ``down -v`` for a project slimmer created,
or ``rm -s -f -v`` of only the services it started in a project the user already ran; volumes
and networks of the project that existed before are left alone.

Every Compose command runs in its own process group (a Ctrl-C at the terminal does not reach
it half-way) and is killed with its group on timeout or interrupt.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from slimmer.engine import Engine
from slimmer.errors import SlimmerError, UsageError
from slimmer.options import ComposeOptions
from slimmer.processes import run_in_group
from slimmer.runsettings import (
    HealthCheck,
    Mount,
    RunSettings,
    parse_add_host,
    parse_cap,
    parse_port,
    parse_volume,
    read_env_file,
)
from slimmer.session import signals_deferred

MAX_OUTPUT = 16 << 20  # bytes of a Compose command's output read (config of big projects)
MAX_OUTPUT = 16 << 20  # bytes of a Compose command's output read (config of big projects)
COMMAND_TIMEOUT = 300.0
STOP_TIMEOUT = 10
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
INSTALL_HINT = "install Compose: apt-get install docker-compose (or the docker compose plugin)"


class ComposeError(SlimmerError):
    """The Compose CLI is missing, refused the file, or a dependency did not come up."""


@dataclass(frozen=True)
class ComposeService:
    """The service to slim as resolved by Compose."""

    name: str
    image: str
    settings: RunSettings
    depends_on: dict[str, str]  # dependency -> condition (service_started, _healthy, ...)
    warnings: list[str] = field(default_factory=list)


# ---- the Compose CLI ----------------------------------------------------------------------------


def compose_command() -> list[str]:
    """``docker compose`` when the docker CLI has it, else ``docker-compose``."""
    if shutil.which("docker"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
            )
            if done.returncode == 0:
                return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise ComposeError("no Compose implementation found (docker compose, docker-compose)",
                       INSTALL_HINT)


@dataclass
class ComposeCli:
    """Runs Compose commands for one file and project."""

    command: list[str]
    file: Path
    project: str
    secrets: RunSettings = field(default_factory=RunSettings)  # to redact from error output

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """One Compose command, in its own process group; its stdout. ComposeError on failure."""
        argv = [*self.command, "-f", str(self.file), "-p", self.project, *args]
        done = run_in_group(argv, timeout, cwd=self.file.parent, merge_stderr=False,
                            keep=MAX_OUTPUT)
        if done.returncode is None:
            raise ComposeError(
                f"`compose {' '.join(args)}` took more than {timeout:.0f}s", "see `docker ps -a`"
            )
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            detail = self.secrets.redact(" | ".join(lines[-3:]) or f"exit {done.returncode}")
            raise ComposeError(f"`compose {args[0]}` failed: {detail}",
                               "check the compose file with `docker compose config`")
        return done.stdout.decode(errors="replace")

    def config(self) -> dict[str, Any]:
        text = self.run("config")
        try:
            model = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ComposeError(f"cannot read the output of `compose config`: {exc}") from None
        if not isinstance(model, dict) or not isinstance(model.get("services"), dict):
            raise ComposeError("`compose config` printed no services", "check the compose file")
        return model


# ---- the resolved model -> run settings ----------------------------------------------------------


def service_of(model: Mapping[str, Any], project: str, name: str) -> ComposeService:
    """The image, run settings and dependencies of service ``name`` of a resolved model."""
    services = model["services"]
    if name not in services:
        raise UsageError(f"no service {name!r} in the compose file",
                         f"services: {', '.join(sorted(services))}")
    service = services[name] or {}
    image = service.get("image")
    if not image:
        raise UsageError(f"compose service {name!r} has no image",
                         f"build it and name it (image: NAME), e.g. `docker compose build {name}`")
    mode = service.get("network_mode")
    if mode and mode not in ("bridge", "default"):
        raise UsageError(f"compose service {name!r} uses network_mode {mode}",
                         "slimmer needs the service on a bridge network to probe its ports")
    networks = _networks(model, service, project, name)
    warnings = [f"compose service {name!r}: {key} is not applied while observing"
                for key in ("secrets", "configs", "devices", "sysctls") if service.get(key)]
    environment = _environment(service)
    check = _healthcheck(service.get("healthcheck"))
    settings = RunSettings(
        env=tuple(environment),
        mounts=tuple(_mount(model, project, v) for v in _as_list(service.get("volumes"))),
        network=networks[0][0],
        network_aliases=networks[0][1],
        more_networks=tuple(networks[1:]),
        extra_hosts=tuple(parse_add_host(h) for h in _hosts(service.get("extra_hosts"))),
        entrypoint=_argv(service.get("entrypoint")),
        cmd=_argv(service.get("command")),
        workdir=service.get("working_dir"),
        user=str(service["user"]) if service.get("user") is not None else None,
        cap_add=tuple(parse_cap(c) for c in _as_list(service.get("cap_add"))),
        expose=tuple(sorted(set(_ports(service)))),
        healthcheck=check if check is not None and check.test[0] != "NONE" else None,
        no_healthcheck=check is not None and check.test[0] == "NONE",
        source=f"compose service {name} of project {project}",
    )
    settings = replace(settings, mounts=settings.mounts + tuple(_tmpfs(service.get("tmpfs"))))
    return ComposeService(name, str(image), settings, _depends_on(service), warnings)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _environment(service: Mapping[str, Any]) -> list[str]:
    """KEY=VALUE items; a key without a value takes slimmer's environment, as Compose does."""
    items: list[str] = []
    for path in _as_list(service.get("env_file")):  # v1 and v2 merge it already; just in case
        items += read_env_file(Path(path["path"] if isinstance(path, dict) else path))
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None)
                           for item in environment)
    for key, value in environment.items():
        if value is None:
            if key in os.environ:
                items.append(f"{key}={os.environ[key]}")
        else:
            items.append(f"{key}={_scalar(value)}")
    return items


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _argv(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(shlex.split(value))  # as Compose splits a string command
    return tuple(str(v) for v in value)


def _networks(
    model: Mapping[str, Any], service: Mapping[str, Any], project: str, name: str
) -> list[tuple[str, tuple[str, ...]]]:
    """(engine network name, aliases) of the service: the service name is an alias everywhere."""
    declared = model.get("networks") or {}
    wanted = service.get("networks") or {"default": None}
    if isinstance(wanted, list):
        wanted = {key: None for key in wanted}
    result = []
    for key, options in sorted(wanted.items(), key=lambda kv: kv[0] != "default"):
        aliases = tuple(dict.fromkeys([name, *((options or {}).get("aliases") or [])]))
        result.append((_resource_name(declared.get(key), project, key), aliases))
    return result


def _resource_name(declared: Mapping[str, Any] | None, project: str, key: str) -> str:
    """The engine name of a project network or volume: its ``name``, an external one's own
    name, else PROJECT_KEY."""
    declared = declared or {}
    external = declared.get("external")
    if declared.get("name"):
        return str(declared["name"])
    if isinstance(external, dict) and external.get("name"):
        return str(external["name"])
    if external:
        return key
    return f"{project}_{key}"


def _mount(model: Mapping[str, Any], project: str, volume: Any) -> Mount:
    if isinstance(volume, str):
        mount = parse_volume(volume)
    else:
        kind = volume.get("type", "volume")
        read_only = bool(volume.get("read_only"))
        mount = Mount(kind, volume["target"], str(volume.get("source") or ""), read_only)
        if kind == "tmpfs":
            size = (volume.get("tmpfs") or {}).get("size")
            mount = replace(mount, options=(("tmpfs-size", str(size)),) if size else ())
    if mount.type == "volume" and mount.source:
        declared = (model.get("volumes") or {}).get(mount.source)
        if declared is not None or mount.source in (model.get("volumes") or {}):
            mount = replace(mount, source=_resource_name(declared, project, mount.source))
    return mount


def _tmpfs(value: Any) -> list[Mount]:
    mounts = []
    for item in _as_list(value):
        target, _, opts = str(item).partition(":")
        mounts.append(Mount("tmpfs", target, "", False, (("tmpfs-options", opts),) if opts else ()))
    return mounts


def _hosts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{host}:{address}" for host, address in value.items()]
    return [str(v) for v in _as_list(value)]


def _ports(service: Mapping[str, Any]) -> list[str]:
    """Container TCP ports of ``ports`` (short or long syntax) and ``expose``."""
    found = []
    for item in _as_list(service.get("ports")):
        if isinstance(item, dict):
            if item.get("protocol", "tcp") == "tcp":
                found.append(parse_port(str(item["target"]), "ports"))
            continue
        spec, _, proto = str(item).partition("/")
        container = spec.rsplit(":", 1)[-1]
        if proto in ("", "tcp"):
            first, _, last = container.partition("-")
            numbers = range(int(first), int(last or first) + 1)
            found += [parse_port(str(number), "ports") for number in numbers]
    for item in _as_list(service.get("expose")):
        spec, _, proto = str(item).partition("/")
        if proto in ("", "tcp"):
            found.append(parse_port(spec, "expose"))
    return found


def _healthcheck(value: Mapping[str, Any] | None) -> HealthCheck | None:
    if not value:
        return None
    if value.get("disable"):
        return HealthCheck(test=("NONE",))
    test = value.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test:
        return None
    return HealthCheck(
        test=tuple(str(t) for t in test),
        interval=duration(value.get("interval")),
        timeout=duration(value.get("timeout")),
        start_period=duration(value.get("start_period")),
        retries=int(value.get("retries") or 0),
    )


def duration(value: Any) -> float:
    """Seconds of a Compose duration ("1m30s", "500ms", 10) ; 0 when absent."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    parts = DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ComposeError(f"cannot read the duration {text!r} from `compose config`")
    return sum(float(number) * DURATION_UNITS[unit] for number, unit in parts)


def _depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: (opts or {}).get("condition", "service_started")
            for name, opts in depends.items()}


# ---- the stack: start, await, tear down -------------------------------------------------------


@dataclass
class Stack:
    """What a compose project held before slimmer, and what slimmer started in it."""

    cli: ComposeCli
    engine: Engine
    created: bool  # no container of the project existed before
    volumes_before: set[str]
    networks_before: set[str]
    running_before: set[str]  # services with a running container before
    started: list[str] = field(default_factory=list)

    def start(self, service: ComposeService, timeout: float, notify) -> None:
        wanted = sorted(service.depends_on)
        new = [name for name in wanted if name not in self.running_before]
        self.started = new  # recorded first: an interrupted `up` is cleaned up too
        if wanted:
            notify(f"starting {', '.join(wanted)} with Compose (project {self.cli.project})")
            self.cli.run("up", "-d", "--no-build", "--no-recreate", *wanted)
        deadline = time.monotonic() + timeout
        for name, condition in sorted(service.depends_on.items()):
            self._await(name, condition, deadline)

    def _await(self, name: str, condition: str, deadline: float) -> None:
        """Wait until dependency ``name`` meets its ``depends_on`` condition."""
        while True:
            labels = {PROJECT_LABEL: self.cli.project, SERVICE_LABEL: name}
            states = [self.engine.state(c["Id"]) for c in self.engine.containers_labelled(labels)]
            problem = _unmet(name, condition, states)
            if problem is None:
                return
            if problem or time.monotonic() > deadline:
                raise ComposeError(
                    problem or f"dependency {name!r} is not {condition} after the timeout",
                    f"see `docker compose -p {self.cli.project} logs {name}`",
                )
            time.sleep(0.5)

    def stop(self) -> None:
        """Remove what slimmer started and nothing else (never raises)."""
        labels = {PROJECT_LABEL: self.cli.project}
        with contextlib.suppress(SlimmerError):
            if self.created and not self.volumes_before:
                self.cli.run("down", "-v", "--remove-orphans", "-t", str(STOP_TIMEOUT))
            else:
                if self.started:
                    self.cli.run("rm", "-s", "-f", "-v", *self.started)
                if self.created:
                    self.cli.run("down", "--remove-orphans", "-t", str(STOP_TIMEOUT))
        with contextlib.suppress(SlimmerError):
            for name in set(self.engine.volumes_labelled(labels)) - self.volumes_before:
                self.engine.remove_volume(name)
            for name in set(self.engine.networks_labelled(labels)) - self.networks_before:
                self.engine.remove_network(name)


def _unmet(name: str, condition: str, states: list[dict[str, Any]]) -> str | None:
    """None when met, "" while waiting, else why it can never be met."""
    if not states:
        return f"dependency {name!r} has no container"
    state = states[0]
    status = (state.get("Health") or {}).get("Status")
    if condition == "service_completed_successfully":
        if state.get("Running"):
            return ""
        code = state.get("ExitCode")
        return None if code == 0 else f"dependency {name!r} exited with status {code}"
    if not state.get("Running"):
        return f"dependency {name!r} exited with status {state.get('ExitCode')}"
    if condition == "service_healthy":
        if status == "unhealthy":
            return f"dependency {name!r} is unhealthy"
        return None if status == "healthy" else ""
    return None


@contextlib.contextmanager
def compose_stack(
    engine: Engine, options: ComposeOptions, session_id: str, timeout: float, notify=print
) -> Iterator[ComposeService]:
    """Resolve the service, start its dependencies; on exit remove slimmer's containers of
    ``session_id`` and everything slimmer started in the project."""
    project = options.project or session_id
    if not PROJECT_NAME.fullmatch(project):
        raise UsageError(f"invalid compose project name {project!r}",
                         "use lowercase letters, digits, dashes and underscores")
    if not options.file.is_file():
        raise UsageError(f"compose file {str(options.file)!r} not found", "give an existing file")
    cli = ComposeCli(compose_command(), options.file.resolve(), project)
    service = service_of(cli.config(), project, options.service)
    cli.secrets = service.settings
    labels = {PROJECT_LABEL: project}
    containers = engine.containers_labelled(labels)
    stack = Stack(
        cli,
        engine,
        created=not containers,
        volumes_before=set(engine.volumes_labelled(labels)),
        networks_before=set(engine.networks_labelled(labels)),
        running_before={
            c["Labels"].get(SERVICE_LABEL, "") for c in containers if c["State"] == "running"
        },
    )
    try:
        stack.start(service, timeout, notify)
        yield service
    finally:
        with signals_deferred():
            with contextlib.suppress(SlimmerError):
                engine.remove_session(session_id)  # its containers hold endpoints on networks
            stack.stop()
