"""Real services the engine tests start and stop: a Podman API service, a second dockerd on a
loopback TCP port with TLS, the distribution registry. Each is a context manager that leaves
nothing behind (processes, storage, interfaces, temp directories).

Used by tests/engines/conftest.py (session-scoped fixtures) and bench/bench_engines.py.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from slimmer.endpoints import Endpoint, TlsFiles
from slimmer.engine import Engine
from slimmer.errors import EngineUnavailable

# Podman on these machines: root cannot raise rlimits (no CAP_SYS_RESOURCE in the bounding
# set), and crun refuses the hybrid cgroup layout; runc with no default ulimits works.
CONTAINERS_CONF = """\
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


class ServiceUnavailable(RuntimeError):
    """A tool is missing or a service did not come up (the message says which)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise ServiceUnavailable(
            f"{', '.join(missing)} not installed (scripts/install-deps.sh --test installs them)"
        )


def _stop(process: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_engine(endpoint: Endpoint, process: subprocess.Popen, log: Path, wait: float) -> Engine:
    deadline = time.monotonic() + wait
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise ServiceUnavailable(f"{endpoint.host} did not come up: {tail}")
        with contextlib.suppress(EngineUnavailable):
            return Engine.connect(timeout=120, endpoint=endpoint)
        time.sleep(0.3)


# ---- Podman ------------------------------------------------------------------------------------


@dataclass
class PodmanService:
    socket: str  # unix:///...
    engine: Engine
    env: dict[str, str]  # CONTAINERS_CONF and friends, for running the podman CLI beside it
    command: list[str]  # the podman CLI on this service's storage (as its user)

    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the podman CLI on this service's storage."""
        return subprocess.run(
            [*self.command, *args],
            env=self.env, capture_output=True, text=True, check=check, timeout=600,
        )


@contextlib.contextmanager
def podman_service(wait: float = 60) -> Iterator[PodmanService]:
    """A rootful `podman system service` on a socket and storage of its own (removed after)."""
    _need("podman")
    base = Path(tempfile.mkdtemp(prefix="slimmer-pm-", dir="/tmp"))
    conf = base / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    storage = ["--root", str(base / "root"), "--runroot", str(base / "run"),
               "--tmpdir", str(base / "tmp")]
    socket_url = f"unix://{base / 'podman.sock'}"
    log = base / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["podman", *storage, "system", "service", "--time=0", socket_url],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    engine = None
    service = PodmanService(socket_url, None, env, ["podman", *storage])  # type: ignore[arg-type]
    try:
        engine = _wait_engine(Endpoint(socket_url, origin="test"), process, log, wait)
        service.engine = engine
        yield service
    finally:
        if engine is not None:
            engine.close()
        _stop(process)
        # containers, images and their mounts of this storage only
        service.podman("system", "reset", "--force", check=False)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def rootless_podman_service(wait: float = 60) -> Iterator[PodmanService]:
    """`podman system service` run by a user created for it (with subordinate ids from
    useradd), so Podman is rootless: its containers live in a user namespace, where fanotify
    is refused. The service runs in a mount namespace of its own where /dev/net/tun is a node
    with mode 0666 (what udev gives it; slirp4netns opens it as the user), so the host's
    device is untouched. The user, its processes and its storage are removed afterwards."""
    _need("podman", "newuidmap", "newgidmap", "slirp4netns", "useradd", "userdel", "runuser",
          "unshare", "mknod")
    if os.geteuid() != 0:
        raise ServiceUnavailable("a rootless Podman test needs root to create its user")
    if not Path("/dev/net/tun").exists():
        raise ServiceUnavailable("no /dev/net/tun on this machine: slirp4netns needs it")
    base = Path(tempfile.mkdtemp(prefix="slimmer-rl-", dir="/tmp"))
    base.chmod(0o755)
    user = f"slimrl{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--create-home", "--home-dir", str(base / "home"), "--shell",
                    "/usr/sbin/nologin", user], check=True, capture_output=True)
    process = None
    engine = None
    uid = -1
    try:
        uid = pwd.getpwnam(user).pw_uid
        if f"{user}:" not in Path("/etc/subuid").read_text():
            raise ServiceUnavailable("useradd gave the test user no subordinate ids")
        run = base / "run"
        run.mkdir(mode=0o700)
        os.chown(run, uid, uid)
        conf = base / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        conf.chmod(0o644)
        (base / "dev").mkdir()
        env = {"HOME": str(base / "home"), "XDG_RUNTIME_DIR": str(run),
               "CONTAINERS_CONF": str(conf), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        as_user = ["runuser", "-u", user, "--", "env", *(f"{k}={v}" for k, v in env.items())]
        socket_url = f"unix://{run / 'podman.sock'}"
        dev = base / "dev"
        script = (f"mount -t tmpfs tmpfs {dev} && mknod -m 666 {dev}/tun c 10 200 && "
                  f"mount --bind {dev}/tun /dev/net/tun && exec \"$@\"")
        log = base / "service.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                 *as_user, "podman", "system", "service", "--time=0", socket_url],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        engine = _wait_engine(Endpoint(socket_url, origin="test"), process, log, wait)
        yield PodmanService(socket_url, engine, dict(os.environ), [*as_user, "podman"])
    finally:
        if engine is not None:
            engine.close()
        if process is not None:
            _stop(process)
        if uid >= 0:
            subprocess.run(["runuser", "-u", user, "--", "env", f"HOME={base / 'home'}",
                            f"XDG_RUNTIME_DIR={base / 'run'}", "podman", "system", "reset",
                            "--force"], capture_output=True, check=False, timeout=300)
            _kill_processes_of(uid)
        subprocess.run(["userdel", "--remove", user], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def _kill_processes_of(uid: int) -> None:
    """SIGKILL, by pid, every process of ``uid`` (a user the test created: Podman's pause
    process, conmon, slirp4netns)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    os.kill(int(entry.name), signal.SIGKILL)


# ---- TLS dockerd -------------------------------------------------------------------------------


@dataclass
class Certificates:
    directory: Path  # ca.pem, cert.pem, key.pem (client); server-cert.pem, server-key.pem

    def client_dir(self) -> Path:
        return self.directory / "client"


def make_certificates(directory: Path, name: str = "slimmer-test") -> Certificates:
    """A CA, a server certificate for 127.0.0.1, and a client certificate signed by it, made
    with openssl; the client files are also in ``client/`` as DOCKER_CERT_PATH expects them."""
    _need("openssl")
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    def key(path: str) -> None:
        openssl("ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", path)

    key("ca-key.pem")
    openssl("req", "-x509", "-new", "-key", "ca-key.pem", "-days", "2", "-subj",
            f"/CN={name}-ca", "-out", "ca.pem")
    for role, subject, extensions in (
        ("server", "/CN=127.0.0.1",
         "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
        ("client", f"/CN={name}-client", "extendedKeyUsage=clientAuth\n"),
    ):
        key(f"{role}-key.pem")
        (directory / f"{role}.ext").write_text(extensions)
        openssl("req", "-new", "-key", f"{role}-key.pem", "-subj", subject, "-out", f"{role}.csr")
        openssl("x509", "-req", "-in", f"{role}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-extfile", f"{role}.ext",
                "-out", f"{role}-cert.pem")
    client = directory / "client"
    client.mkdir(exist_ok=True)
    shutil.copy(directory / "ca.pem", client / "ca.pem")
    shutil.copy(directory / "client-cert.pem", client / "cert.pem")
    shutil.copy(directory / "client-key.pem", client / "key.pem")
    return Certificates(directory)


@dataclass
class TlsEngine:
    host: str  # tcp://127.0.0.1:PORT
    certificates: Certificates
    engine: Engine
    log: Path  # dockerd's debug log: every API call it served

    def env(self) -> dict[str, str]:
        """The environment that names this engine, as a user would set it."""
        return {
            "DOCKER_HOST": self.host,
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_CERT_PATH": str(self.certificates.client_dir()),
        }


def _free_subnet() -> ipaddress.IPv4Network:
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    used = [ipaddress.ip_network(w, strict=False) for w in routes.split() if "/" in w]
    for _ in range(200):
        candidate = ipaddress.ip_network(f"10.{random.randrange(100, 250)}."
                                         f"{random.randrange(0, 255)}.0/24")
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise ServiceUnavailable("no free 10.x.y.0/24 subnet for the test engine's bridge")


@contextlib.contextmanager
def tls_dockerd(certificates: Certificates, wait: float = 90) -> Iterator[TlsEngine]:
    """A second dockerd listening only on tcp://127.0.0.1:PORT with --tlsverify, on its own
    data root, exec root and bridge (no iptables: published ports go through docker-proxy),
    in a mount namespace of its own. The shared engine is not touched."""
    _need("dockerd", "unshare", "ip")
    base = Path(tempfile.mkdtemp(prefix="slimmer-tls-", dir="/tmp"))
    port = free_port()
    bridge = f"slmtls{secrets.token_hex(3)}"
    subnet = _free_subnet()
    gateway = f"{next(subnet.hosts())}/{subnet.prefixlen}"
    subprocess.run(["ip", "link", "add", "name", bridge, "type", "bridge"], check=True)
    log = base / "dockerd.log"
    process = None
    engine = None
    try:
        subprocess.run(["ip", "addr", "add", gateway, "dev", bridge], check=True)
        subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
        (base / "daemon.json").write_text(json.dumps({}))
        certs = certificates.directory
        command = [
            "unshare", "--mount", "--propagation", "private",
            "dockerd", "--config-file", str(base / "daemon.json"), "--debug",
            "--host", f"tcp://127.0.0.1:{port}", "--tlsverify",
            "--tlscacert", str(certs / "ca.pem"), "--tlscert", str(certs / "server-cert.pem"),
            "--tlskey", str(certs / "server-key.pem"),
            "--data-root", str(base / "data"), "--exec-root", str(base / "exec"),
            "--pidfile", str(base / "d.pid"), "--bridge", bridge, "--iptables=false",
            "--ip-masq=false", "--cgroup-parent", "slimmer-tls", "--storage-driver", "overlay2",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        host = f"tcp://127.0.0.1:{port}"
        client = certificates.client_dir()
        endpoint = Endpoint(host, TlsFiles(client / "ca.pem", client / "cert.pem",
                                           client / "key.pem", verify=True), origin="test")
        engine = _wait_engine(endpoint, process, log, wait)
        yield TlsEngine(host, certificates, engine, log)
    finally:
        if engine is not None:
            engine.close()
        if process is not None:
            _stop(process)
        subprocess.run(["ip", "link", "delete", bridge], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


# ---- registry ----------------------------------------------------------------------------------


@dataclass
class Registry:
    address: str  # 127.0.0.1:PORT
    directory: Path


def htpasswd_line(user: str, password: str) -> str:
    import bcrypt

    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=6)).decode()}\n"


@contextlib.contextmanager
def registry(
    users: dict[str, str] | None = None, read_only: bool = False, wait: float = 30
) -> Iterator[Registry]:
    """Debian's docker-registry (the distribution registry) on 127.0.0.1 and a free port, plain
    HTTP (engines treat loopback registries as insecure), storage in a temp directory;
    ``users`` turns on htpasswd auth, ``read_only`` refuses every push."""
    _need("docker-registry")
    base = Path(tempfile.mkdtemp(prefix="slimmer-registry-", dir="/tmp"))
    port = free_port()
    storage: dict = {"filesystem": {"rootdirectory": str(base / "data")},
                     "delete": {"enabled": True}}
    if read_only:
        storage["maintenance"] = {"readonly": {"enabled": True}}
    config: dict = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": storage,
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if users:
        (base / "htpasswd").write_text("".join(htpasswd_line(u, p) for u, p in users.items()))
        config["auth"] = {"htpasswd": {"realm": "slimmer-test", "path": str(base / "htpasswd")}}
    (base / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    log = base / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(base / "config.yml")],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + wait
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code in (
                    200, 401,
                ):
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"the registry did not come up: {log.read_text(errors='replace')[-1000:]}"
                )
            time.sleep(0.2)
        yield Registry(f"127.0.0.1:{port}", base)
    finally:
        _stop(process)
        shutil.rmtree(base, ignore_errors=True)
