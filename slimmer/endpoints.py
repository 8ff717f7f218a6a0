"""Which container engine to talk to, resolved the way the docker CLI resolves it.

Order (as the docker CLI): ``--context NAME``; ``--engine-host URL`` (the CLI's ``--host``) or
``DOCKER_HOST``, both with the TLS settings of the environment (``DOCKER_TLS_VERIFY``,
``DOCKER_TLS``, ``DOCKER_CERT_PATH``); ``DOCKER_CONTEXT``; the ``currentContext`` of the
Docker CLI config (``$DOCKER_CONFIG/config.json``, default ``~/.docker``); else the default
socket, and when no Docker socket answers, a Podman socket (``/run/podman/podman.sock``,
``$XDG_RUNTIME_DIR/podman/podman.sock``). A context is read from the CLI's context store:
``contexts/meta/<sha256 of the name>/meta.json`` (its ``Endpoints.docker.Host`` and
``SkipTLSVerify``) and ``contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem``.

Nothing here talks to the engine: ``slimmer.engine.Engine.connect`` does, with an Endpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from slimmer.errors import UsageError

DEFAULT_CONTEXT = "default"
DOCKER_SOCKET = "unix:///var/run/docker.sock"
ROOTFUL_PODMAN_SOCKET = "unix:///run/podman/podman.sock"
SCHEMES = ("unix", "tcp", "http", "https", "ssh")
CONTEXT_HINT = (
    "list the contexts with `docker context ls`, or create one with `docker context create`"
)


@dataclass(frozen=True)
class TlsFiles:
    """TLS material for an engine over TCP; any file may be absent (as for the docker CLI)."""

    ca: Path | None
    cert: Path | None
    key: Path | None
    verify: bool


@dataclass(frozen=True)
class Endpoint:
    """An engine address and how it was chosen.

    ``candidates``: when nothing named an engine, the sockets to try in order (the Docker
    socket, then Podman's); ``host`` is then the first of them.
    """

    host: str
    tls: TlsFiles | None = None
    context: str = DEFAULT_CONTEXT
    origin: str = "the default socket"
    candidates: tuple[str, ...] = ()

    @property
    def is_local(self) -> bool:
        return self.host.startswith("unix://")

    def describe(self) -> str:
        tls = ""
        if self.tls is not None:
            tls = ", TLS" + (" verified" if self.tls.verify else " unverified")
        return f"{self.host} ({self.origin}{tls})"


def resolve_endpoint(
    engine_host: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """The engine to use, from the options, the environment and the Docker CLI config."""
    env = os.environ if environ is None else environ
    if engine_host and context:
        raise UsageError(
            "--engine-host and --context both name an engine", "give only one of them"
        )
    name = context_name(context, engine_host, env)
    if name != DEFAULT_CONTEXT:
        origin = "--context" if context else (
            "DOCKER_CONTEXT" if env.get("DOCKER_CONTEXT") else "the Docker CLI's current context"
        )
        return context_endpoint(name, env, origin)
    if engine_host:
        return _with_env_tls(parse_host(engine_host), env, "--engine-host")
    if env.get("DOCKER_HOST"):
        return _with_env_tls(parse_host(env["DOCKER_HOST"]), env, "DOCKER_HOST")
    return Endpoint(DOCKER_SOCKET, candidates=default_sockets(env))


def context_name(context: str | None, engine_host: str | None, env: Mapping[str, str]) -> str:
    """The context the docker CLI would use (a host given by flag or DOCKER_HOST means the
    default context, which takes the host from there)."""
    if context:
        return context
    if engine_host or env.get("DOCKER_HOST"):
        return DEFAULT_CONTEXT
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"]
    current = cli_config(env).get("currentContext")
    return current if isinstance(current, str) and current else DEFAULT_CONTEXT


def default_sockets(env: Mapping[str, str]) -> tuple[str, ...]:
    """The sockets tried when nothing names an engine: Docker's, then Podman's."""
    sockets = [DOCKER_SOCKET, ROOTFUL_PODMAN_SOCKET]
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        sockets.append(f"unix://{runtime_dir.rstrip('/')}/podman/podman.sock")
    return tuple(sockets)


def config_dir(env: Mapping[str, str]) -> Path:
    """The Docker CLI's configuration directory: DOCKER_CONFIG, else ~/.docker."""
    configured = env.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def cli_config(env: Mapping[str, str]) -> dict:
    """The Docker CLI config (config.json) as a dict; {} when there is none."""
    path = config_dir(env) / "config.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read the Docker CLI config {path}: {exc.strerror}") from None
    try:
        document = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise UsageError(
            f"the Docker CLI config {path} is not valid JSON ({exc})", "fix or remove the file"
        ) from None
    return document if isinstance(document, dict) else {}


def context_endpoint(name: str, env: Mapping[str, str], origin: str = "--context") -> Endpoint:
    """The docker endpoint of a context of the CLI's context store."""
    contexts = config_dir(env) / "contexts"
    key = hashlib.sha256(name.encode()).hexdigest()
    meta_path = contexts / "meta" / key / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"docker context {name!r} ({origin}) not found in {contexts}", CONTEXT_HINT
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read docker context {name!r} from {meta_path}: {exc}") from None
    endpoints = meta.get("Endpoints") if isinstance(meta, dict) else None
    docker = endpoints.get("docker") if isinstance(endpoints, dict) else None
    if not isinstance(docker, dict):
        raise UsageError(f"docker context {name!r} has no docker endpoint", CONTEXT_HINT)
    host = parse_host(str(docker.get("Host") or DOCKER_SOCKET))
    tls_dir = contexts / "tls" / key / "docker"
    skip_verify = bool(docker.get("SkipTLSVerify", False))
    tls = None
    if tls_dir.is_dir() or skip_verify:
        tls = TlsFiles(*_tls_files(tls_dir), verify=not skip_verify)
    if host.startswith("unix://"):
        tls = None  # the CLI ignores TLS material for sockets
    return Endpoint(host, tls, context=name, origin=f"context {name} from {origin}")


def _with_env_tls(host: str, env: Mapping[str, str], origin: str) -> Endpoint:
    """The default context's TLS settings: DOCKER_TLS_VERIFY (non-empty: verify) or DOCKER_TLS
    turn TLS on, with ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker)."""
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not (verify or env.get("DOCKER_TLS")) or host.startswith("unix://"):
        return Endpoint(host, origin=origin)
    cert_dir = Path(env.get("DOCKER_CERT_PATH") or config_dir(env))
    return Endpoint(host, TlsFiles(*_tls_files(cert_dir), verify=verify), origin=origin)


def _tls_files(directory: Path) -> tuple[Path | None, Path | None, Path | None]:
    found = [directory / name for name in ("ca.pem", "cert.pem", "key.pem")]
    ca, cert, key = (path if path.is_file() else None for path in found)
    return ca, cert, key


def parse_host(host: str) -> str:
    """An engine address as the docker CLI accepts it: ``unix:///path``, ``tcp://host[:port]``
    (``host:port`` alone means tcp), ``ssh://[user@]host``."""
    text = host.strip()
    if "://" not in text:
        text = f"tcp://{text}"
    url = urlparse(text)
    if url.scheme not in SCHEMES:
        raise UsageError(
            f"engine address {host!r} has an unknown scheme {url.scheme!r}",
            "use unix:///path/to/socket, tcp://HOST:PORT or ssh://USER@HOST",
        )
    if url.scheme == "unix":
        if not url.path:
            raise UsageError(f"engine address {host!r} names no socket", "unix:///path/to/socket")
        return f"unix://{url.path}"
    if not url.hostname:
        raise UsageError(f"engine address {host!r} names no host", "tcp://HOST:PORT")
    return text.rstrip("/")
