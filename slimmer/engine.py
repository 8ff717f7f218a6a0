"""The one module that talks to the container engine (Docker or Podman, through the Docker SDK).

The API version is negotiated with the engine, DOCKER_HOST (and the other DOCKER_* variables)
are honoured. Every failure to reach the engine becomes one EngineUnavailable with a hint.
Everything slimmer creates carries the label ``io.slimmer.session`` so it can be found and removed.
"""

from __future__ import annotations

import datetime
import io
import os
import posixpath
import re
import socket
import struct
import tarfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlparse

import docker
import docker.errors
import docker.types
import requests.exceptions

from slimmer.errors import CleanupFailed, EngineUnavailable, ImageNotFound, SlimmerError
from slimmer.runsettings import RunSettings

SESSION_LABEL = "io.slimmer.session"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
CHUNK = 1 << 20


def endpoint() -> str:
    """The engine address slimmer uses: DOCKER_HOST, else the default socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def _unreachable(exc: BaseException) -> EngineUnavailable:
    return EngineUnavailable(
        f"cannot reach a container engine at {endpoint()} ({_short(exc)})",
        "start dockerd (or podman system service) or set DOCKER_HOST, then check `docker info`",
    )


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

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.api = client.api

    @classmethod
    def connect(cls, timeout: int = 60) -> Engine:
        try:
            client = docker.from_env(version="auto", timeout=timeout)
            client.ping()
        except (
            docker.errors.DockerException,
            requests.exceptions.RequestException,
            OSError,
        ) as exc:
            raise _unreachable(exc) from None
        return cls(client)

    def close(self) -> None:
        self.client.close()

    # ---- engine facts -------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return self._call(self.api.version)

    def info(self) -> dict[str, Any]:
        return self._call(self.api.info)

    def published_host(self) -> str:
        """The host name where ports published by the engine can be reached."""
        url = urlparse(endpoint())
        if url.scheme in ("tcp", "http", "https", "ssh") and url.hostname:
            return url.hostname
        return "127.0.0.1"

    # ---- images ---------------------------------------------------------------------------

    def inspect_image(self, ref: str) -> ImageInfo:
        try:
            attrs = self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            raise ImageNotFound(
                f"image {ref!r} not found in the engine at {endpoint()}",
                "check the name with `docker images`, or pull or build it first",
            ) from None
        except docker.errors.APIError as exc:
            if exc.status_code in (400, 404):
                raise ImageNotFound(
                    f"image {ref!r} not found ({_short(exc)})",
                    "check the name with `docker images`",
                ) from None
            raise self._api_error(exc) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unreachable(exc) from None
        return ImageInfo(
            ref=ref,
            id=attrs["Id"],
            repo_tags=attrs.get("RepoTags") or [],
            repo_digests=attrs.get("RepoDigests") or [],
            size=int(attrs.get("Size") or 0),
            config=attrs.get("Config") or {},
            os=attrs.get("Os") or "linux",
            architecture=attrs.get("Architecture") or "",
            variant=attrs.get("Variant") or "",
            created=attrs.get("Created") or "",
            diff_ids=tuple((attrs.get("RootFS") or {}).get("Layers") or ()),
        )

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
        self._call(self.api.put_archive, container, directory, buffer.getvalue())

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
            raise _unreachable(exc) from None
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
            raise _unreachable(exc) from None

    def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except docker.errors.APIError as exc:
            raise self._api_error(exc) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unreachable(exc) from None

    @staticmethod
    def _api_error(exc: docker.errors.APIError) -> SlimmerError:
        detail = exc.explanation or str(exc)
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        return SlimmerError(f"the container engine said: {_short(Exception(detail))}")


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
