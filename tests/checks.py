"""Functional checks of the fixture images, for any image reference (the original or a slim one).

``CHECKS[name](engine, ref)`` starts a container from ``ref`` (labelled, always removed), waits
for it with bounded backoff, and compares exact bodies, output and protocol replies with what the
fixture must do. A mismatch raises AssertionError saying what differed.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from slimmer.engine import Engine

T = TypeVar("T")
Check = Callable[[Engine, str], None]

SITE = Path(__file__).resolve().parent.parent / "fixtures" / "files" / "nginx" / "site"
READY_TIMEOUT = 60.0
EXIT_TIMEOUT = 60.0
TOOL = "/usr/bin/fixture-tool"


# ---- helpers -----------------------------------------------------------------------------------


@contextmanager
def running(engine: Engine, ref: str, ports: list[str] | None = None) -> Iterator[str]:
    """A started container of ``ref`` labelled with a fresh session; removed afterwards."""
    session = f"fixture-check-{uuid.uuid4().hex[:12]}"
    container = engine.create_container(ref, session=session, ports=ports)
    try:
        engine.start(container)
        yield container
    finally:
        engine.remove_session(session)


def retry(
    engine: Engine, container: str, attempt: Callable[[], T], what: str,
    timeout: float = READY_TIMEOUT,
) -> T:
    """``attempt()`` until it returns without an OSError or AssertionError, with backoff from
    50 ms to 1 s, for at most ``timeout`` seconds; fails at once if the container exits."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return attempt()
        except (OSError, AssertionError, http.client.HTTPException) as exc:
            state = engine.state(container)
            if not state.get("Running"):
                raise AssertionError(
                    f"{what}: the container exited with {state.get('ExitCode')}: "
                    f"{engine.logs(container, tail=20).decode(errors='replace')[-1500:]}"
                ) from None
            if time.monotonic() + delay > deadline:
                raise AssertionError(f"{what}: not ready after {timeout:.0f}s ({exc})") from None
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def expect(label: str, got: object, want: object) -> None:
    if got != want:
        raise AssertionError(f"{label}: expected {want!r}, got {got!r}")


def host_port(engine: Engine, container: str, port: str) -> tuple[str, int]:
    return engine.published_host(), engine.published_ports(container)[port]


def http_get(address: tuple[str, int], path: str) -> tuple[int, str, bytes]:
    """One GET on a fresh connection: status, content type, body."""
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def expect_get(
    address: tuple[str, int], path: str, status: int, content_type: str, body: bytes
) -> None:
    got_status, got_type, got_body = http_get(address, path)
    expect(f"GET {path} status", got_status, status)
    expect(f"GET {path} content type", got_type, content_type)
    expect(f"GET {path} body", got_body, body)


def process_uids(engine: Engine, container: str) -> list[tuple[int, str]]:
    """(uid, command line) of every process of the container, as the host sees them."""
    top = engine.api.top(container, ps_args="-o pid,uid,args")
    uid_at = top["Titles"].index("UID")
    args_at = top["Titles"].index("COMMAND") if "COMMAND" in top["Titles"] else -1
    return [(int(row[uid_at]), row[args_at]) for row in top["Processes"]]


def stop(engine: Engine, container: str) -> int:
    """`docker stop` (the image's stop signal, then SIGKILL after 10 s); the exit code."""
    engine.api.stop(container, timeout=10)
    return int(engine.state(container)["ExitCode"])


def run_to_end(engine: Engine, ref: str) -> tuple[int, bytes, bytes]:
    """Run the image's command to completion: exit code, stdout, stderr."""
    with running(engine, ref) as container:
        status = engine.wait(container, timeout=EXIT_TIMEOUT)
        if status is None:
            raise AssertionError(f"{ref} still running after {EXIT_TIMEOUT:.0f}s")
        stderr = engine.api.logs(container, stdout=False, stderr=True)
        return status, engine.stdout(container), stderr


def expect_run(engine: Engine, ref: str, stdout: bytes) -> None:
    status, out, err = run_to_end(engine, ref)
    expect(f"{ref} stdout", out.decode(errors="replace"), stdout.decode())
    expect(f"{ref} stderr", err, b"")
    expect(f"{ref} exit code", status, 0)


# ---- realistic images --------------------------------------------------------------------------

ACCESS_LINE = re.compile(rb'^\S+ - - \[[^]]+\] "GET (\S+) HTTP/1\.1" (\d{3}) \d+ ')


def check_nginx(engine: Engine, ref: str) -> None:
    with running(engine, ref, ports=["80/tcp"]) as container:
        address = host_port(engine, container, "80/tcp")
        retry(engine, container, lambda: expect_get(
            address, "/", 200, "text/html", (SITE / "index.html").read_bytes()
        ), "nginx GET /")
        expect_get(address, "/about.html", 200, "text/html", (SITE / "about.html").read_bytes())
        expect_get(address, "/css/site.css", 200, "text/css", (SITE / "css/site.css").read_bytes())
        expect_get(address, "/missing.html", 404, "text/html", (SITE / "404.html").read_bytes())
        uids = sorted({uid for uid, args in process_uids(engine, container) if "worker" in args})
        expect("nginx worker uids (www-data)", uids, [33])
        # the access log is a symlink to /dev/stdout: one line per request, in order
        requests = retry(engine, container, lambda: _access_log(engine, container, 4),
                         "nginx access log", timeout=10)
        expect("nginx access log", requests, [
            (b"/", b"200"), (b"/about.html", b"200"), (b"/css/site.css", b"200"),
            (b"/missing.html", b"404"),
        ])
        expect("nginx exit code on docker stop", stop(engine, container), 0)


def _access_log(engine: Engine, container: str, count: int) -> list[tuple[bytes, bytes]]:
    lines = [ACCESS_LINE.match(line) for line in engine.stdout(container).splitlines()]
    found = [(m.group(1), m.group(2)) for m in lines if m]
    assert len(found) >= count, f"{len(found)} access log lines"
    return found


PYTHON_APP_ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/health": (200, "text/plain; charset=utf-8", b"ok\n"),
    "/hash?text=slimmer": (200, "application/json", b'{"blake2b": "78967a445a6bdf4b153faa8bbf69cdff", "md5": "c1e6268e32358d08b4185e5f8f0a6370", "sha256": "59cf8e8c24e0f31ecdb3e71a1cdc82eb883e127d29b2513bc906b556b34a2116", "text": "slimmer"}\n'),  # noqa: E501
    "/db": (200, "application/json", b'{"kinds": [["fruit", 2, 7], ["veg", 2, 8]], "sqlite": 3}\n'),
    "/zlib": (200, "application/json", b'{"adler32": 1697743161, "base64_head": "eNoLyUhVKCzNTM5WSCrKL89T", "compressed": 57, "crc32": 3809416891, "length": 360, "round_trip": true}\n'),  # noqa: E501
    "/time": (200, "application/json", b'{"America/New_York": "2024-03-10T08:00:00-04:00", "Asia/Tokyo": "2024-03-10T21:00:00+09:00", "Australia/Sydney": "2024-03-10T23:00:00+11:00", "Europe/Paris": "2024-03-10T13:00:00+01:00", "UTC": "2024-03-10T12:00:00+00:00"}\n'),  # noqa: E501
    "/decimal": (200, "application/json", b'{"price": "59.97", "sqrt2": "1.414213562373095048801688724", "third": "0.3333333333333333333333333333"}\n'),  # noqa: E501
    "/people": (200, "application/json", b'{"cities": ["Arlington", "Berkeley", "Boston", "Helsinki", "London"], "count": 6, "mean_age": 39.166666666666664, "median_age": 39.0}\n'),  # noqa: E501
    "/regex": (200, "application/json", b'{"matches": [["2024-03-10", "ERROR", "disk full"], ["2024-03-11", "WARN", "slow"], ["2024-03-12", "ERROR", "timeout"]]}\n'),  # noqa: E501
    "/uuid": (200, "application/json", b'{"nginx": "e989582d-23fb-59b8-bb5b-66acea1d0ff0", "redis": "feba286a-a5f2-59ac-89e1-fae5be76aff1", "slimmer": "ed2b5b26-942d-5d0c-8aa2-33314f2bcec4"}\n'),  # noqa: E501
    "/nope": (404, "application/json", b'{"error": "not found", "path": "/nope"}\n'),
}
PYTHON_APP_INDEX_LINKS = [
    "/hash", "/db", "/zlib", "/time", "/decimal", "/people", "/regex", "/uuid",
]


def check_python_app(engine: Engine, ref: str) -> None:
    with running(engine, ref, ports=["8000/tcp"]) as container:
        address = host_port(engine, container, "8000/tcp")
        retry(engine, container, lambda: expect_get(address, *_route("/health")), "app /health")
        status, content_type, body = http_get(address, "/")
        expect("GET / status", (status, content_type), (200, "text/html; charset=utf-8"))
        links = re.findall(rb'<a href="([^"]+)">', body)
        expect("GET / links", [link.decode() for link in links], PYTHON_APP_INDEX_LINKS)
        for path in PYTHON_APP_ROUTES:
            expect_get(address, *_route(path))
        expect("app process uids", {uid for uid, _ in process_uids(engine, container)}, {10001})
        expect("app exit code on docker stop", stop(engine, container), 0)


def _route(path: str) -> tuple[str, int, str, bytes]:
    return (path, *PYTHON_APP_ROUTES[path])


REDIS_CONVERSATION: list[tuple[list[str], bytes]] = [
    (["PING"], b"+PONG\r\n"),
    (["SET", "fixture:key", "hello world"], b"+OK\r\n"),
    (["GET", "fixture:key"], b"$11\r\nhello world\r\n"),
    (["INCR", "fixture:counter"], b":1\r\n"),
    (["INCRBY", "fixture:counter", "41"], b":42\r\n"),
    (["RPUSH", "fixture:list", "a", "b", "c"], b":3\r\n"),
    (["LRANGE", "fixture:list", "0", "-1"], b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    (["HSET", "fixture:hash", "f1", "v1", "f2", "v2"], b":2\r\n"),
    (["HGET", "fixture:hash", "f2"], b"$2\r\nv2\r\n"),
    (["EXISTS", "fixture:missing"], b":0\r\n"),
    (["DEL", "fixture:key"], b":1\r\n"),
    (["GET", "fixture:key"], b"$-1\r\n"),
    (["CONFIG", "GET", "protected-mode"], b"*2\r\n$14\r\nprotected-mode\r\n$2\r\nno\r\n"),
    (["CONFIG", "GET", "dir"], b"*2\r\n$3\r\ndir\r\n$14\r\n/var/lib/redis\r\n"),
    (["NOPE"], b"-ERR unknown command 'NOPE', with args beginning with: \r\n"),
]


def resp(words: list[str]) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        parts.append(f"${len(word.encode())}\r\n{word}\r\n".encode())
    return b"".join(parts)


class RedisConnection:
    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.buffer = b""

    def ask(self, words: list[str], want: bytes) -> None:
        """Send a command; the reply must be exactly ``want`` (read exactly that many bytes)."""
        self.sock.sendall(resp(words))
        while len(self.buffer) < len(want):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("redis closed the connection")
            self.buffer += chunk
            if self.buffer.startswith((b"-", b"+")) and b"\r\n" in self.buffer:
                break  # a whole status or error line, maybe not the one expected
        reply, self.buffer = self.buffer[: len(want)], self.buffer[len(want):]
        expect(f"redis {' '.join(words)}", reply, want)

    def close(self) -> None:
        self.sock.close()


def check_redis(engine: Engine, ref: str) -> None:
    with running(engine, ref, ports=["6379/tcp"]) as container:
        address = host_port(engine, container, "6379/tcp")
        client = retry(engine, container, lambda: _redis_ready(address), "redis PING")
        try:
            for words, want in REDIS_CONVERSATION:
                client.ask(words, want)
        finally:
            client.close()
        uids = {uid for uid, _ in process_uids(engine, container)}
        assert 0 not in uids and len(uids) == 1, f"redis runs as uids {uids}, expected one non-root"
        # a clean stop saves the dataset in the working directory: it must be writable
        expect("redis exit code on docker stop", stop(engine, container), 0)
        logs = engine.logs(container)
        assert b"DB saved on disk" in logs, f"redis did not save on stop: {logs[-500:]!r}"


def _redis_ready(address: tuple[str, int]) -> RedisConnection:
    client = RedisConnection(address)
    try:
        client.ask(["PING"], b"+PONG\r\n")
    except BaseException:
        client.close()
        raise
    return client


BATCH_REPORT = b"""\
== sales report ==
rows: 10
== revenue by region ==
east 105.00
north 69.10
south 153.70
west 70.00
== largest orders ==
steel-sprocket: 150
steel-sprocket: 60
copper-coil: 44
== products ==
BLUE WIDGET;COPPER COIL;GREEN GADGET;RED WIDGET;STEEL SPROCKET
== archive ==
gzip round trip: ok
sha256: 8eb5d4a562cb6108
epoch 1700000000: 2023-11-14 22:13:20 UTC
sum of squares 1..10: 385
== done ==
"""


def check_batch(engine: Engine, ref: str) -> None:
    expect_run(engine, ref, BATCH_REPORT)


FLASK_BOOKS = (
    b'[{"author":"Ursula K. Le Guin","id":1,"title":"The Left Hand of Darkness","year":1969},'
    b'{"author":"Octavia E. Butler","id":2,"title":"Kindred","year":1979},'
    b'{"author":"Stanislaw Lem","id":3,"title":"Solaris","year":1961}]\n'
)
FLASK_INDEX = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Books</title></head>
<body>
<h1>3 books</h1>
<ul>
  <li><a href="/api/books/1">The Left Hand of Darkness</a> by Ursula K. Le Guin (1969)</li>
  <li><a href="/api/books/2">Kindred</a> by Octavia E. Butler (1979)</li>
  <li><a href="/api/books/3">Solaris</a> by Stanislaw Lem (1961)</li>
</ul>
<p><a href="/api/books">all as JSON</a></p>
</body>
</html>"""
FLASK_ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/": (200, "text/html; charset=utf-8", FLASK_INDEX),
    "/health": (200, "text/plain; charset=utf-8", b"ok\n"),
    "/api/books": (200, "application/json", FLASK_BOOKS),
    "/api/books?since=1970": (
        200, "application/json",
        b'[{"author":"Octavia E. Butler","id":2,"title":"Kindred","year":1979}]\n',
    ),
    "/api/books/3": (
        200, "application/json",
        b'{"author":"Stanislaw Lem","id":3,"title":"Solaris","year":1961}\n',
    ),
    "/api/books/9": (404, "application/json", b'{"error": "not found", "path": "/api/books/9"}\n'),
}
FLASK_DIGEST = (  # POST /api/digest with body "hello"
    b'{"length":5,"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}\n'
)


def http_post(address: tuple[str, int], path: str, body: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("POST", path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def check_flask_app(engine: Engine, ref: str) -> None:
    """Every route answers exactly; as PID 1 the development server ignores SIGTERM, so a stop
    ends with SIGKILL (137) after the stop timeout."""
    with running(engine, ref, ports=["5000/tcp"]) as container:
        address = host_port(engine, container, "5000/tcp")
        retry(engine, container, lambda: expect_get(address, "/health", *FLASK_ROUTES["/health"]),
              "flask /health")
        for path, (status, content_type, body) in FLASK_ROUTES.items():
            expect_get(address, path, status, content_type, body)
        expect("POST /api/digest", http_post(address, "/api/digest", b"hello"), (200, FLASK_DIGEST))
        engine.api.stop(container, timeout=1)
        expect("flask exit code on docker stop", engine.state(container)["ExitCode"], 137)


OPENSSL_RUNS: dict[str, bytes] = {
    "dgst -sha256 /data/sample.txt": b"SHA2-256(/data/sample.txt)= "
    b"e2b4871648ac0025d717981bb0f58ff869a22396462d97ee3fa9082fc4ee7992\n",
    "enc -base64 -in sample.txt": (  # relative to the working directory
        b"c2xpbW1lciBmaXh0dXJlOiBhIHNtYWxsIHRleHQgZm9yIG9wZW5zc2wKbGluZSB0\nd28K\n"
    ),
    "x509 -in /data/cert.pem -noout -subject -issuer": b"subject=CN = slimmer-fixture\n"
    b"issuer=CN = slimmer-fixture\n",
}


def run_command(engine: Engine, ref: str, command: list[str]) -> tuple[int, bytes, bytes]:
    """Run the image with ``command`` as CMD to completion: exit code, stdout, stderr."""
    session = f"fixture-check-{uuid.uuid4().hex[:12]}"
    try:
        container = engine.create_container(ref, session=session, command=command)
        engine.start(container)
        status = engine.wait(container, timeout=EXIT_TIMEOUT)
        if status is None:
            raise AssertionError(f"{ref} {command} still running after {EXIT_TIMEOUT:.0f}s")
        stderr = engine.api.logs(container, stdout=False, stderr=True)
        return status, engine.stdout(container), stderr
    finally:
        engine.remove_session(session)


def check_openssl_cli(engine: Engine, ref: str) -> None:
    """The three subcommands (each as the CMD after the openssl ENTRYPOINT) print exactly."""
    for command, want in OPENSSL_RUNS.items():
        status, out, err = run_command(engine, ref, command.split())
        expect(f"openssl {command}: stdout", out, want)
        expect(f"openssl {command}: stderr", err, b"")
        expect(f"openssl {command}: exit code", status, 0)


# ---- crafted images (their default command) ----------------------------------------------------


def check_crafted_layers(engine: Engine, ref: str) -> None:
    expect_run(engine, ref, b"version 3\nre-added in layer 2\nonly file of the opaque dir\n"
                            b"directory re-created in layer 2\n")


def check_crafted_links(engine: Engine, ref: str) -> None:
    expect_run(engine, ref, b"hardlinked content\nrelease 2\nhardlinked content\n"
                            b"hardlinked content\nnot really a library\n")


def check_crafted_caps(engine: Engine, ref: str) -> None:
    expect_run(engine, ref, b"/usr/bin/bind-tool security.capability="
                            b"0100000200040000000000000000000000000000\n")


CONFIG_EXEC_OUTPUT = f"""\
argv[0]={TOOL}
cwd=/srv/app
uid=1234 gid=1234 groups=1234,2345
env PATH=/usr/local/bin:/usr/bin:/bin
env APP_MODE=production
env APP_GREETING=hello world
env EMPTY=
env HOME=/home/svc
"""


def check_crafted_config(engine: Engine, ref: str) -> None:
    """Runs as svc in /srv/app with the image's env, becomes healthy, stops on SIGINT."""
    with running(engine, ref) as container:
        retry(engine, container, lambda: _logged(engine, container, b"ready\n"), "tool ready")
        code, output = engine.exec_run(container, [TOOL])
        shown = b"".join(line for line in output.splitlines(keepends=True)
                         if not line.startswith(b"env HOSTNAME="))
        expect("exec fixture-tool output", shown.decode(), CONFIG_EXEC_OUTPUT)
        expect("exec fixture-tool exit code", code, 0)
        retry(engine, container, lambda: expect(
            "health", engine.state(container).get("Health", {}).get("Status"), "healthy"
        ), "health check", timeout=30)
        expect("exit code on docker stop", stop(engine, container), 0)
        expect("output after docker stop (SIGINT)", engine.stdout(container), b"ready\nsignal 2\n")


def _logged(engine: Engine, container: str, want: bytes) -> None:
    expect("container output", engine.stdout(container), want)


JVM_APP_ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/": (200, "text/html",
          b'<a href="/hash">hash</a> <a href="/zip">zip</a> <a href="/time">time</a>\n'),
    "/hash": (200, "text/plain", b"sha256=59cf8e8c24e0f31ecdb3e71a1cdc82eb883e127d29b2513bc906b556b34a2116 md5=c1e6268e32358d08b4185e5f8f0a6370\n"),  # noqa: E501
    "/zip": (200, "text/plain", b"length=512 crc32=1344091997 deflated=21\n"),
    "/time": (200, "text/plain", b"UTC 2024-03-10T12:00:00Z\n"
              b"Europe/Paris 2024-03-10T13:00:00+01:00\nAsia/Tokyo 2024-03-10T21:00:00+09:00\n"
              b"America/New_York 2024-03-10T08:00:00-04:00\n"),
    "/nope": (404, "text/plain", b"not found\n"),
}


def check_jvm_app(engine: Engine, ref: str) -> None:
    with running(engine, ref, ports=["8080/tcp"]) as container:
        address = host_port(engine, container, "8080/tcp")
        retry(engine, container, lambda: expect_get(address, "/", *JVM_APP_ROUTES["/"]),
              "jvm-app GET /")
        for path, (status, content_type, body) in JVM_APP_ROUTES.items():
            expect_get(address, path, status, content_type, body)
        expect("jvm-app stdout", engine.stdout(container), b"listening on 8080\n")
        expect("jvm-app exit code on docker stop", stop(engine, container), 143)
# ---- services: PostgreSQL, an app that needs it, health checks ---------------------------------

PG_APP_COMPOSE = (
    Path(__file__).resolve().parent.parent / "fixtures" / "files" / "pg-app" / "compose.yaml"
)
POSTGRES_ENV = ["POSTGRES_USER=fixture", "POSTGRES_PASSWORD=fixture-pw", "POSTGRES_DB=shop"]


def psql(address: tuple[str, int], sql: str, password: str = "fixture-pw") -> str:
    """Run ``sql`` with the host's psql (a real client) as user fixture on database shop."""
    done = subprocess.run(
        ["psql", "-h", address[0], "-p", str(address[1]), "-U", "fixture", "-d", "shop",
         "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env=dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5"),
        capture_output=True, text=True, timeout=30, check=False,
    )
    if done.returncode != 0:
        raise OSError(f"psql failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return done.stdout


def check_postgres(engine: Engine, ref: str) -> None:
    """Initialises from POSTGRES_*, answers SQL over TCP with password auth, stops cleanly."""
    session = f"fixture-check-{uuid.uuid4().hex[:12]}"
    container = engine.create_container(
        ref, session=session, ports=["5432/tcp"], environment=POSTGRES_ENV
    )
    try:
        engine.start(container)
        address = host_port(engine, container, "5432/tcp")
        who = retry(engine, container, lambda: psql(address, "SELECT current_user, "
                    "current_database(), current_setting('server_version_num')::int / 10000"),
                    "postgres SELECT")
        expect("postgres identity", who, "fixture|shop|15\n")
        rows = psql(address, "CREATE TABLE t (n int, s text); "
                    "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100) g; "
                    "SELECT count(*), sum(n), min(s) FROM t; SELECT upper('ärger'), now() > "
                    "'2020-01-01'::timestamptz, to_char(12345.6, '99G999D9')")
        # locale C (initdb --locale=C): upper() maps ASCII letters only
        expect("postgres queries", rows, "100|5050|02e74f10e0327ad868d138f2b4fdd6f0\n"
               "äRGER|t| 12,345.6\n")
        try:
            psql(address, "SELECT 1", password="wrong")
        except OSError as exc:
            assert "password authentication failed" in str(exc), str(exc)
        else:
            raise AssertionError("postgres accepted a wrong password")
        expect("postgres exit code on docker stop", stop(engine, container), 0)
    finally:
        engine.remove_session(session)


PG_APP_ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/health": (200, "text/plain; charset=utf-8", b"ok\n"),
    "/items": (200, "application/json", b'[{"name": "apple", "kind": "fruit", "cents": 300}, {"name": "kale", "kind": "veg", "cents": 610}, {"name": "leek", "kind": "veg", "cents": 180}, {"name": "pear", "kind": "fruit", "cents": 420}]\n'),  # noqa: E501
    "/kinds": (200, "application/json", b'[{"kind": "fruit", "count": 2, "cents": 720}, {"kind": "veg", "count": 2, "cents": 790}]\n'),  # noqa: E501
    "/version": (200, "application/json", b'{"server": "15", "encoding": "UTF8"}\n'),
    "/nope": (404, "application/json", b'{"error": "not found"}\n'),
}


def check_pg_app(engine: Engine, ref: str) -> None:
    """In the compose setup of fixtures/files/pg-app (with the postgres fixture): the app
    connects at startup and answers from the database; without DATABASE_URL it exits at once."""
    from fixtures import ensure_image
    from slimmer.compose import compose_command

    project = f"fixture-check-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, APP_IMAGE=ref, DB_IMAGE=ensure_image("postgres"),
               DB_PASSWORD=uuid.uuid4().hex)
    base = [*compose_command(), "-f", str(PG_APP_COMPOSE), "-p", project]

    def compose(*args: str) -> str:
        done = subprocess.run([*base, *args], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            raise AssertionError(f"compose {args[0]} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    try:
        compose("up", "-d", "app")
        app = compose("ps", "-q", "app").strip()
        address = _published(compose("port", "app", "8000"))
        retry(engine, app, lambda: expect_get(address, "/health", *PG_APP_ROUTES["/health"]),
              "pg-app /health")
        for path, want in PG_APP_ROUTES.items():
            expect_get(address, path, *want)
        status, _, page = http_get(address, "/")
        expect("pg-app / links", re.findall(rb'href="([^"]+)"', page),
               [b"/items", b"/kinds", b"/version"])
        expect("pg-app exit code on docker stop", stop(engine, app), 0)
    finally:
        compose("down", "-v", "-t", "5")
    status, _, err = _run_alone(engine, ref)
    expect("pg-app without DATABASE_URL: exit code", status, 1)
    assert b"DATABASE_URL is not set" in err, err


def _published(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    return ("127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host), int(port)


def _run_alone(engine: Engine, ref: str) -> tuple[int, bytes, bytes]:
    with running(engine, ref) as container:
        status = engine.wait(container, timeout=EXIT_TIMEOUT)
        stderr = engine.api.logs(container, stdout=False, stderr=True)
        return status if status is not None else -1, engine.stdout(container), stderr


HEALTH_PAGE = (b"<!DOCTYPE html>\n<html><body><h1>status service</h1><p>all systems go</p>"
               b"</body></html>\n")


def check_health(engine: Engine, ref: str) -> None:
    """Serves its page and becomes healthy by the engine's own HEALTHCHECK schedule."""
    with running(engine, ref, ports=["8080/tcp"]) as container:
        address = host_port(engine, container, "8080/tcp")
        retry(engine, container, lambda: expect_get(
            address, "/", 200, "text/html; charset=utf-8", HEALTH_PAGE), "status page")
        expect_get(address, "/health", 200, "application/json", b'{"status": "ok"}\n')
        retry(engine, container, lambda: expect(
            "health", engine.state(container).get("Health", {}).get("Status"), "healthy"
        ), "health check", timeout=60)
        last = engine.state(container)["Health"]["Log"][-1]
        expect("health check exit code", last["ExitCode"], 0)
        expect("exit code on docker stop", stop(engine, container), 0)


CHECKS: dict[str, Check] = {
    "nginx": check_nginx,
    "python-app": check_python_app,
    "redis": check_redis,
    "batch": check_batch,
    "jvm-app": check_jvm_app,
    "flask-app": check_flask_app,
    "openssl-cli": check_openssl_cli,
    "crafted-layers": check_crafted_layers,
    "crafted-links": check_crafted_links,
    "crafted-caps": check_crafted_caps,
    "crafted-config": check_crafted_config,
    "postgres": check_postgres,
    "pg-app": check_pg_app,
    "health-exec": check_health,
    "health-shell": check_health,
}
