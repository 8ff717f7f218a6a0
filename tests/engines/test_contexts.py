"""Docker contexts, resolved as the docker CLI resolves them. The contexts are written by the
real docker CLI (`docker context create/use` into a DOCKER_CONFIG of the test), and slimmer's
choice is compared with what `docker context inspect` says, then used to reach the TLS engine."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from slimmer.endpoints import DOCKER_SOCKET, resolve_endpoint
from slimmer.errors import UsageError
from tests.e2e.helpers import slimmer
from tests.engines.services import Certificates, TlsEngine
from tests.prereq import unavailable


def docker_cli(config: Path, *args: str) -> str:
    if shutil.which("docker") is None:
        unavailable("the docker CLI is not installed")
    done = subprocess.run(["docker", "--config", str(config), *args], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "docker-config"
    directory.mkdir()
    return directory


def create_tls_context(config: Path, name: str, host: str, certs: Path) -> None:
    docker_cli(config, "context", "create", name, "--docker",
               f"host={host},ca={certs / 'ca.pem'},cert={certs / 'cert.pem'},"
               f"key={certs / 'key.pem'}")


def test_context_store_read_like_the_cli(config: Path, certificates: Certificates) -> None:
    certs = certificates.client_dir()
    create_tls_context(config, "remote", "tcp://192.0.2.7:2376", certs)
    docker_cli(config, "context", "create", "plain", "--docker", "host=unix:///run/other.sock")
    env = {"DOCKER_CONFIG": str(config)}
    for name in ("remote", "plain"):
        inspected = json.loads(docker_cli(config, "context", "inspect", name))[0]
        endpoint = resolve_endpoint(context=name, environ=env)
        assert endpoint.host == inspected["Endpoints"]["docker"]["Host"]
        assert endpoint.context == name
    remote = resolve_endpoint(context="remote", environ=env)
    assert remote.tls is not None and remote.tls.verify
    stored = Path(json.loads(docker_cli(config, "context", "inspect", "remote"))[0]
                  ["Storage"]["TLSPath"]) / "docker"
    assert (remote.tls.ca, remote.tls.cert, remote.tls.key) == (
        stored / "ca.pem", stored / "cert.pem", stored / "key.pem")
    assert (stored / "ca.pem").read_bytes() == (certs / "ca.pem").read_bytes()
    assert resolve_endpoint(context="plain", environ=env).tls is None


def test_precedence_follows_the_cli(config: Path) -> None:
    docker_cli(config, "context", "create", "one", "--docker", "host=tcp://192.0.2.1:2375")
    docker_cli(config, "context", "create", "two", "--docker", "host=tcp://192.0.2.2:2375")
    base = {"DOCKER_CONFIG": str(config)}
    assert resolve_endpoint(environ=base).host == DOCKER_SOCKET  # no current context yet
    docker_cli(config, "context", "use", "one")  # writes currentContext to config.json
    assert resolve_endpoint(environ=base).host == "tcp://192.0.2.1:2375"
    assert resolve_endpoint(environ={**base, "DOCKER_CONTEXT": "two"}).host == (
        "tcp://192.0.2.2:2375")
    # DOCKER_HOST means the default context, whatever DOCKER_CONTEXT and config say
    with_host = {**base, "DOCKER_CONTEXT": "two", "DOCKER_HOST": "tcp://192.0.2.9:2375"}
    assert resolve_endpoint(environ=with_host).host == "tcp://192.0.2.9:2375"
    # --context beats DOCKER_HOST; --engine-host beats everything else
    assert resolve_endpoint(context="two", environ=with_host).host == "tcp://192.0.2.2:2375"
    assert resolve_endpoint(engine_host="unix:///x.sock", environ=with_host).host == (
        "unix:///x.sock")
    # the CLI agrees on the current context
    shown = docker_cli(config, "context", "show").strip()
    assert shown == "one" == resolve_endpoint(environ=base).context


def test_context_errors_are_usage_errors(config: Path) -> None:
    env = {"DOCKER_CONFIG": str(config)}
    with pytest.raises(UsageError) as missing:
        resolve_endpoint(context="nowhere", environ=env)
    assert "docker context 'nowhere' (--context) not found" in missing.value.one_line()
    assert "docker context ls" in missing.value.one_line()
    with pytest.raises(UsageError, match="both name an engine"):
        resolve_endpoint(engine_host="tcp://h:1", context="x", environ=env)
    (config / "config.json").write_text("{not json")
    with pytest.raises(UsageError, match="is not valid JSON"):
        resolve_endpoint(environ=env)


def test_cli_usage_error_is_one_line(config: Path) -> None:
    done = slimmer("build", "any:1", "--context", "nowhere", env={"DOCKER_CONFIG": str(config)})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "docker context 'nowhere'" in done.stderr


@pytest.mark.docker
@pytest.mark.slow
def test_contexts_reach_the_tls_engine(config: Path, tls_engine: TlsEngine) -> None:
    """--context, DOCKER_CONTEXT and the current context each reach the TLS engine, with the
    context's TLS material; `docker` itself reaches it the same way."""
    create_tls_context(config, "tls", tls_engine.host, tls_engine.certificates.client_dir())
    version = tls_engine.engine.version()["Version"]
    assert docker_cli(config, "--context", "tls", "version", "--format",
                      "{{.Server.Version}}").strip() == version
    env = {"DOCKER_CONFIG": str(config)}
    runs = [
        slimmer("doctor", "--json", "--context", "tls", env=env),
        slimmer("doctor", "--json", env={**env, "DOCKER_CONTEXT": "tls"}),
    ]
    docker_cli(config, "context", "use", "tls")
    runs.append(slimmer("doctor", "--json", env=env))
    for done in runs:
        assert done.returncode == 0, done.stdout + done.stderr
        checks = {c["name"]: c for c in json.loads(done.stdout)}
        detail = checks["engine"]["detail"]
        assert f"{tls_engine.host} (context tls from" in detail and "TLS verified" in detail
        assert f"Docker {version}" in detail and "context tls" in detail
        assert checks["profiling container"]["ok"]
