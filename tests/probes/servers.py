"""Real servers for the probe tests, started on loopback on free ports, and small odd ones.

Debian packages used: redis-server, memcached, postgresql, mariadb-server, nginx, openssl.
MongoDB is not packaged in Debian: ``FakeMongo`` speaks just enough OP_MSG (written here,
independently of slimmer's BSON code).
"""

from __future__ import annotations

import contextlib
import glob
import http.server
import os
import pwd
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.prereq import unavailable

LOOPBACK = "127.0.0.1"


def need(*names: str) -> str:
    """The path of the first program found; fails when CI=true, skips elsewhere."""
    for name in names:
        found = shutil.which(name) or next(iter(sorted(glob.glob(name))), None)
        if found:
            return found
    unavailable(f"{names[0]} is not installed (scripts/install-deps.sh installs it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def accepts(port: int, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Wait (bounded) until something accepts on the port; fail when the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing accepts on port {port} after {timeout}s")


@contextlib.contextmanager
def running(argv: list[str], port: int, log: Path, user: str | None = None) -> Iterator[int]:
    """Run a server process until the block ends; yields its port once it accepts."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, user=user,
                                   start_new_session=True)
    try:
        accepts(port, process=process)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_as() -> str | None:
    """The user for servers that refuse root (PostgreSQL): 'postgres' when we are root."""
    return "postgres" if os.geteuid() == 0 else None


def chown_to(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


# ---- HTTP ------------------------------------------------------------------------------------

SITE = {
    "index.html": """<html><head><link rel="stylesheet" href="/style.css">
<script src="app.js"></script><base href="/"></head><body>
<a href="about.html">about</a> <a href="about.html#team">team</a>
<img src="/img/logo.png"> <a href="http://example.com/elsewhere">external</a>
<a href="//other.example/x">protocol-relative</a> <a href="mailto:a@b.c">mail</a>
<a href="javascript:void(0)">js</a> <a href="/dynamic">dynamic</a>
<a href="/search?q=x">query</a> <a href="/redirect">moved</a>
<a href="/missing.html">missing</a></body></html>""",
    "about.html": '<html><body><a href="/">home</a> <a href="deep/1.html">deep</a></body></html>',
    "deep/1.html": '<a href="2.html">2</a>',
    "deep/2.html": '<a href="3.html">3</a>',
    "deep/3.html": '<a href="4.html">4</a>',
    "deep/4.html": "the end",
    "style.css": "body { color: red }",
    "app.js": "console.log('x')",
    "img/logo.png": "\x89PNG fake",
    "search": "results",
    "moved.html": "<p>moved here</p>",
}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files plus /dynamic (changes every time), /redirect, /echo-host and POST /echo."""

    counter = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/dynamic":
            SiteHandler.counter += 1
            self._send(200, f"<p>hit {SiteHandler.counter} at {time.time()}</p>".encode())
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/moved.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/echo-host":
            self._send(200, self.headers.get("Host", "").encode(), "text/plain")
        else:
            super().do_GET()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ctype = self.headers.get("Content-Type", "")
        self._send(201 if self.path == "/echo" else 404, body + b"|" + ctype.encode(), "text/plain")

    def _send(self, status: int, body: bytes, ctype: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def write_site(root: Path) -> Path:
    for name, text in SITE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode("latin-1"))
    return root


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class TlsServer(QuietServer):
    """HTTPS; the TLS handshake happens in the handler thread, not in accept()."""

    context: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = self.socket.accept()
        return self.context.wrap_socket(conn, server_side=True,
                                        do_handshake_on_connect=False), addr


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serving_after(make: Callable[[], socketserver.BaseServer],
                  trigger: threading.Event) -> Iterator[None]:
    """A server that starts listening once ``trigger`` is set (a slow target)."""
    holder: list[socketserver.BaseServer] = []
    started = threading.Event()

    def run() -> None:
        if not trigger.wait(30):
            return
        holder.append(make())
        started.set()
        holder[0].serve_forever(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        trigger.set()
        started.wait(5)
        if holder:
            holder[0].shutdown()
            holder[0].server_close()
        thread.join(5)


class FakeClock:
    """Stands in for the ``time`` module of code under test: ``sleep`` advances ``monotonic``
    at once and is recorded, so waits are checked by what they did, not by wall-clock time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key made with the openssl CLI."""
    openssl = need("openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def site_server(root: Path, tls: tuple[Path, Path] | None = None,
                port: int = 0) -> socketserver.BaseServer:
    handler = _handler_for(root)
    if tls is None:
        return QuietServer((LOOPBACK, port), handler)
    server = TlsServer((LOOPBACK, port), handler)
    server.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.context.load_cert_chain(str(tls[0]), str(tls[1]))
    return server


def _handler_for(root: Path) -> Callable[..., SiteHandler]:
    def make(*args: object, **kwargs: object) -> SiteHandler:
        return SiteHandler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    return make


# ---- odd TCP servers -------------------------------------------------------------------------


class TcpServer(socketserver.ThreadingTCPServer):
    """Calls ``handle(sock)`` for each connection, in its own thread."""

    daemon_threads = True

    def __init__(self, handle: Callable[[socket.socket], None], port: int = 0) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with contextlib.suppress(OSError):
                    handle(self.request)

        super().__init__((LOOPBACK, port), Handler)


def closes_at_once(sock: socket.socket) -> None:
    sock.close()


def resets_at_once(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def silent_until(stop: threading.Event) -> Callable[[socket.socket], None]:
    """Accepts and never says anything (reads and drops what the client sends)."""

    def handle(sock: socket.socket) -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                if not sock.recv(4096):
                    return
            except TimeoutError:
                continue

    return handle


def banner(sock: socket.socket) -> None:
    sock.sendall(b"SSH-2.0-slimmer_test_1.0\r\n")
    sock.settimeout(2)
    with contextlib.suppress(OSError):
        sock.recv(1024)


def proxy_to(backend_port: int) -> Callable[[socket.socket], None]:
    """What docker-proxy does: accept, dial the backend, close at once when that fails."""

    def handle(client: socket.socket) -> None:
        try:
            backend = socket.create_connection((LOOPBACK, backend_port), timeout=2)
        except OSError:
            client.close()
            return
        with backend:
            pipe = threading.Thread(target=_pump, args=(backend, client), daemon=True)
            pipe.start()
            _pump(client, backend)
            pipe.join(5)

    return handle


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            target.sendall(chunk)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


# ---- a fake MongoDB (OP_MSG) -------------------------------------------------------------------


def _cstring(text: str) -> bytes:
    return text.encode() + b"\x00"


def bson(fields: list[tuple[int, str, bytes]]) -> bytes:
    """A BSON document from (type, name, encoded value) triples."""
    body = b"".join(bytes([kind]) + _cstring(name) + value for kind, name, value in fields)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _first_key(doc: bytes) -> str:
    end = doc.index(b"\x00", 5)
    return doc[5:end].decode()


def fake_mongo(knows_hello: bool) -> Callable[[socket.socket], None]:
    """Answers OP_MSG commands: hello/isMaster like a standalone MongoDB, others with an error.

    A server without ``hello`` (MongoDB < 4.4.2) answers it with CommandNotFound.
    """

    def handle(sock: socket.socket) -> None:
        sock.settimeout(5)
        stream = sock.makefile("rb")
        while len(header := stream.read(16)) == 16:
            length, request_id, _, opcode = struct.unpack("<iiii", header)
            if not 16 < length <= 48_000_000 or opcode != 2013:
                return  # like mongod: an invalid message closes the connection
            payload = stream.read(length - 16)
            command = _first_key(payload[5:])
            if command == "isMaster" or (command == "hello" and knows_hello):
                doc = bson([
                    (0x08, "ismaster", b"\x01"),
                    (0x03, "topologyVersion", bson([(0x07, "processId", os.urandom(12)),
                                                    (0x12, "counter", struct.pack("<q", 0))])),
                    (0x10, "maxBsonObjectSize", struct.pack("<i", 16777216)),
                    (0x09, "localTime", struct.pack("<q", int(time.time() * 1000))),
                    (0x10, "maxWireVersion", struct.pack("<i", 17)),
                    (0x10, "minWireVersion", struct.pack("<i", 0)),
                    (0x04, "saslSupportedMechs", bson([(0x02, "0", struct.pack("<i", 14)
                                                        + b"SCRAM-SHA-256\x00")])),
                    (0x01, "ok", struct.pack("<d", 1.0)),
                ])
            else:
                doc = bson([
                    (0x01, "ok", struct.pack("<d", 0.0)),
                    (0x02, "errmsg", struct.pack("<i", 17) + b"no such command.\x00"),
                    (0x10, "code", struct.pack("<i", 59)),
                    (0x02, "codeName", struct.pack("<i", 16) + b"CommandNotFound\x00"),
                ])
            reply = struct.pack("<I", 0) + b"\x00" + doc
            sock.sendall(struct.pack("<iiii", 16 + len(reply), 7, request_id, 2013) + reply)

    return handle
