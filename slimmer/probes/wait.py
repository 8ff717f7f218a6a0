"""Waiting for a published port to be really served, with bounded exponential backoff.

A TCP connect alone proves nothing for a published port: the engine's userland proxy
(docker-proxy) accepts on the host port before the target listens in the container, then closes
the connection at once when it cannot reach the target. So a "knock" connects and then watches
the connection for a short window:

- the server sends bytes first (MySQL, SMTP, SSH...): ``SPEAKS``, ready;
- the connection stays open and quiet for the whole window: ``SILENT``, ready (a client-first
  protocol: HTTP, Redis, PostgreSQL...; the proxy reached a listener);
- the connection is closed or reset within the window: ``CLOSED``, not ready;
- the connect fails (refused, unreachable, timed out): ``UNREACHABLE``, not ready.

Callers then confirm readiness with a real answer in the port's protocol (an HTTP response, a
PONG...), retrying within the same deadline when a server says it is still starting.
"""

from __future__ import annotations

import enum
import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

KNOCK_WINDOW = 0.3
"""Seconds a fresh connection is watched; docker-proxy closes within milliseconds."""

BANNER_LIMIT = 4096
NOT_RUNNING = "the target is no longer running"

Alive = Callable[[], bool]
"""Whether the server being waited for still runs (e.g. its container); probes stay independent
of the engine: the caller decides how to tell."""


class PortState(enum.Enum):
    UNREACHABLE = "unreachable"
    CLOSED = "closed"
    SILENT = "silent"
    SPEAKS = "speaks"


@dataclass(frozen=True)
class Knock:
    state: PortState
    banner: bytes = b""
    error: str = ""

    @property
    def ready(self) -> bool:
        return self.state in (PortState.SILENT, PortState.SPEAKS)


def knock(host: str, port: int, window: float = KNOCK_WINDOW,
          connect_timeout: float = 2.0) -> Knock:
    """Connect once and watch the connection for ``window`` seconds (see the module docstring)."""
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except (ConnectionResetError, ConnectionAbortedError) as exc:  # accepted, reset at once
        return Knock(PortState.CLOSED, error=f"reset at once ({describe_error(exc)})")
    except OSError as exc:
        return Knock(PortState.UNREACHABLE, error=describe_error(exc))
    with sock:
        try:
            readable, _, _ = select.select([sock], [], [], window)
            if not readable:
                return Knock(PortState.SILENT)
            first = sock.recv(BANNER_LIMIT)
            if not first:
                return Knock(PortState.CLOSED, error="connection closed at once")
            return Knock(PortState.SPEAKS, banner=first + _drain(sock, BANNER_LIMIT - len(first)))
        except OSError as exc:
            return Knock(PortState.CLOSED, error=f"reset at once ({describe_error(exc)})")


def _drain(sock: socket.socket, limit: int, quiet: float = 0.05) -> bytes:
    """More banner bytes that follow within ``quiet`` seconds (a banner may come in pieces)."""
    data = b""
    while len(data) < limit:
        readable, _, _ = select.select([sock], [], [], quiet)
        if not readable:
            break
        try:
            chunk = sock.recv(limit - len(data))
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def backoff(first: float = 0.05, factor: float = 1.6, cap: float = 1.0) -> Iterator[float]:
    """Delays between attempts: ``first``, growing by ``factor``, never above ``cap``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, cap)


def retry(
    attempt: Callable[[float], T | None], timeout: float, alive: Alive | None = None
) -> T | None:
    """Call ``attempt(remaining_seconds)`` until it returns non-None or ``timeout`` passes.

    Attempts are spaced by exponential backoff; the last one starts before the deadline.
    ``alive``, when given, is asked before each further attempt: once it says False (the
    server's container has exited) there is nothing left to wait for.
    """
    deadline = time.monotonic() + timeout
    delays = backoff()
    while True:
        result = attempt(max(deadline - time.monotonic(), 0.0))
        if result is not None:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (alive is not None and not alive()):
            return None
        time.sleep(min(next(delays), remaining))


def wait_for_knock(
    host: str, port: int, timeout: float, window: float = KNOCK_WINDOW, alive: Alive | None = None
) -> Knock:
    """Knock until the port is ready, ``timeout`` passes or ``alive()`` says the server is gone
    (at least once); the last knock."""
    last: list[Knock] = []

    def attempt(remaining: float) -> Knock | None:
        result = knock(host, port, window=window, connect_timeout=max(min(2.0, remaining), 0.2))
        last.append(result)
        return result if result.ready else None

    found = retry(attempt, timeout, alive)
    if found is None and alive is not None and not alive():
        return Knock(last[-1].state, last[-1].banner, NOT_RUNNING)
    return found or last[-1]


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Whether the port became ready (speaks or stays open, not closed at once) within timeout."""
    return wait_for_knock(host, port, timeout).ready


def describe_error(exc: BaseException) -> str:
    """A short text for a network error: "connection refused", "timed out"..."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
