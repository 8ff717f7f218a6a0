"""The one module that talks to the container engine (Docker or Podman, through the Docker SDK).

The engine is chosen by ``slimmer.endpoints.resolve_endpoint`` (options, DOCKER_HOST and TLS
variables, Docker contexts, a Podman socket when no Docker socket answers); the API version is
negotiated. Every failure to reach the engine becomes one EngineUnavailable with a hint.
Everything slimmer creates carries the label ``io.slimmer.session`` so it can be found and removed.

Differences between Docker and Podman (the Docker-compatible API of ``podman system service``)
are handled here and nowhere else: see ``Engine.kind``.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import posixpath
import re
import socket
import struct
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

import docker
import docker.auth
import docker.errors
import docker.tls
import docker.types
import requests.exceptions

from slimmer.endpoints import Endpoint, resolve_endpoint
from slimmer.errors import CleanupFailed, EngineUnavailable, ImageNotFound, SlimmerError
from slimmer.registry import is_loopback, registry_error, registry_of
from slimmer.runsettings import RunSettings

SESSION_LABEL = "io.slimmer.session"
CHUNK = 1 << 20
DOCKER = "docker"
PODMAN = "podman"
NO_AUTH = "e30="  # base64 of "{}"
_PUSHED = re.compile(r"digest: (sha256:[0-9a-f]{64})")  # "TAG: digest: sha256:... size: N"
HEALTH_RUN_GAP = 1.0  # seconds between health checks slimmer runs itself (Podman)
START_HINT = (
    "start dockerd (or `podman system service`), or name the engine with --engine-host, "
    "--context or DOCKER_HOST, then check `docker info`"
)
TLS_HINT = (
    "the engine's certificate must be signed by the ca.pem slimmer uses and name this host, "
    "and cert.pem/key.pem must be a client pair the engine trusts: check DOCKER_CERT_PATH "
    "(or the context's TLS files)"
)


def _unreachable(endpoint: Endpoint, exc: BaseException) -> EngineUnavailable:
    if "HTTP request to an HTTPS server" in str(exc):
        return EngineUnavailable(
            f"the engine at {endpoint.host} speaks TLS and slimmer did not",
            "set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the engine's client certificates",
        )
    tls_failure = _tls_failure(exc)
    if tls_failure is not None:
        return EngineUnavailable(
            f"TLS with the engine at {endpoint.host} failed ({tls_failure})", TLS_HINT
        )
    return EngineUnavailable(
        f"cannot reach a container engine at {endpoint.host} ({_short(exc)})", START_HINT
    )


def _tls_failure(exc: BaseException) -> str | None:
    """What went wrong in a TLS handshake, if ``exc`` (or what caused it) is one."""
    text = _chain_text(exc)
    if "certificate verify failed" in text:
        return "certificate verify failed: " + _after(text, "certificate verify failed")
    refused = ("alert unknown ca", "alert bad certificate", "alert certificate required",
               "EOF occurred in violation of protocol", "alert handshake failure")
    if any(marker in text for marker in refused):
        return "the engine closed the handshake: it does not trust slimmer's client certificate"
    if "wrong version number" in text:
        return "the engine does not answer TLS at this address"
    if isinstance(exc, docker.errors.TLSParameterError) or "SSLError" in text:
        return _short(exc)
    return None


def _chain_text(exc: BaseException) -> str:
    """The messages of ``exc`` and of the exceptions that caused it."""
    texts = []
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        texts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return " | ".join(texts)


def _after(text: str, marker: str) -> str:
    """The reason following ``marker`` in an OpenSSL message, e.g. "self-signed certificate"."""
    rest = text.split(marker, 1)[-1].lstrip(": ")
    return re.split(r" \(_ssl|'\)|\)", rest, maxsplit=1)[0].strip() or "no reason given"


def _explanation(response: requests.Response) -> str:
    """The message of an engine's error answer (JSON {"message": ...} or text)."""
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return response.text or f"HTTP {response.status_code}"


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


@dataclass(frozen=True)
class ImageInfo:
    """What the engine knows of an image: identity, config and platform."""

    ref: str
    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    size: int
    config: dict[str, Any]
    os: str
    architecture: str
    variant: str
    created: str
    diff_ids: tuple[str, ...] = ()  # the layers' digests (RootFS.Layers), bottom first


class Engine:
    """A connected engine. Create with ``Engine.connect()``."""

    def __init__(self, client: docker.DockerClient, endpoint: Endpoint | None = None) -> None:
        self.client = client
        self.api = client.api
        self.endpoint = endpoint or Endpoint(
            str(getattr(client.api, "base_url", "an engine client")), origin="a client"
        )
        self._scratch: Path | None = None  # files the engine reads from the host (Podman)
        self._health_runs: dict[str, float] = {}  # container -> when its check last ran (Podman)

    @classmethod
    def connect(cls, timeout: int = 60, endpoint: Endpoint | None = None) -> Engine:
        """Connect to ``endpoint`` (default: resolved from the environment and the Docker CLI
        config). When nothing named an engine, the Docker socket is tried, then Podman's."""
        chosen = endpoint or resolve_endpoint()
        if chosen.candidates:
            return cls._first_answering(chosen, timeout)
        return cls(_connected_client(chosen, timeout), chosen)

    @classmethod
    def _first_answering(cls, endpoint: Endpoint, timeout: int) -> Engine:
        silent: list[tuple[str, BaseException]] = []
        for host in endpoint.candidates:
            if not Path(host.removeprefix("unix://")).exists():
                continue
            origin = "a Podman socket" if "podman" in host else endpoint.origin
            candidate = Endpoint(host, context=endpoint.context, origin=origin)
            try:
                return cls(_connected_client(candidate, timeout), candidate)
            except EngineUnavailable as exc:
                silent.append((host, exc))
        podman = [(host, exc) for host, exc in silent if "podman" in host]
        if podman:
            host, exc = podman[0]
            raise EngineUnavailable(
                f"the Podman socket {host} is present but does not answer "
                f"({exc.message.rsplit('(', 1)[-1].rstrip(')')})",
                "start the service: `systemctl start podman.socket`, or "
                f"`podman system service --time=0 {host} &`",
            )
        if silent:
            raise silent[0][1]
        raise EngineUnavailable(
            f"no container engine socket found (tried {', '.join(endpoint.candidates)})",
            START_HINT,
        )

    def new_connection(self, timeout: int = 60) -> Engine:
        """Another connection to the same engine (for work in another thread)."""
        return Engine(_connected_client(self.endpoint, timeout), self.endpoint)

    def close(self) -> None:
        self.client.close()
        if self._scratch is not None:
            for leftover in self._scratch.iterdir():
                leftover.unlink(missing_ok=True)
            self._scratch.rmdir()
            self._scratch = None

    # ---- engine facts -------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return self._call(self.api.version)

    def info(self) -> dict[str, Any]:
        return self._call(self.api.info)

    @cached_property
    def kind(self) -> str:
        """``docker`` or ``podman`` (its Docker-compatible API names a "Podman Engine")."""
        components = self.version().get("Components") or []
        names = " ".join(str(c.get("Name", "")) for c in components)
        return PODMAN if "Podman" in names else DOCKER

    @cached_property
    def rootless(self) -> bool:
        """Whether the engine runs without root (then fanotify is unavailable to the sensor).
        Docker says so in its security options; Podman's compatible API does not, its own
        API does (``/libpod/info``)."""
        if self.kind == PODMAN:
            return bool(self._libpod("info").get("host", {}).get("security", {}).get("rootless"))
        options = self.info().get("SecurityOptions") or []
        return any("rootless" in str(option) for option in options)

    def _libpod(self, path: str) -> dict[str, Any]:
        """GET a path of Podman's own API (beside its Docker-compatible one)."""
        url = f"{self._libpod_base()}/libpod/{path}"
        response = self._call(self.api.get, url, timeout=30)
        if response.status_code != 200:
            raise SlimmerError(f"Podman's API answered {response.status_code} for {path}")
        return response.json()

    def published_host(self) -> str:
        """The host name where ports published by the engine can be reached."""
        url = urlparse(self.endpoint.host)
        if url.scheme in ("tcp", "http", "https", "ssh") and url.hostname:
            return url.hostname
        return "127.0.0.1"

    # ---- images ---------------------------------------------------------------------------

    def inspect_image(self, ref: str) -> ImageInfo:
        try:
            attrs = self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            raise ImageNotFound(
                f"image {ref!r} not found in the engine at {self.endpoint.host}",
                "check the name with `docker images`, or pull or build it first (--pull pulls "
                "it when missing)",
            ) from None
        except docker.errors.APIError as exc:
            if exc.status_code in (400, 404):
                raise ImageNotFound(
                    f"image {ref!r} not found ({_short(exc)})",
                    "check the name with `docker images`",
                ) from None
            raise self._api_error(exc) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unreachable(self.endpoint, exc) from None
        config = attrs.get("Config") or {}
        if self.kind == PODMAN:
            config = self._podman_image_config(attrs["Id"], config)
        return ImageInfo(
            ref=ref,
            id=attrs["Id"],
            repo_tags=attrs.get("RepoTags") or [],
            repo_digests=attrs.get("RepoDigests") or [],
            size=int(attrs.get("Size") or 0),
            config=config,
            os=attrs.get("Os") or "linux",
            architecture=attrs.get("Architecture") or "",
            variant=attrs.get("Variant") or "",
            created=attrs.get("Created") or "",
            diff_ids=tuple((attrs.get("RootFS") or {}).get("Layers") or ()),
        )

    def _podman_image_config(self, image_id: str, config: dict[str, Any]) -> dict[str, Any]:
        """Podman's Docker-compatible image inspect leaves the HEALTHCHECK (and may leave the
        stop signal) out of ``Config``; its own API has them, in the same format."""
        own = self._libpod(f"images/{image_id}/json")
        config = dict(config)
        if "Healthcheck" not in config and own.get("Healthcheck"):
            config["Healthcheck"] = own["Healthcheck"]
        stop_signal = (own.get("Config") or {}).get("StopSignal")
        if "StopSignal" not in config and stop_signal:
            config["StopSignal"] = stop_signal
        return config

    def save_image(self, ref: str) -> Iterator[bytes]:
        """The engine's `save` stream of one image (a docker-archive tar)."""
        return self._call(self.api.get_image, ref, chunk_size=CHUNK)

    def load_image(self, archive: BinaryIO) -> list[str]:
        """Load a docker-archive tar; returns the loaded image ids or tags the engine names."""
        loaded: list[str] = []
        for message in self._call(self.api.load_image, archive, quiet=True):
            if "error" in message:
                raise SlimmerError(f"the engine refused the image: {message['error']}")
            stream = message.get("stream", "")
            for prefix in ("Loaded image ID: ", "Loaded image: "):
                if stream.startswith(prefix):
                    loaded.append(stream[len(prefix) :].strip())
        return loaded

    def import_rootfs(self, archive: bytes, ref: str, changes: list[str] | None = None) -> None:
        """Create an image from a root filesystem tar; ``changes`` are Dockerfile instructions
        for its config (CMD, ENTRYPOINT, USER, LABEL, ...)."""
        repo, tag = split_ref(ref)
        self._call(
            self.api.import_image_from_data, archive, repository=repo, tag=tag, changes=changes
        )

    def tag_image(self, image: str, ref: str) -> None:
        repo, tag = split_ref(ref)
        self._call(self.api.tag, image, repo, tag, force=True)

    def remove_image(self, ref: str) -> None:
        try:
            self.api.remove_image(ref, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise self._api_error(exc) from None

    def has_image(self, ref: str) -> bool:
        try:
            self.api.inspect_image(ref)
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError as exc:
            if exc.status_code in (400, 404):
                return False
            raise self._api_error(exc) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unreachable(self.endpoint, exc) from None
        return True

    def pull_image(self, ref: str, platform: str | None = None) -> None:
        """Pull ``ref`` (the variant for ``platform``, "os/arch[/variant]", when given) with the
        credentials of the Docker CLI config; registry failures become one RegistryError.
        A registry on a loopback address may speak plain HTTP, as Docker allows by default;
        Podman is told so (its compatible pull cannot be: its own API's pull is used)."""
        repo, tag = split_ref(ref)
        if self._plain_http(ref):
            params = {"reference": ref, "tlsVerify": "false", "quiet": "true"}
            if platform:
                params.update(zip(("os", "arch", "variant"), platform.split("/"), strict=False))
            url = f"{self._libpod_base()}/libpod/images/pull"
        else:
            digest = ref.split("@", 1)[1] if "@" in ref else None
            params = {"fromImage": repo, "tag": digest or tag}
            if platform:
                params["platform"] = platform
            url = self.api._url("/images/create")
        for _event in self._registry_stream(url, params, ref, "pull"):
            pass

    def push_image(self, ref: str) -> str:
        """Push the image tagged ``ref`` with the credentials of the Docker CLI config; the
        manifest digest the registry stored."""
        repo, tag = split_ref(ref)
        params = {"tag": tag, **({"tlsVerify": "false"} if self._plain_http(ref) else {})}
        digest = ""
        url = self.api._url("/images/{0}/push", repo)
        for event in self._registry_stream(url, params, ref, "push"):
            found = (event.get("aux") or {}).get("Digest") or _PUSHED.search(
                str(event.get("status", ""))
            )
            if found:
                digest = found if isinstance(found, str) else found.group(1)
        if not digest:
            raise SlimmerError(f"the engine pushed {ref} but did not say which digest it has")
        return digest

    def _registry_stream(
        self, url: str, params: dict[str, str], ref: str, action: str
    ) -> Iterator[dict[str, Any]]:
        """POST a pull or push with the registry's credentials (X-Registry-Auth, from the
        Docker CLI config and its credential helpers); the engine's JSON progress events."""
        try:
            # no credentials: an empty one ({} in base64), which Docker's push requires
            auth = docker.auth.get_config_header(self.api, registry_of(ref)) or NO_AUTH
            headers = {"X-Registry-Auth": auth}
            response = self.api.post(url, params=params, headers=headers, stream=True,
                                     timeout=self.api.timeout)
            if response.status_code >= 400:
                raise registry_error(action, ref, _explanation(response))
            for line in response.iter_lines():
                event = json.loads(line) if line.strip() else {}
                if "error" in event or "errorDetail" in event:
                    detail = (event.get("errorDetail") or {}).get("message") or event.get("error")
                    raise registry_error(action, ref, str(detail))
                yield event
        except docker.errors.DockerException as exc:  # e.g. a credential helper failed
            raise registry_error(action, ref, str(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise _unreachable(self.endpoint, exc) from None
        except ValueError as exc:
            raise SlimmerError(f"the engine answered the {action} of {ref} with {exc}") from None

    def _plain_http(self, ref: str) -> bool:
        """Whether to let Podman use plain HTTP with the registry of ``ref``: on a loopback
        address, which Docker treats as an insecure registry by default and Podman does not."""
        return self.kind == PODMAN and is_loopback(registry_of(ref))

    def _libpod_base(self) -> str:
        components = self.version().get("Components") or [{}]
        version = (components[0].get("Details") or {}).get("APIVersion") or "4.0.0"
        return f"{self.api.base_url}/v{version}"

    # ---- containers -----------------------------------------------------------------------

    def create_container(
        self,
        image: str,
        *,
        session: str,
        entrypoint: list[str] | None = None,
        command: list[str] | None = None,
        user: str | None = None,
        cap_add: list[str] | None = None,
        ports: list[str] | None = None,
        security_opt: list[str] | None = None,
        environment: list[str] | None = None,
        name: str | None = None,
        hostname: str | None = None,
        network_mode: str | None = None,
        run: RunSettings | None = None,
        healthcheck: dict[str, Any] | None = None,
        working_dir: str | None = None,
        isolated: bool = False,
    ) -> str:
        """Create (not start) a container labelled with the session; returns its id.

        ``ports`` are container ports like ``"80/tcp"``; each is published on a random host port.
        ``run``: the user's run settings (env, mounts, network, ...); ``healthcheck``: the
        engine's Healthcheck object replacing the image's. ``isolated``: no network, no log,
        stdin open, working directory /, only the capabilities in ``cap_add`` (a container
        that only runs slimmer's sensor serving files, see ``attach``).
        """
        security_opt = self._engine_security_options(security_opt)
        run_config, run_host = self._run_settings_params(run) if run else ({}, {})
        if isolated:
            run_host.update(cap_drop=["ALL"], log_config={"type": "none"}, network_mode="none")
            run_host.update(pids_limit=64, mem_limit=1 << 30)
            run_config.update(stdin_open=True, working_dir="/")
        # a local engine publishes on the loopback address only: probes come from this host
        bind = ("127.0.0.1",) if self.published_host() == "127.0.0.1" else ()
        host_config = self.api.create_host_config(
            cap_add=[*(cap_add or []), *run_host.pop("cap_add", [])] or None,
            port_bindings={p: bind or None for p in ports or []} or None,
            security_opt=security_opt or None,
            network_mode=run_host.pop("network_mode", network_mode),
            **run_host,
        )
        kwargs: dict[str, Any] = {
            "image": image,
            "labels": {SESSION_LABEL: session},
            "host_config": host_config,
            # (port, protocol) pairs: the SDK would read "80/tcp" as port "80/tcp" of tcp
            "ports": [tuple(p.split("/", 1)) if "/" in p else p for p in ports or []] or None,
            "name": name,
            "hostname": hostname,
        }
        if entrypoint is not None:
            kwargs["entrypoint"] = entrypoint
        if command is not None:
            kwargs["command"] = command
        if user is not None:
            kwargs["user"] = user
        if environment is not None:
            kwargs["environment"] = environment
        if working_dir is not None:
            kwargs["working_dir"] = working_dir
        run_env = run_config.pop("environment", [])
        if run_env:
            kwargs["environment"] = [*(environment or []), *run_env]
        if healthcheck is not None:
            kwargs["healthcheck"] = healthcheck
        kwargs.update(run_config)
        created = self._call(self.api.create_container, **kwargs)
        for network, aliases in run.more_networks if run else ():
            self._call(
                self.api.connect_container_to_network,
                created["Id"],
                network,
                aliases=list(aliases) or None,
            )
        return created["Id"]

    def _run_settings_params(self, run: RunSettings) -> tuple[dict[str, Any], dict[str, Any]]:
        """The container-create parameters of the user's run settings: (config, host config).
        The command, user and healthcheck are set by the caller (the sensor's or the image's)."""
        config: dict[str, Any] = {"environment": list(run.env)}
        if run.workdir:
            config["working_dir"] = run.workdir
        host: dict[str, Any] = {"cap_add": list(run.cap_add)}
        if run.memory:
            host["mem_limit"] = host["memswap_limit"] = run.memory
        if run.pids_limit:
            host["pids_limit"] = run.pids_limit
        mounts, tmpfs = [], {}
        for mount in run.mounts:
            options = dict(mount.options)
            if "tmpfs-options" in options:
                tmpfs[mount.target] = options["tmpfs-options"]
                continue
            mounts.append(
                docker.types.Mount(
                    mount.target,
                    mount.source or None,
                    type=mount.type,
                    read_only=mount.read_only,
                    propagation=options.get("bind-propagation"),
                    no_copy=options.get("volume-nocopy", "false") in ("true", "1"),
                    tmpfs_size=options.get("tmpfs-size"),
                    tmpfs_mode=int(options["tmpfs-mode"], 8) if "tmpfs-mode" in options else None,
                )
            )
        if mounts:
            host["mounts"] = mounts
        if tmpfs:
            host["tmpfs"] = tmpfs
        if run.extra_hosts:
            host["extra_hosts"] = list(run.extra_hosts)
        if run.network:
            host["network_mode"] = run.network
            endpoint = self.api.create_endpoint_config(aliases=list(run.network_aliases) or None)
            config["networking_config"] = self.api.create_networking_config(
                {run.network: endpoint}
            )
        return config, host

    def network_exists(self, name: str) -> bool:
        try:
            self.api.inspect_network(name)
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError as exc:
            raise self._api_error(exc) from None
        return True

    def put_file(self, container: str, directory: str, name: str, data: bytes, mode: int) -> None:
        """Put one file into a created or running container through the archive API.

        ``name`` may have directories ("a/b/file"); missing ones are created with mode 0755.
        """
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            parts = name.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                directory_info = tarfile.TarInfo("/".join(parts[:depth]))
                directory_info.type = tarfile.DIRTYPE
                directory_info.mode = 0o755
                tar.addfile(directory_info)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
        # the archive ends with its two zero blocks, without the padding to a 10 KiB record:
        # Podman's copier stops reading there, and a sender still writing padding fails with
        # "passing bulk input to subprocess: write |1: broken pipe" (containers/buildah#6573)
        archive = buffer.getvalue()[: tar.offset]
        self._call(self.api.put_archive, container, directory, archive)

    def get_archive(self, container: str, path: str) -> Iterator[bytes]:
        """A tar stream of ``path`` from a container (running or stopped)."""
        stream, _stat = self._call(self.api.get_archive, container, path, chunk_size=CHUNK)
        return stream

    def read_file(self, container: str, path: str, limit: int) -> bytes:
        """The content of the regular file ``path`` of a container (running or stopped), at
        most ``limit`` bytes, copied out through the archive API.

        Exactly that file: the archive must hold one member, a regular file named as the last
        component of ``path``. A directory, a symlink, a hard link, a device, another name or a
        second member is an error, never read.
        """
        stream = self.get_archive(container, path)
        name = posixpath.basename(path.rstrip("/"))
        refused = SlimmerError(
            f"{path} in the container is not a regular file of at most {limit} B"
        )
        try:
            with tarfile.open(fileobj=io.BufferedReader(ChunkReader(stream)), mode="r|") as tar:
                member = tar.next()
                if member is None or member.name != name or not member.isreg():
                    raise refused
                if member.size > limit:
                    raise refused
                handle = tar.extractfile(member)
                data = handle.read() if handle is not None else b""
                if len(data) != member.size or tar.next() is not None:
                    raise refused
                return data
        except (tarfile.TarError, OSError) as exc:
            raise SlimmerError(f"cannot read {path} from the container: {exc}") from None

    def start(self, container: str) -> None:
        self._call(self.api.start, container)

    def kill(self, container: str, signal: str | int = "SIGTERM") -> None:
        try:
            self.api.kill(container, signal=signal)
        except docker.errors.APIError as exc:
            if exc.status_code not in (404, 409):  # gone, or not running
                raise self._api_error(exc) from None

    def wait(self, container: str, timeout: float) -> int | None:
        """Wait for the container to exit; its status, or None when still running at timeout."""
        try:
            result = self.api.wait(container, timeout=timeout)
        except requests.exceptions.ConnectionError as exc:
            if "timed out" in str(exc).lower() or "timeout" in type(exc.__cause__).__name__.lower():
                return None
            raise _unreachable(self.endpoint, exc) from None
        except requests.exceptions.ReadTimeout:
            return None
        return int(result.get("StatusCode", -1))

    def state(self, container: str) -> dict[str, Any]:
        return self._call(self.api.inspect_container, container)["State"]

    def published_ports(self, container: str) -> dict[str, int]:
        """Map "80/tcp" -> host port for a running container."""
        ports = self._call(self.api.inspect_container, container)["NetworkSettings"]["Ports"] or {}
        result = {}
        for spec, bindings in ports.items():
            for binding in bindings or []:
                if binding.get("HostIp") in ("0.0.0.0", "127.0.0.1", "") or len(bindings) == 1:
                    result[spec] = int(binding["HostPort"])
                    break
        return result

    def logs(self, container: str, tail: int | str = "all") -> bytes:
        return self._call(self.api.logs, container, stdout=True, stderr=True, tail=tail)

    def stdout(self, container: str) -> bytes:
        return self._call(self.api.logs, container, stdout=True, stderr=False)

    def exec_run(self, container: str, command: list[str], user: str = "") -> tuple[int, bytes]:
        """Run a command in a running container; its exit code and combined output."""
        created = self._call(self.api.exec_create, container, command, user=user)
        output = self._call(self.api.exec_start, created["Id"])
        code = self._call(self.api.exec_inspect, created["Id"]).get("ExitCode")
        return (int(code) if code is not None else -1), output

    def remove_container(self, container: str) -> None:
        try:
            self.api.remove_container(container, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # removal already in progress
                raise self._api_error(exc) from None

    # ---- Docker and Podman ------------------------------------------------------------------

    def _engine_security_options(self, options: list[str] | None) -> list[str] | None:
        """Security options as this engine reads them. Docker takes a seccomp profile inline
        (``seccomp={json}``, as the docker CLI sends it); Podman's compatible API opens the
        value as a path on its host, so the profile goes to a file there (removed on close)."""
        if not options or self.kind != PODMAN:
            return options
        converted = []
        for option in options:
            if option.startswith("seccomp={"):
                option = "seccomp=" + str(self._scratch_file(option[len("seccomp=") :]))
            converted.append(option)
        return converted

    def _scratch_file(self, text: str) -> Path:
        if not self.endpoint.is_local:
            raise SlimmerError(
                f"the Podman engine at {self.endpoint.host} reads seccomp profiles from its own "
                "filesystem, which slimmer cannot write to",
                "run slimmer on the Podman host, or build with --no-verify",
            )
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="slimmer-engine-"))
            self._scratch.chmod(0o755)  # a rootless Podman reads it as its own user
        handle, name = tempfile.mkstemp(dir=self._scratch, suffix=".json")
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(name, 0o644)
        return Path(name)

    def health(self, container: str) -> dict[str, Any]:
        """A container's health (Status, FailingStreak, Log), as the engine's scheduler makes it.
        Podman schedules health checks with systemd timers, so its API service on a host
        without systemd never runs them: there each call runs the check through Podman's own
        API, at most once a second (verification asks for checks every second at most)."""
        state = self.state(container)
        defined = bool((state.get("Health") or {}).get("Status"))  # "" without a check
        if self.kind == PODMAN and state.get("Running") and defined:
            now = time.monotonic()
            if now - self._health_runs.get(container, -HEALTH_RUN_GAP) >= HEALTH_RUN_GAP:
                self._health_runs[container] = now
                self._libpod(f"containers/{container}/healthcheck")
                state = self.state(container)
        return state.get("Health") or {}

    def processes(self, container: str) -> list[tuple[int, str]]:
        """(uid, command line) of each process of a running container. Docker runs the host's
        ps (``-o pid,uid,args``); Podman takes its own descriptors and names users, which are
        mapped back to uids through the container's /etc/passwd."""
        if self.kind != PODMAN:
            top = self._call(self.api.top, container, ps_args="-o pid,uid,args")
            uid_at = top["Titles"].index("UID")
            args_at = top["Titles"].index("COMMAND")
            return [(int(row[uid_at]), row[args_at]) for row in top["Processes"]]
        top = self._call(self.api.top, container, ps_args="pid,user,args")
        user_at = top["Titles"].index("USER")
        args_at = top["Titles"].index("COMMAND")
        uids = self._passwd_uids(container)
        result = []
        for row in top["Processes"]:
            user = row[user_at]
            result.append((int(user) if user.isdigit() else uids[user], row[args_at]))
        return result

    def _passwd_uids(self, container: str) -> dict[str, int]:
        try:
            passwd = self.read_file(container, "/etc/passwd", 1 << 20)
        except SlimmerError:
            return {}
        uids = {}
        for line in passwd.decode(errors="replace").splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[2].isdigit():
                uids.setdefault(fields[0], int(fields[2]))
        return uids

    # ---- a container serving the image's files ---------------------------------------------

    def attach(self, container: str) -> AttachedStream:
        """The stdin and stdout of a created container (attach before starting it)."""
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        sock = self._call(self.api.attach_socket, container, params=params)
        raw = getattr(sock, "_sock", sock)  # the SDK wraps the socket in a SocketIO
        return AttachedStream(raw, sock)

    def created_ns(self, container: str) -> int:
        """When the engine created the container, in nanoseconds since the epoch."""
        return parse_time_ns(self._call(self.api.inspect_container, container)["Created"])

    def walk_unsupported(self) -> str:
        """Why a fresh container's tree cannot stand for the image's layers on this engine
        ("" when it can): only Docker's overlay2 driver is known to show the layers' metadata
        as unpacked, and not under SELinux labels, user namespaces or rootless mode."""
        version = self.version()
        components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
        if "podman" in components.lower() or "podman" in str(version.get("Platform", "")).lower():
            return "Podman's containers are not read as a walk"
        info = self.info()
        if info.get("Driver") != "overlay2":
            return f"the engine's storage driver is {info.get('Driver')!r}, not overlay2"
        options = " ".join(info.get("SecurityOptions") or [])
        for name in ("selinux", "userns", "rootless"):
            if f"name={name}" in options:
                return f"the engine runs with {name}"
        return ""

    # ---- cleanup ----------------------------------------------------------------------------

    def containers_of(self, session: str) -> list[str]:
        return [c["Id"] for c in self.containers_labelled({SESSION_LABEL: session})]

    def volumes_of(self, session: str) -> list[str]:
        return self.volumes_labelled({SESSION_LABEL: session})

    def containers_labelled(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        """Containers (running or not) carrying all ``labels``: Id, Labels, State each."""
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        found = self._call(self.api.containers, all=True, filters=filters)
        return [
            {"Id": c["Id"], "Labels": c.get("Labels") or {}, "State": c.get("State", "")}
            for c in found
        ]

    def volumes_labelled(self, labels: dict[str, str]) -> list[str]:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        found = self._call(self.api.volumes, filters=filters)
        return [v["Name"] for v in (found or {}).get("Volumes") or []]

    def networks_labelled(self, labels: dict[str, str]) -> list[str]:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        return [n["Name"] for n in self._call(self.api.networks, filters=filters)]

    def remove_volume(self, name: str) -> None:
        self._call_unless_gone(self.api.remove_volume, name, force=True)

    def remove_network(self, name: str) -> None:
        self._call_unless_gone(self.api.remove_network, name)

    def remove_session(self, session: str) -> None:
        """Remove every container and volume labelled with the session. Tries them all, then
        raises CleanupFailed naming what is left (and how to remove it by hand)."""
        failures: list[str] = []
        removals = [(self.containers_of, self.remove_container, "container"),
                    (self.volumes_of, self.remove_volume, "volume")]
        for listing, remove, kind in removals:
            try:
                found = listing(session)
            except SlimmerError as exc:
                failures.append(f"listing {kind}s: {exc.message}")
                continue
            for name in found:
                try:
                    remove(name)
                except SlimmerError as exc:
                    failures.append(f"{kind} {name[:12]}: {exc.message}")
        if failures:
            label = f"{SESSION_LABEL}={session}"
            raise CleanupFailed(
                f"could not remove what this run created ({'; '.join(failures)})",
                f"remove it by hand: docker rm -fv $(docker ps -aq --filter label={label}); "
                f"docker volume rm $(docker volume ls -q --filter label={label})",
            )

    # ---- helpers ------------------------------------------------------------------------------

    def _call_unless_gone(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``_call``, where "no such object" is no error (None)."""
        try:
            return func(*args, **kwargs)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise self._api_error(exc) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unreachable(self.endpoint, exc) from None

    def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except docker.errors.APIError as exc:
            raise self._api_error(exc) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unreachable(self.endpoint, exc) from None

    @staticmethod
    def _api_error(exc: docker.errors.APIError) -> SlimmerError:
        detail = exc.explanation or str(exc)
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        return SlimmerError(f"the container engine said: {_short(Exception(detail))}")


def _connected_client(endpoint: Endpoint, timeout: int) -> docker.DockerClient:
    """A client of ``endpoint`` that answered a ping (TLS as the endpoint says)."""
    factory = _TlsClient if endpoint.tls is not None else docker.DockerClient
    try:
        client = factory(
            base_url=endpoint.host,
            version="auto",
            timeout=timeout,
            tls=_tls_config(endpoint),
            use_ssh_client=endpoint.host.startswith("ssh://"),
        )
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise _unreachable(endpoint, exc) from None
    try:
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        client.close()
        raise _unreachable(endpoint, exc) from None
    return client


class _TlsApi(docker.APIClient):
    """The SDK's API client without requests' environment settings, which would let
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace the engine's own CA in verification."""

    trust_env = property(lambda self: False, lambda self, value: None)  # type: ignore[assignment]


class _TlsClient(docker.DockerClient):
    def __init__(self, **kwargs: Any) -> None:
        self.api = _TlsApi(**kwargs)


def _tls_config(endpoint: Endpoint) -> docker.tls.TLSConfig | bool:
    tls = endpoint.tls
    if tls is None or endpoint.is_local:
        return False
    client_cert = (str(tls.cert), str(tls.key)) if tls.cert and tls.key else None
    ca = str(tls.ca) if tls.ca else None
    try:
        return docker.tls.TLSConfig(client_cert=client_cert, ca_cert=ca, verify=tls.verify)
    except docker.errors.TLSParameterError as exc:
        raise EngineUnavailable(f"TLS files for {endpoint.host}: {exc}", TLS_HINT) from None


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the engine's archive streams)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


class AttachedStream:
    """A container's stdin and stdout over the engine's attach API (no TTY: the engine frames
    stdout and stderr; ``recv`` gives stdout's bytes, stderr's last 4 KiB are kept)."""

    STDERR_KEPT = 4096

    def __init__(self, raw: socket.socket, owner: Any) -> None:
        self._raw = raw
        self._owner = owner  # keeps the SDK's response (and so the connection) alive
        self._send_lock = threading.Lock()
        self._frame_left = 0
        self._frame_kind = 0
        self.stderr = b""
        raw.settimeout(None)

    def send(self, data: bytes) -> None:
        with self._send_lock:
            self._raw.sendall(data)

    def recv(self, size: int = 1 << 20) -> bytes:
        """The next stdout bytes (b"" when the container closed its output)."""
        while True:
            if self._frame_left == 0:
                header = self._exactly(8)
                if len(header) < 8:
                    return b""
                self._frame_kind = header[0]
                self._frame_left = struct.unpack(">I", header[4:])[0]
                continue
            data = self._raw.recv(min(size, self._frame_left))
            if not data:
                return b""
            self._frame_left -= len(data)
            if self._frame_kind == 2:
                self.stderr = (self.stderr + data)[-self.STDERR_KEPT :]
                continue
            return data

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._raw.recv(size - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def close(self) -> None:
        for close in (self._raw.close, getattr(self._owner, "close", None)):
            try:
                if close is not None:
                    close()
            except OSError:
                pass


_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def parse_time_ns(text: str) -> int:
    """An RFC 3339 time with up to nanoseconds (as the engine writes them) in ns since the
    epoch."""
    found = _TIME.fullmatch(text.strip())
    if not found:
        raise SlimmerError(f"the engine gave a time slimmer cannot read: {text[:40]!r}")
    whole, fraction, zone = found.groups()
    zone = "+00:00" if zone == "Z" else zone
    moment = datetime.datetime.fromisoformat(whole + zone)
    seconds = int(moment.timestamp())
    return seconds * 1_000_000_000 + int((fraction or "0")[:9].ljust(9, "0"))


def split_ref(ref: str) -> tuple[str, str]:
    """Split ``repo[:tag]`` (a registry port is not a tag) into repo and tag (default latest)."""
    name = ref.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, "latest"
