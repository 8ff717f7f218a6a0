"""Production-readiness findings: what the observation and the (slim) image's config say about
how the image will behave in production, each with what to do about it.

``findings(observation, config, service=..., volumes=...) -> list[Finding]``; ``config`` is the
runtime config the image runs with (the slim image's for a build), ``service`` whether the target
is a long-running service (it was stopped, not waited for).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from slimmer.observation import Observation

HIGH, MEDIUM, LOW = "high", "medium", "low"
# written paths that are not the image's filesystem: kernel filesystems and the files the
# engine bind-mounts into every container
NOT_IMAGE_FS = ("/proc", "/sys", "/dev")
ENGINE_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv")
SHOWN_PATHS = 5


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # "high", "medium" or "low"
    message: str  # what was seen and what to do

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "severity": self.severity, "message": self.message}


def findings(
    observation: Observation,
    config: Mapping[str, Any],
    *,
    service: bool,
    volumes: Iterable[str] = (),
) -> list[Finding]:
    """Every finding, most severe first. ``volumes`` are mounts besides the config's VOLUMEs."""
    found = [
        stop_signal_finding(observation, config) if service else None,
        root_finding(config),
        healthcheck_finding(config) if service else None,
        zombie_finding(observation),
        writes_finding(observation, [*(config.get("Volumes") or {}), *volumes]),
    ]
    order = (HIGH, MEDIUM, LOW)
    return sorted((f for f in found if f is not None), key=lambda f: order.index(f.severity))


def stop_signal_finding(observation: Observation, config: Mapping[str, Any]) -> Finding | None:
    """PID 1 without a handler for the stop signal: the kernel drops it, `docker stop` waits."""
    stop_signal = config.get("StopSignal") or "SIGTERM"
    signals = observation.pid1_signals
    disposition = signals.disposition(stop_signal) if signals else None
    if disposition not in ("default", "ignored"):
        return None
    name = stop_signal if stop_signal.upper().startswith("SIG") else f"SIG{stop_signal}"
    return Finding(
        "pid1-ignores-stop-signal",
        MEDIUM,
        f"PID 1 ignores {name.upper()}: `docker stop` waits 10 s and kills it; use exec-form "
        "ENTRYPOINT with an init (`--init`, tini)",
    )


def runs_as_root(config: Mapping[str, Any]) -> bool:
    user = (config.get("User") or "").split(":", 1)[0]
    return user in ("", "root", "0")


def root_finding(config: Mapping[str, Any]) -> Finding | None:
    if not runs_as_root(config):
        return None
    return Finding(
        "runs-as-root",
        MEDIUM,
        "the image runs as root: add a non-root USER that owns only what it writes "
        "(`slimmer build --new-user NAME` verifies the slim image as that user)",
    )


def healthcheck_finding(config: Mapping[str, Any]) -> Finding | None:
    test = (config.get("Healthcheck") or {}).get("Test") or []
    if test and test[0] != "NONE":
        return None
    return Finding(
        "no-healthcheck",
        LOW,
        "no HEALTHCHECK: an orchestrator cannot tell a hung service from a working one; add one "
        "(`slimmer build --new-healthcheck 'CMD ...'` keeps its files and verifies it)",
    )


def zombie_finding(observation: Observation) -> Finding | None:
    orphans, zombies = observation.orphans or 0, observation.zombies or 0
    if not orphans and not zombies:
        return None
    seen = []
    if zombies:
        seen.append(f"{zombies} zombie process{'es' if zombies > 1 else ''} never reaped")
    if orphans:
        seen.append(
            f"{orphans} orphaned process{'es' if orphans > 1 else ''} left for PID 1 to reap"
        )
    return Finding(
        "zombie-processes",
        MEDIUM if zombies else LOW,
        f"{' and '.join(seen)} while observed: as PID 1 the target must reap orphans or they "
        "pile up as zombies; run with an init (`--init`, tini as exec-form ENTRYPOINT)",
    )


def writes_finding(observation: Observation, volumes: Iterable[str]) -> Finding | None:
    """Successful writes outside volumes: the container cannot run with --read-only."""
    mounts = [v.rstrip("/") or "/" for v in volumes]
    written = sorted(
        {
            posixpath.normpath(access.path)
            for access in observation.paths
            if access.op.writes and access.errno == 0
        }
    )
    written = [path for path in written if _in_image_fs(path, mounts)]
    if not written:
        return None
    directories = sorted({posixpath.dirname(path) for path in written})
    shown = ", ".join(directories[:SHOWN_PATHS])
    more = f" and {len(directories) - SHOWN_PATHS} more" if len(directories) > SHOWN_PATHS else ""
    return Finding(
        "writes-outside-volumes",
        LOW,
        f"the target wrote {len(written)} path{'s' if len(written) > 1 else ''} into the image "
        f"filesystem outside volumes (in {shown}{more}): declare VOLUMEs there "
        "(`--new-volume`) or mount a tmpfs, so the container can run with `--read-only`",
    )


def _in_image_fs(path: str, mounts: list[str]) -> bool:
    if path in ENGINE_FILES or _under(path, NOT_IMAGE_FS):
        return False
    return not _under(path, mounts)


def _under(path: str, prefixes: Iterable[str]) -> bool:
    return any(p == "/" or path == p or path.startswith(p + "/") for p in prefixes)
