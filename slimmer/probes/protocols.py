"""Minimal, harmless conversations with well-known servers, so they run their real request path.

Each conversation ``(host, port, timeout) -> str`` opens one connection, says the least that
makes the server do real work, closes cleanly, and returns a reply summary that is the same for
two runs of the same server binary and configuration (never uptimes, ids, clocks):

- Redis: ``PING`` (``+PONG``), ``INFO server`` (only ``redis_version`` and ``redis_mode`` kept),
  ``QUIT``. An error such as ``-NOAUTH`` or ``-DENIED`` still proves a live Redis.
- PostgreSQL: ``SSLRequest`` (TLS with an unverified context when the server accepts it), a
  ``StartupMessage`` as user and database ``postgres``; an authentication request counts as alive
  (the connection is closed there, as psql does before prompting); with trust auth ``SELECT 1``
  and ``Terminate``.
- MySQL/MariaDB: read the server greeting (protocol version and server version), then close:
  any command before the handshake response would be a protocol error.
- memcached: ``version``, ``get`` of a key nobody sets (a read-only lookup), ``quit``.
- MongoDB: OP_MSG ``hello`` on ``admin`` (``isMaster`` when the server does not know hello).

They raise ``NotThisProtocol`` when the peer answers in another protocol or not at all,
``NotReady`` when the server says it is still starting, ``OSError`` on network errors.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import time
from collections.abc import Callable
from typing import Any

WELL_KNOWN_PORTS = {6379: "redis", 5432: "postgres", 3306: "mysql", 11211: "memcached",
                    27017: "mongodb"}

MAX_MESSAGE = 16 << 20


class ProtocolError(Exception):
    """The conversation did not go as the protocol says."""


class NotThisProtocol(ProtocolError):
    """The peer answered in another protocol, or not at all."""


class NotReady(ProtocolError):
    """The server speaks the protocol but says it is still starting."""


def unverified_tls() -> ssl.SSLContext:
    """A client TLS context that accepts any certificate and old protocol versions."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    except (ssl.SSLError, ValueError):
        pass
    return context


class Conn:
    """A client connection whose every operation respects one deadline."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.sock: socket.socket = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise NotThisProtocol("no answer in time")
        self.sock.settimeout(remaining)

    def send(self, data: bytes) -> None:
        self._arm()
        self.sock.sendall(data)

    def _fill(self) -> None:
        self._arm()
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise NotThisProtocol("no answer in time") from None
        except ConnectionResetError:
            raise NotThisProtocol("the server reset the connection") from None
        if not chunk:
            raise NotThisProtocol("the server closed the connection")
        self.buffer += chunk

    def recv_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def recv_line(self, limit: int = 65536) -> bytes:
        """One CRLF-terminated line, without the CRLF."""
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > limit:
                raise NotThisProtocol("no line end where one was expected")
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def start_tls(self) -> None:
        self._arm()
        self.sock = unverified_tls().wrap_socket(self.sock)


# ---- Redis ------------------------------------------------------------------------------------


def _resp(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        parts.append(f"${len(word)}\r\n{word}\r\n".encode())
    return b"".join(parts)


def _resp_error_word(line: bytes) -> str | None:
    """The error code of a RESP error line ("-NOAUTH ..." -> "NOAUTH"), else None."""
    if not line.startswith(b"-"):
        return None
    word = line[1:].split(b" ", 1)[0]
    return word.decode() if word.isalpha() and word.isupper() else None


def redis(host: str, port: int, timeout: float) -> str:
    with Conn(host, port, timeout) as conn:
        conn.send(_resp("PING"))
        line = conn.recv_line()
        error = _resp_error_word(line)
        if error in ("LOADING", "BUSY", "MASTERDOWN"):
            raise NotReady(f"redis answered {error}")
        if error:
            return f"error {error}"
        if line != b"+PONG":
            raise NotThisProtocol(f"not a redis PONG: {line[:40]!r}")
        reply = "PONG"
        conn.send(_resp("INFO", "server"))
        head = conn.recv_line()
        if head.startswith(b"$") and head[1:].isdigit():
            text = conn.recv_exact(int(head[1:]) + 2).decode(errors="replace")
            fields = dict(ln.split(":", 1) for ln in text.splitlines() if ":" in ln)
            for key in ("redis_version", "redis_mode"):
                if key in fields:
                    reply += f" {key}={fields[key].strip()}"
        conn.send(_resp("QUIT"))
        with contextlib.suppress(OSError, ProtocolError):
            conn.recv_line()
        return reply


# ---- memcached ------------------------------------------------------------------------------


def memcached(host: str, port: int, timeout: float) -> str:
    with Conn(host, port, timeout) as conn:
        conn.send(b"version\r\n")
        line = conn.recv_line(limit=1024)
        if not line.startswith(b"VERSION "):
            raise NotThisProtocol(f"not a memcached VERSION: {line[:40]!r}")
        reply = line.decode(errors="replace")
        conn.send(b"get slimmer-probe-absent-key\r\n")
        while True:
            line = conn.recv_line()
            if line == b"END":
                reply += " get=END"
                break
            if line.startswith(b"VALUE "):
                conn.recv_exact(int(line.split()[3]) + 2)
                reply += " get=VALUE"
                continue
            reply += f" get={line.split(b' ', 1)[0].decode(errors='replace')}"
            break
        conn.send(b"quit\r\n")
        return reply


# ---- MySQL / MariaDB -----------------------------------------------------------------------


def mysql_greeting(data: bytes) -> str | None:
    """The reply summary of a MySQL/MariaDB greeting packet, or None when ``data`` is not one."""
    if len(data) < 5:
        return None
    length = int.from_bytes(data[:3], "little")
    payload = data[4:4 + length]
    if data[3] != 0 or not 1 <= length <= 1 << 16 or len(payload) < min(length, 3):
        return None
    if payload[0] in (9, 10):
        end = payload.find(b"\0", 1)
        if end < 0 or not payload[1:end].isascii():
            return None
        return f"protocol {payload[0]} server {payload[1:end].decode()}"
    if payload[0] == 0xFF and len(payload) >= 3:  # the server refuses us: still a live server
        return f"error {int.from_bytes(payload[1:3], 'little')}"
    return None


def mysql(host: str, port: int, timeout: float) -> str:
    with Conn(host, port, timeout) as conn:
        header = conn.recv_exact(4)
        length = int.from_bytes(header[:3], "little")
        if header[3] != 0 or not 1 <= length <= 1 << 16:
            raise NotThisProtocol("not a MySQL greeting")
        reply = mysql_greeting(header + conn.recv_exact(length))
        if reply is None:
            raise NotThisProtocol("not a MySQL greeting")
        if reply == "error 1040":  # too many connections
            raise NotReady("mysql: too many connections")
        return reply


# ---- PostgreSQL ------------------------------------------------------------------------------

_SSL_REQUEST = struct.pack("!II", 8, 80877103)
_AUTH_NAMES = {2: "kerberos", 3: "cleartext", 5: "md5", 7: "gss", 9: "sspi", 10: "sasl"}
_STARTING_UP = ("57P03",)  # cannot_connect_now: starting up, shutting down, in recovery


def _pg_message(conn: Conn) -> tuple[bytes, bytes]:
    head = conn.recv_exact(5)
    (length,) = struct.unpack("!I", head[1:])
    if not 4 <= length <= MAX_MESSAGE or not head[:1].isalpha():
        raise NotThisProtocol("not a PostgreSQL message")
    return head[:1], conn.recv_exact(length - 4)


def _pg_fields(payload: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse or NoticeResponse by code letter."""
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return fields


def _pg_startup(user: str, database: str) -> bytes:
    params = b"".join(
        k.encode() + b"\0" + v.encode() + b"\0"
        for k, v in (("user", user), ("database", database), ("application_name", "slimmer-probe"))
    ) + b"\0"
    return struct.pack("!II", len(params) + 8, 196608) + params


def postgres(host: str, port: int, timeout: float, user: str = "postgres",
             database: str = "postgres") -> str:
    with Conn(host, port, timeout) as conn:
        conn.send(_SSL_REQUEST)
        answer = conn.recv_exact(1)
        if answer not in (b"S", b"N"):
            raise NotThisProtocol(f"not a PostgreSQL SSLRequest answer: {answer!r}")
        if answer == b"S":
            conn.start_tls()
        conn.send(_pg_startup(user, database))
        params: dict[str, str] = {}
        while True:
            kind, payload = _pg_message(conn)
            if kind == b"R":
                (code,) = struct.unpack("!I", payload[:4])
                if code != 0:
                    return f"auth {_AUTH_NAMES.get(code, str(code))}"
            elif kind == b"E":
                state = _pg_fields(payload).get("C", "")
                if state in _STARTING_UP:
                    raise NotReady(f"postgres: {_pg_fields(payload).get('M', state)}")
                return f"error {state}"
            elif kind == b"S":
                name, _, value = payload.partition(b"\0")
                params[name.decode(errors="replace")] = value.rstrip(b"\0").decode(errors="replace")
            elif kind == b"Z":
                break
            elif kind not in (b"K", b"N"):
                raise NotThisProtocol(f"unexpected PostgreSQL message {kind!r}")
        conn.send(b"Q" + struct.pack("!I", 4 + 9) + b"SELECT 1\0")
        values: list[str] = []
        while True:
            kind, payload = _pg_message(conn)
            if kind == b"D":
                (count,) = struct.unpack("!H", payload[:2])
                (size,) = struct.unpack("!i", payload[2:6])
                if count and size >= 0:
                    values.append(payload[6:6 + size].decode(errors="replace"))
            elif kind == b"E":
                values.append("error " + _pg_fields(payload).get("C", ""))
            elif kind == b"Z":
                break
        conn.send(b"X" + struct.pack("!I", 4))
        version = params.get("server_version", "?").split()[0]
        return f"ready server_version={version} SELECT 1 -> {','.join(values)}"


# ---- MongoDB ---------------------------------------------------------------------------------

OP_REPLY = 1
OP_MSG = 2013


def bson_encode(doc: dict[str, Any]) -> bytes:
    """BSON for a flat command document of str, int, float and bool values."""
    out = b""
    for key, value in doc.items():
        name = key.encode() + b"\0"
        if isinstance(value, bool):
            out += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            out += b"\x10" + name + struct.pack("<i", value)
        elif isinstance(value, float):
            out += b"\x01" + name + struct.pack("<d", value)
        elif isinstance(value, str):
            data = value.encode() + b"\0"
            out += b"\x02" + name + struct.pack("<i", len(data)) + data
        else:
            raise TypeError(f"cannot encode {type(value).__name__} as BSON here")
    return struct.pack("<i", len(out) + 5) + out + b"\0"


_FIXED = {0x06: 0, 0x07: 12, 0x09: 8, 0x0A: 0, 0x11: 8, 0x13: 16, 0xFF: 0, 0x7F: 0}


def bson_decode(data: bytes) -> dict[str, Any]:
    """A BSON document; values of types not needed here come back as their raw bytes."""
    try:
        (length,) = struct.unpack_from("<i", data)
        if length != len(data) or data[-1] != 0:
            raise ValueError("bad document length")
        doc: dict[str, Any] = {}
        pos = 4
        while data[pos] != 0:
            kind = data[pos]
            end = data.index(b"\0", pos + 1)
            key = data[pos + 1:end].decode()
            doc[key], pos = _bson_value(data, kind, end + 1)
        return doc
    except (ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
        raise NotThisProtocol(f"not a BSON document ({exc})") from None


def _bson_value(data: bytes, kind: int, pos: int) -> tuple[Any, int]:
    if kind == 0x01:
        return struct.unpack_from("<d", data, pos)[0], pos + 8
    if kind in (0x02, 0x0D, 0x0E):
        (size,) = struct.unpack_from("<i", data, pos)
        return data[pos + 4:pos + 3 + size].decode(errors="replace"), pos + 4 + size
    if kind in (0x03, 0x04):
        (size,) = struct.unpack_from("<i", data, pos)
        sub = bson_decode(data[pos:pos + size])
        return (list(sub.values()) if kind == 0x04 else sub), pos + size
    if kind == 0x05:
        (size,) = struct.unpack_from("<i", data, pos)
        return data[pos + 5:pos + 5 + size], pos + 5 + size
    if kind == 0x08:
        return data[pos] == 1, pos + 1
    if kind == 0x10:
        return struct.unpack_from("<i", data, pos)[0], pos + 4
    if kind == 0x12:
        return struct.unpack_from("<q", data, pos)[0], pos + 8
    if kind == 0x0B:
        end = data.index(b"\0", data.index(b"\0", pos) + 1)
        return data[pos:end], end + 1
    if kind == 0x0C:
        (size,) = struct.unpack_from("<i", data, pos)
        return data[pos:pos + 4 + size + 12], pos + 4 + size + 12
    if kind == 0x0F:
        (size,) = struct.unpack_from("<i", data, pos)
        return data[pos:pos + size], pos + size
    if kind in _FIXED:
        return data[pos:pos + _FIXED[kind]], pos + _FIXED[kind]
    raise ValueError(f"unknown BSON type {kind:#x}")


def _mongo_command(conn: Conn, command: dict[str, Any]) -> dict[str, Any]:
    request_id = int.from_bytes(os.urandom(3), "little") + 1
    body = struct.pack("<I", 0) + b"\x00" + bson_encode(command)
    conn.send(struct.pack("<iiii", 16 + len(body), request_id, 0, OP_MSG) + body)
    length, _, response_to, opcode = struct.unpack("<iiii", conn.recv_exact(16))
    if not 21 <= length <= MAX_MESSAGE or response_to != request_id:
        raise NotThisProtocol("not a MongoDB reply")
    payload = conn.recv_exact(length - 16)
    if opcode == OP_MSG:
        (flags,) = struct.unpack_from("<I", payload)
        if payload[4] != 0:
            raise NotThisProtocol("MongoDB reply without a body section")
        section = payload[5:len(payload) - (4 if flags & 1 else 0)]
        return bson_decode(section[:struct.unpack_from("<i", section)[0]])
    if opcode == OP_REPLY and len(payload) >= 25:
        (size,) = struct.unpack_from("<i", payload, 20)
        return bson_decode(payload[20:20 + size])
    raise NotThisProtocol(f"unexpected MongoDB opcode {opcode}")


def mongodb(host: str, port: int, timeout: float) -> str:
    with Conn(host, port, timeout) as conn:
        reply: dict[str, Any] = {}
        for command in ("hello", "isMaster"):
            reply = _mongo_command(conn, {command: 1, "$db": "admin"})
            if reply.get("ok") == 1:
                return f"{command} ok maxWireVersion={reply.get('maxWireVersion')}"
        return f"error {reply.get('codeName') or reply.get('code')}"


CONVERSATIONS: dict[str, Callable[[str, int, float], str]] = {
    "redis": redis, "postgres": postgres, "mysql": mysql, "memcached": memcached,
    "mongodb": mongodb,
}
