"""How the target is run: one set of settings for the observation and every verification run.

The options have the docker CLI's names and syntax (``--env``, ``--env-file``, ``--mount``,
``-v``, ``--tmpfs``, ``--network``, ``--network-alias``, ``--add-host``, ``--entrypoint``,
``--cmd``, ``--workdir``, ``--user``, ``--cap-add``, ``--expose``, ``--probe-port``); a compose
service gives the same settings (``slimmer.compose``). ``slimmer.engine`` turns them into the
engine's container-create parameters; nothing else reads them field by field, so the observed
run and the verified runs cannot drift apart.

Environment values are secrets: only their names appear in reports, logs and progress, and
``redact`` removes the values from any text (log tails, command output) that is shown or written.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from slimmer.errors import UsageError

NANOSECONDS = 1_000_000_000
REDACTED = "<redacted>"
MIN_SECRET = 3
"""Values shorter than this are not searched for in text (``1``, ``on``): they say nothing."""

# Capabilities the sensor always removes from the target: it cannot give them to it.
SENSOR_OWN_CAPS = {"SYS_ADMIN"}
CAPABILITIES = {
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
    "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
    "SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE",
    "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG",
    "WAKE_ALARM",
}  # fmt: skip
RESERVED_NETWORKS = {"host", "none"}
# Limits of every container slimmer runs the target in (observation, verification, checks):
# a runaway or hostile target cannot take the machine's memory or fork without bound.
DEFAULT_MEMORY = 4 << 30
DEFAULT_PIDS_LIMIT = 4096
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
ENV_NAME = re.compile(r"[^\s=]+")


@dataclass(frozen=True)
class Mount:
    """A mount given by the user (``--mount``, ``-v``, ``--tmpfs``, a compose volume)."""

    type: str  # "bind" | "volume" | "tmpfs"
    target: str  # absolute path in the container
    source: str = ""  # host path (bind), volume name (volume; empty: anonymous), "" (tmpfs)
    read_only: bool = False
    options: tuple[tuple[str, str], ...] = ()  # tmpfs-size, tmpfs-mode, volume-nocopy, ...

    def describe(self) -> str:
        source = self.source or ("anonymous" if self.type == "volume" else "")
        flags = ",ro" if self.read_only else ""
        where = f"{source}:{self.target}" if source else self.target
        return f"{self.type}:{where}{flags}"


@dataclass(frozen=True)
class HealthCheck:
    """A HEALTHCHECK in the engine's terms; durations in seconds (0: the engine's default)."""

    test: tuple[str, ...]  # ("CMD", argv...), ("CMD-SHELL", command) or ("NONE",)
    interval: float = 0.0
    timeout: float = 0.0
    start_period: float = 0.0
    retries: int = 0

    DEFAULT_INTERVAL = 30.0
    DEFAULT_TIMEOUT = 30.0
    DEFAULT_RETRIES = 3

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> HealthCheck | None:
        """From an image config's ``Healthcheck`` (nanoseconds); None when absent or NONE."""
        if not config or not config.get("Test") or config["Test"][0] == "NONE":
            return None
        return cls(
            test=tuple(config["Test"]),
            interval=(config.get("Interval") or 0) / NANOSECONDS,
            timeout=(config.get("Timeout") or 0) / NANOSECONDS,
            start_period=(config.get("StartPeriod") or 0) / NANOSECONDS,
            retries=int(config.get("Retries") or 0),
        )

    @classmethod
    def shell(cls, command: str) -> HealthCheck:
        return cls(test=("CMD-SHELL", command))

    @property
    def argv(self) -> list[str]:
        """The command the engine execs for one check."""
        if self.test[0] == "CMD-SHELL":
            return ["/bin/sh", "-c", self.test[1]]
        return list(self.test[1:])

    @property
    def name(self) -> str:
        """The check as a person reads it: ``CMD-SHELL pg_isready`` or ``CMD curl -f URL``."""
        if self.test[0] == "CMD-SHELL":
            return f"HEALTHCHECK CMD-SHELL {self.test[1]}"
        return f"HEALTHCHECK CMD {shlex.join(self.test[1:])}"

    def effective(self) -> tuple[float, float, float, int]:
        """(interval, timeout, start period, retries) with the engine's defaults filled in."""
        return (
            self.interval or self.DEFAULT_INTERVAL,
            self.timeout or self.DEFAULT_TIMEOUT,
            self.start_period,
            self.retries or self.DEFAULT_RETRIES,
        )

    def to_engine(self) -> dict[str, Any]:
        """The engine's Healthcheck object (durations in nanoseconds)."""
        return {
            "Test": list(self.test),
            "Interval": int(self.interval * NANOSECONDS),
            "Timeout": int(self.timeout * NANOSECONDS),
            "StartPeriod": int(self.start_period * NANOSECONDS),
            "Retries": self.retries,
        }


@dataclass(frozen=True)
class RunSettings:
    """How every run of the target is started. Empty fields: as the image's config says."""

    env: tuple[str, ...] = ()  # "KEY=VALUE"; values are secrets
    mounts: tuple[Mount, ...] = ()
    network: str | None = None
    network_aliases: tuple[str, ...] = ()
    more_networks: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, aliases), connected later
    extra_hosts: tuple[str, ...] = ()  # "name:address"
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    workdir: str | None = None
    user: str | None = None
    cap_add: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()  # "8080/tcp": probed although the image does not declare it
    probe_ports: tuple[str, ...] = ()  # when given, only these are probed
    healthcheck: HealthCheck | None = None  # overrides the image's
    no_healthcheck: bool = False
    memory: int = DEFAULT_MEMORY  # bytes (memory and swap); 0: no limit
    pids_limit: int = DEFAULT_PIDS_LIMIT  # 0: no limit
    source: str = "options"  # "options" or "compose service NAME"
    secret_values: tuple[str, ...] = field(default=(), repr=False)  # more values to redact

    @property
    def env_names(self) -> list[str]:
        return [item.split("=", 1)[0] for item in self.env]

    @property
    def mount_targets(self) -> list[str]:
        return [m.target for m in self.mounts]

    def merged(self, override: RunSettings) -> RunSettings:
        """These settings (a compose service's) with the command line's on top: lists are
        extended, single values replaced when given."""
        changes: dict[str, Any] = {}
        for name in ("env", "mounts", "network_aliases", "more_networks", "extra_hosts",
                     "cap_add", "expose", "probe_ports", "secret_values"):
            changes[name] = getattr(self, name) + getattr(override, name)
        for name in ("network", "entrypoint", "cmd", "workdir", "user", "healthcheck"):
            if getattr(override, name) is not None:
                changes[name] = getattr(override, name)
        changes["memory"], changes["pids_limit"] = override.memory, override.pids_limit
        changes["no_healthcheck"] = self.no_healthcheck or override.no_healthcheck
        if override.healthcheck is not None:
            changes["no_healthcheck"] = False
        return replace(self, **changes)

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced (longest first, so no value leaks in part)."""
        values = {item.split("=", 1)[1] for item in self.env if "=" in item}
        values.update(self.secret_values)
        for value in sorted((v for v in values if len(v) >= MIN_SECRET), key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return text

    def summary(self) -> dict[str, Any]:
        """For report.json: what was set, environment variables by name only."""
        data: dict[str, Any] = {"source": self.source}
        if self.env:
            data["env_names"] = self.env_names
        if self.mounts:
            data["mounts"] = [m.describe() for m in self.mounts]
        for name in ("network", "workdir", "user"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.more_networks:
            data["more_networks"] = [name for name, _ in self.more_networks]
        for name in ("network_aliases", "extra_hosts", "cap_add", "expose", "probe_ports"):
            if getattr(self, name):
                data[name] = list(getattr(self, name))
        if self.entrypoint is not None:
            data["entrypoint"] = [self.redact(a) for a in self.entrypoint]
        if self.cmd is not None:
            data["cmd"] = [self.redact(a) for a in self.cmd]
        if self.healthcheck is not None:
            data["healthcheck"] = self.redact(self.healthcheck.name)
        if self.no_healthcheck:
            data["healthcheck"] = "skipped (--no-healthcheck)"
        return data


# ---- parsing the docker CLI's syntax ---------------------------------------------------------


def settings_from_options(
    *,
    env: Iterable[str] = (),
    env_files: Iterable[Path] = (),
    mounts: Iterable[str] = (),
    volumes: Iterable[str] = (),
    tmpfs: Iterable[str] = (),
    network: str | None = None,
    network_aliases: Iterable[str] = (),
    add_hosts: Iterable[str] = (),
    entrypoint: str | None = None,
    cmd: str | None = None,
    workdir: str | None = None,
    user: str | None = None,
    cap_add: Iterable[str] = (),
    expose: Iterable[str] = (),
    probe_ports: Iterable[str] = (),
    healthcheck_cmd: str | None = None,
    no_healthcheck: bool = False,
    memory: str | None = None,
    pids_limit: int | None = None,
) -> RunSettings:
    """RunSettings from the command line's values (docker CLI syntax); UsageError when bad."""
    variables = [item for path in env_files for item in read_env_file(path)]
    variables += parse_env(env)
    all_mounts = [parse_mount(m) for m in mounts] + [parse_volume(v) for v in volumes]
    all_mounts += [parse_tmpfs(t) for t in tmpfs]
    targets = [m.target for m in all_mounts]
    if len(set(targets)) != len(targets):
        raise UsageError("two mounts have the same target", "give each mount its own target")
    if workdir is not None and not workdir.startswith("/"):
        raise UsageError(f"--workdir {workdir!r} is not absolute", "--workdir /PATH")
    if healthcheck_cmd is not None and no_healthcheck:
        raise UsageError("--healthcheck-cmd and --no-healthcheck exclude each other", "pick one")
    net, aliases = parse_network(network, network_aliases)
    return RunSettings(
        env=tuple(variables),
        mounts=tuple(all_mounts),
        network=net,
        network_aliases=aliases,
        extra_hosts=tuple(parse_add_host(h) for h in add_hosts),
        entrypoint=parse_entrypoint(entrypoint) if entrypoint is not None else None,
        cmd=parse_argv(cmd, "--cmd") if cmd is not None else None,
        workdir=_normal(workdir) if workdir else None,
        user=user,
        cap_add=tuple(dict.fromkeys(parse_cap(c) for c in cap_add)),
        expose=tuple(parse_port(p, "--expose") for p in expose),
        probe_ports=tuple(parse_port(p, "--probe-port") for p in probe_ports),
        healthcheck=HealthCheck.shell(healthcheck_cmd) if healthcheck_cmd else None,
        no_healthcheck=no_healthcheck,
        memory=DEFAULT_MEMORY if memory is None else parse_size(memory, "--memory", zero=True),
        pids_limit=DEFAULT_PIDS_LIMIT if pids_limit is None else _pids(pids_limit),
    )


def parse_size(text: str, option: str, zero: bool = False) -> int:
    """A byte count: an integer, optionally with a K, M, G or T suffix (powers of 1024), e.g.
    "64G" or "512m"; 0 only when ``zero`` (no limit)."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = cleaned[-1:] if cleaned[-1:] in _SIZE_UNITS else ""
    number = cleaned[: len(cleaned) - len(unit)]
    if not number.isdigit() or (int(number) == 0 and not zero):
        raise UsageError(f"invalid {option} {text!r}", "give a size such as 512M or 64G")
    return int(number) * _SIZE_UNITS[unit]


def _pids(value: int) -> int:
    if value < 0:
        raise UsageError(f"invalid --pids-limit {value}", "give a number of processes, 0: none")
    return value


def parse_env(items: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """``KEY=VAL`` as given; ``KEY`` takes the value from slimmer's environment and is left out
    when unset there (as the docker CLI does)."""
    environ = os.environ if environ is None else environ
    result = []
    for item in items:
        name, equals, value = item.partition("=")
        if not name or not ENV_NAME.fullmatch(name):
            raise UsageError(f"invalid --env {name!r}", "use --env KEY=VALUE or --env KEY")
        if equals:
            result.append(f"{name}={value}")
        elif name in environ:
            result.append(f"{name}={environ[name]}")
    return result


def read_env_file(path: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """The docker CLI's env file: ``KEY=VALUE`` lines taken literally (no quotes, no
    expansion), ``KEY`` alone from the environment, blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read --env-file {str(path)!r} ({exc.__class__.__name__})",
            "give a readable UTF-8 file of KEY=VALUE lines",
        ) from None
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        name = line.split("=", 1)[0]
        if not ENV_NAME.fullmatch(name):
            raise UsageError(
                f"--env-file {path.name} line {number}: variable {name!r} has whitespace",
                "write KEY=VALUE with no space in KEY",
            )
        items.append(line)
    return parse_env(items, environ)


def parse_mount(text: str) -> Mount:
    """``--mount type=bind,source=/a,target=/b,readonly`` (the docker CLI's CSV fields)."""
    fields: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, equals, value = part.partition("=")
        fields[key.lower()] = value if equals else "true"
    kind = fields.pop("type", "volume")
    source = fields.pop("source", fields.pop("src", ""))
    target = fields.pop("target", fields.pop("destination", fields.pop("dst", "")))
    read_only = _flag(fields.pop("readonly", fields.pop("ro", "false")), text)
    if kind not in ("bind", "volume", "tmpfs"):
        raise UsageError(f"--mount {text!r}: type {kind!r} is not supported",
                         "use type=bind, type=volume or type=tmpfs")
    if not target.startswith("/"):
        raise UsageError(f"--mount {text!r}: no absolute target", "add target=/PATH")
    if kind == "bind":
        source = _host_path(source, text)
    elif kind == "tmpfs" and source:
        raise UsageError(f"--mount {text!r}: a tmpfs has no source", "remove source=")
    known = {"tmpfs-size", "tmpfs-mode", "volume-nocopy", "bind-propagation", "consistency"}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise UsageError(f"--mount {text!r}: unknown field {unknown[0]!r}",
                         "see `docker run --help` for --mount's fields")
    return Mount(kind, _normal(target), source, read_only, tuple(sorted(fields.items())))


def parse_volume(text: str) -> Mount:
    """``-v SRC:DST[:OPTS]`` (SRC a host path: bind; a name: named volume) or ``-v DST``."""
    parts = text.split(":")
    if len(parts) == 1:
        target, source, opts = parts[0], "", ""
    elif len(parts) in (2, 3):
        source, target = parts[0], parts[1]
        opts = parts[2] if len(parts) == 3 else ""
    else:
        raise UsageError(f"invalid --volume {text!r}", "use -v SOURCE:TARGET[:ro] or -v TARGET")
    if not target.startswith("/"):
        raise UsageError(f"--volume {text!r}: the target must be absolute", "-v SOURCE:/PATH")
    options = {o for o in opts.split(",") if o}
    bad = options - {"ro", "rw", "z", "Z", "nocopy", "rprivate", "private", "rshared", "shared",
                     "rslave", "slave"}
    if bad:
        raise UsageError(f"--volume {text!r}: unknown option {sorted(bad)[0]!r}", "use ro or rw")
    is_path = source.startswith(("/", ".", "~"))
    kind = "bind" if is_path else "volume"
    if is_path:
        source = _host_path(source, text)
    extra = (("volume-nocopy", "true"),) if "nocopy" in options else ()
    return Mount(kind, _normal(target), source, "ro" in options, extra)


def parse_tmpfs(text: str) -> Mount:
    """``--tmpfs /path[:size=64m,mode=1777]``."""
    target, _, opts = text.partition(":")
    if not target.startswith("/"):
        raise UsageError(f"--tmpfs {text!r}: the path must be absolute", "--tmpfs /PATH[:OPTS]")
    return Mount("tmpfs", _normal(target), "", False, (("tmpfs-options", opts),) if opts else ())


def parse_add_host(text: str) -> str:
    """``--add-host name:address`` (or ``name=address``); address may be ``host-gateway``."""
    name, sep, address = text.partition("=") if "=" in text else text.partition(":")
    if not sep or not name or not address:
        raise UsageError(f"invalid --add-host {text!r}", "use --add-host NAME:ADDRESS")
    if address != "host-gateway":
        try:
            ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            raise UsageError(f"--add-host {text!r}: {address!r} is not an IP address",
                             "give an IPv4 or IPv6 address, or host-gateway") from None
    return f"{name}:{address}"


def parse_argv(text: str, option: str) -> tuple[str, ...]:
    """A command: a JSON array of strings, or shell words."""
    if text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{option}: invalid JSON array ({exc.msg})",
                             f"{option} '[\"prog\", \"arg\"]' or {option} 'prog arg'") from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{option}: the JSON must be an array of strings",
                             f"{option} '[\"prog\", \"arg\"]'")
        return tuple(value)
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:
        raise UsageError(f"{option} {text!r}: {exc}", "close the quotes") from None


def parse_entrypoint(text: str) -> tuple[str, ...]:
    """The docker CLI's ``--entrypoint``: one executable (``""`` clears it); a JSON array too."""
    if text.lstrip().startswith("["):
        return parse_argv(text, "--entrypoint")
    return (text,) if text else ()


def parse_cap(text: str) -> str:
    name = text.strip().upper().removeprefix("CAP_")
    if name == "ALL" or name in SENSOR_OWN_CAPS:
        raise UsageError(
            f"--cap-add {text}: the sensor keeps {name} for itself and cannot hand it on",
            "observe without it; the slim image keeps whatever capabilities you run it with",
        )
    if name not in CAPABILITIES:
        raise UsageError(f"unknown capability {text!r}", "use a name like NET_ADMIN or CAP_CHOWN")
    return name


def parse_port(text: str, option: str) -> str:
    """``8080`` or ``8080/tcp`` -> ``8080/tcp`` (only TCP ports are probed)."""
    number, _, proto = text.partition("/")
    if not number.isdigit() or not 0 < int(number) < 65536 or proto not in ("", "tcp"):
        raise UsageError(f"invalid {option} {text!r}", f"{option} PORT (a TCP port, 1-65535)")
    return f"{int(number)}/tcp"


def parse_network(name: str | None, aliases: Iterable[str]) -> tuple[str | None, tuple[str, ...]]:
    aliases = tuple(aliases)
    if name in RESERVED_NETWORKS or (name or "").startswith("container:"):
        raise UsageError(
            f"--network {name}: the target's ports must be published to be probed",
            "use a bridge network (docker network create NAME)",
        )
    if aliases and name in (None, "bridge", "default"):
        raise UsageError("--network-alias needs --network with a user-defined network",
                         "docker network create NAME, then --network NAME")
    return name, aliases


def _flag(value: str, text: str) -> bool:
    if value.lower() in ("1", "true"):
        return True
    if value.lower() in ("0", "false"):
        return False
    raise UsageError(f"--mount {text!r}: readonly={value!r}", "readonly=true or readonly=false")


def _host_path(source: str, text: str) -> str:
    if not source:
        raise UsageError(f"mount {text!r}: a bind mount needs a source", "add source=/HOST/PATH")
    return str(Path(os.path.expanduser(source)).resolve())


def _normal(target: str) -> str:
    return "/" + "/".join(p for p in target.split("/") if p and p != ".")
