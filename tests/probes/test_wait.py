"""Readiness: bounded backoff, and accept-then-close (docker-proxy) is not ready."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from pathlib import Path

from slimmer.probes.wait import PortState, backoff, knock, retry, wait_for_knock, wait_for_port

from . import servers
from .servers import LOOPBACK, free_port


def test_knock_tells_the_four_states(closing_port: int, resetting_port: int, silent_port: int,
                                     banner_port: int) -> None:
    assert knock(LOOPBACK, free_port()).state is PortState.UNREACHABLE
    closed = knock(LOOPBACK, closing_port)
    assert closed.state is PortState.CLOSED and not closed.ready
    reset = knock(LOOPBACK, resetting_port)
    assert reset.state is PortState.CLOSED and "reset" in reset.error
    assert knock(LOOPBACK, silent_port).state is PortState.SILENT
    spoke = knock(LOOPBACK, banner_port)
    assert spoke.state is PortState.SPEAKS and spoke.banner == b"SSH-2.0-slimmer_test_1.0\r\n"


def test_refused_port_gives_up_at_the_timeout() -> None:
    start = time.monotonic()
    assert not wait_for_port(LOOPBACK, free_port(), timeout=0.8)
    assert 0.8 <= time.monotonic() - start < 2.0


def test_port_that_closes_at_once_is_never_ready(closing_port: int) -> None:
    start = time.monotonic()
    last = wait_for_knock(LOOPBACK, closing_port, timeout=0.8)
    assert last.state is PortState.CLOSED and last.error == "connection closed at once"
    assert time.monotonic() - start < 2.5


def test_waits_for_a_late_listener() -> None:
    port = free_port()

    def listen_later() -> None:
        time.sleep(0.7)
        server = socket.create_server((LOOPBACK, port))
        conn, _ = server.accept()
        time.sleep(1)
        conn.close()
        server.close()

    thread = threading.Thread(target=listen_later, daemon=True)
    start = time.monotonic()
    thread.start()
    assert wait_for_port(LOOPBACK, port, timeout=10)
    assert 0.7 <= time.monotonic() - start < 3
    thread.join(5)


def test_proxy_that_accepts_before_the_backend_listens(site: Path) -> None:
    """Like docker-proxy: a bare connect succeeds at once, readiness waits for the backend."""
    backend_port = free_port()
    with servers.serving(servers.TcpServer(servers.proxy_to(backend_port))) as proxy_port:
        with socket.create_connection((LOOPBACK, proxy_port), timeout=1):
            pass  # what a connect-only check would call "ready"
        assert knock(LOOPBACK, proxy_port).state is PortState.CLOSED
        start = time.monotonic()
        with servers.serving_later(lambda: servers.site_server(site, port=backend_port), 0.8):
            assert wait_for_port(LOOPBACK, proxy_port, timeout=10)
            assert time.monotonic() - start >= 0.8


def test_backoff_grows_to_a_cap() -> None:
    delays = list(itertools.islice(backoff(first=0.05, factor=2, cap=0.5), 8))
    assert delays[:4] == [0.05, 0.1, 0.2, 0.4]
    assert delays[4:] == [0.5] * 4


def test_retry_is_bounded_and_returns_the_first_success() -> None:
    calls: list[float] = []
    start = time.monotonic()
    assert retry(lambda remaining: calls.append(remaining), timeout=0.5) is None
    assert 0.5 <= time.monotonic() - start < 1.0
    assert 3 <= len(calls) < 20  # backed off, not spinning
    tries = iter([None, None, "done", "later"])
    start = time.monotonic()
    assert retry(lambda remaining: next(tries), timeout=5) == "done"
    assert time.monotonic() - start < 1
