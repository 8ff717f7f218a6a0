"""What the engine would run for an image: command, user, ports, stop signal."""

from __future__ import annotations

from dataclasses import dataclass

from slimmer.engine import ImageInfo
from slimmer.errors import SlimmerError


@dataclass(frozen=True)
class Target:
    image: str  # the image id (stable even if the tag moves during the run)
    ref: str  # what the user named
    argv: list[str]  # ENTRYPOINT + CMD
    user: str
    env: list[str]
    tcp_ports: list[str]  # exposed TCP ports, "80/tcp"
    stop_signal: str
    workdir: str

    @property
    def sets_home(self) -> bool:
        return any(item.startswith("HOME=") for item in self.env)


def target_of(info: ImageInfo) -> Target:
    config = info.config
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if not argv:
        raise SlimmerError(
            f"image {info.ref!r} has neither ENTRYPOINT nor CMD, so there is nothing to observe",
            "give the image a CMD (docker commit --change 'CMD [...]' or a Dockerfile)",
        )
    ports = [
        p if "/" in p else f"{p}/tcp"
        for p in config.get("ExposedPorts") or {}
        if p.endswith("/tcp") or "/" not in p
    ]
    return Target(
        image=info.id,
        ref=info.ref,
        argv=argv,
        user=config.get("User") or "",
        env=list(config.get("Env") or []),
        tcp_ports=sorted(ports, key=lambda p: int(p.split("/")[0])),
        stop_signal=config.get("StopSignal") or "SIGTERM",
        workdir=config.get("WorkingDir") or "/",
    )
