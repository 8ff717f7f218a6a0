"""Fixtures: real servers from Debian packages on loopback, each started once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import servers
from .servers import LOOPBACK, free_port, need, running


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    """A directory other users can traverse (PostgreSQL runs as 'postgres', nginx workers)."""
    path = Path(tempfile.mkdtemp(prefix="slimmer-test-probes-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_files(scratch: Path) -> tuple[Path, Path]:
    directory = scratch / "tls"
    directory.mkdir()
    return servers.self_signed(directory)


@pytest.fixture(scope="session")
def site(scratch: Path) -> Path:
    root = scratch / "site"
    root.mkdir()
    return servers.write_site(root)


@pytest.fixture
def http_port(site: Path) -> Iterator[int]:
    with servers.serving(servers.site_server(site)) as port:
        yield port


@pytest.fixture
def https_port(site: Path, tls_files: tuple[Path, Path]) -> Iterator[int]:
    with servers.serving(servers.site_server(site, tls=tls_files)) as port:
        yield port


@pytest.fixture(scope="session")
def redis_port(scratch: Path) -> Iterator[int]:
    binary = need("redis-server")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
            "--dir", str(scratch), "--protected-mode", "no", "--daemonize", "no"]
    with running(argv, port, scratch / "redis.log"):
        yield port


@pytest.fixture(scope="session")
def redis_auth_port(scratch: Path) -> Iterator[int]:
    """A Redis that requires a password: PING answers -NOAUTH."""
    binary = need("redis-server")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
            "--dir", str(scratch), "--requirepass", "secret", "--daemonize", "no"]
    with running(argv, port, scratch / "redis-auth.log"):
        yield port


@pytest.fixture(scope="session")
def memcached_port(scratch: Path) -> Iterator[int]:
    binary = need("memcached")
    port = free_port()
    argv = [binary, "-l", LOOPBACK, "-p", str(port), "-U", "0", "-m", "16"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]
    with running(argv, port, scratch / "memcached.log"):
        yield port


@pytest.fixture(scope="session")
def postgres_port(scratch: Path, tls_files: tuple[Path, Path]) -> Iterator[int]:
    """PostgreSQL with TLS on, trust auth for 'postgres', scram-sha-256 for user 'other'."""
    initdb = need("/usr/lib/postgresql/*/bin/initdb", "initdb")
    postgres = str(Path(initdb).with_name("postgres"))
    user = servers.run_as()
    base = scratch / "pg"
    base.mkdir()
    servers.chown_to(base, user)
    data = base / "data"
    subprocess.run([initdb, "-D", str(data), "--auth=trust", "-U", "postgres", "-N"],
                   check=True, capture_output=True, user=user)
    (data / "pg_hba.conf").write_text("host all other 127.0.0.1/32 scram-sha-256\n"
                                      "host all all 127.0.0.1/32 trust\n")
    for source, name in zip(tls_files, ("server.crt", "server.key"), strict=True):
        shutil.copy(source, data / name)
        (data / name).chmod(0o600)
        servers.chown_to(data / name, user)
    port = free_port()
    argv = [postgres, "-D", str(data), "-p", str(port), "-k", str(base),
            "-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off", "-c", "ssl=on"]
    with running(argv, port, scratch / "postgres.log", user=user):
        yield port


@pytest.fixture(scope="session")
def mariadb_port(scratch: Path) -> Iterator[int]:
    install = need("mariadb-install-db", "mysql_install_db")
    server = need("mariadbd", "mysqld")
    data = scratch / "mariadb"
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run([install, "--no-defaults", f"--datadir={data}", "--skip-test-db",
                    "--auth-root-authentication-method=normal", *as_root],
                   check=True, capture_output=True)
    port = free_port()
    argv = [server, "--no-defaults", f"--datadir={data}", f"--port={port}",
            f"--bind-address={LOOPBACK}", f"--socket={data}/mysqld.sock", "--skip-name-resolve",
            "--skip-log-bin", "--innodb-buffer-pool-size=16M", *as_root]
    with running(argv, port, scratch / "mariadb.log"):
        yield port


@pytest.fixture(scope="session")
def nginx_tls_port(scratch: Path, site: Path, tls_files: tuple[Path, Path]) -> Iterator[int]:
    """nginx serving the site over TLS only: plain HTTP gets nginx's own 400 answer."""
    binary = need("nginx")
    prefix = scratch / "nginx"
    prefix.mkdir()
    port = free_port()
    temps = " ".join(f"{kind}_temp_path {prefix}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off; worker_processes 1; pid {prefix}/nginx.pid; error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off; {temps}
  types {{ text/html html; text/css css; }}
  server {{
    listen {LOOPBACK}:{port} ssl;
    ssl_certificate {tls_files[0]}; ssl_certificate_key {tls_files[1]};
    root {site};
  }}
}}
""")
    argv = [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    with running(argv, port, scratch / "nginx.log"):
        yield port


def _odd_server(handle: servers.Callable) -> Iterator[int]:
    server = servers.TcpServer(handle)
    with servers.serving(server) as port:
        yield port


@pytest.fixture
def closing_port() -> Iterator[int]:
    yield from _odd_server(servers.closes_at_once)


@pytest.fixture
def resetting_port() -> Iterator[int]:
    yield from _odd_server(servers.resets_at_once)


@pytest.fixture
def silent_port() -> Iterator[int]:
    stop = threading.Event()
    try:
        yield from _odd_server(servers.silent_until(stop))
    finally:
        stop.set()


@pytest.fixture
def banner_port() -> Iterator[int]:
    yield from _odd_server(servers.banner)


@pytest.fixture
def mongo_port() -> Iterator[int]:
    yield from _odd_server(servers.fake_mongo(knows_hello=True))


@pytest.fixture
def old_mongo_port() -> Iterator[int]:
    yield from _odd_server(servers.fake_mongo(knows_hello=False))


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> servers.FakeClock:
    """Waits and retries in slimmer.probes run on a fake clock (see ``servers.FakeClock``)."""
    from slimmer.probes import plan, wait

    clock = servers.FakeClock()
    monkeypatch.setattr(wait, "time", clock)
    monkeypatch.setattr(plan, "time", clock)
    return clock
