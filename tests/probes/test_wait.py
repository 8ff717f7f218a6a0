"""Readiness: bounded backoff, and accept-then-close (docker-proxy) is not ready."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from pathlib import Path

import pytest

from slimmer.probes import wait
from slimmer.probes.wait import (
    Knock,
    PortState,
    backoff,
    knock,
    retry,
    wait_for_knock,
    wait_for_port,
)

from . import servers
from .servers import LOOPBACK, FakeClock, free_port


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


def test_refused_port_gives_up_at_the_timeout(fake_clock: FakeClock) -> None:
    assert not wait_for_port(LOOPBACK, free_port(), timeout=0.8)
    assert fake_clock.now == pytest.approx(0.8)  # waited exactly the timeout, in backoff steps
    assert 3 <= len(fake_clock.sleeps) < 20


def test_port_that_closes_at_once_is_never_ready(fake_clock: FakeClock,
                                                 closing_port: int) -> None:
    last = wait_for_knock(LOOPBACK, closing_port, timeout=0.8)
    assert last.state is PortState.CLOSED and last.error == "connection closed at once"
    assert fake_clock.now == pytest.approx(0.8) and len(fake_clock.sleeps) >= 3


def test_waits_for_a_late_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    """The listener starts only after a knock found nothing: the wait goes on until it answers."""
    port = free_port()
    knocks = _record_knocks(monkeypatch)
    first_knock_done = threading.Event()
    monkeypatch.setattr(wait, "knock", _signal_after(wait.knock, first_knock_done))

    def listen_later() -> None:
        first_knock_done.wait(10)
        server = socket.create_server((LOOPBACK, port))
        conn, _ = server.accept()
        time.sleep(1)
        conn.close()
        server.close()

    thread = threading.Thread(target=listen_later, daemon=True)
    thread.start()
    assert wait_for_port(LOOPBACK, port, timeout=10)
    assert knocks[0].state is PortState.UNREACHABLE and knocks[-1].ready
    thread.join(5)


def test_proxy_that_accepts_before_the_backend_listens(monkeypatch: pytest.MonkeyPatch,
                                                       site: Path) -> None:
    """Like docker-proxy: a bare connect succeeds at once, readiness waits for the backend."""
    backend_port = free_port()
    with servers.serving(servers.TcpServer(servers.proxy_to(backend_port))) as proxy_port:
        with socket.create_connection((LOOPBACK, proxy_port), timeout=1):
            pass  # what a connect-only check would call "ready"
        assert knock(LOOPBACK, proxy_port).state is PortState.CLOSED
        knocks = _record_knocks(monkeypatch)
        closed_once = threading.Event()
        monkeypatch.setattr(wait, "knock", _signal_after(wait.knock, closed_once))
        with servers.serving_after(lambda: servers.site_server(site, port=backend_port),
                                   closed_once):
            assert wait_for_port(LOOPBACK, proxy_port, timeout=10)
    assert knocks[0].state is PortState.CLOSED and knocks[-1].ready


def test_backoff_grows_to_a_cap() -> None:
    delays = list(itertools.islice(backoff(first=0.05, factor=2, cap=0.5), 8))
    assert delays[:4] == [0.05, 0.1, 0.2, 0.4]
    assert delays[4:] == [0.5] * 4


def test_retry_is_bounded_and_returns_the_first_success(fake_clock: FakeClock) -> None:
    calls: list[float] = []
    assert retry(lambda remaining: calls.append(remaining), timeout=0.5) is None
    assert fake_clock.now == pytest.approx(0.5)
    assert 3 <= len(calls) < 20  # backed off, not spinning
    assert calls == sorted(calls, reverse=True) and calls[0] == pytest.approx(0.5)
    tries = iter([None, None, "done", "later"])
    start = fake_clock.now
    assert retry(lambda remaining: next(tries), timeout=5) == "done"
    assert fake_clock.sleeps[-2:] == list(itertools.islice(backoff(), 2))
    assert fake_clock.now - start == pytest.approx(sum(fake_clock.sleeps[-2:]))


def _record_knocks(monkeypatch: pytest.MonkeyPatch) -> list[Knock]:
    """Every knock the wait makes from now on, in order."""
    knocks: list[Knock] = []
    real = wait.knock

    def recording(*args: object, **kwargs: object) -> Knock:
        knocks.append(real(*args, **kwargs))
        return knocks[-1]

    monkeypatch.setattr(wait, "knock", recording)
    return knocks


def _signal_after(knock_function, event: threading.Event):
    """``knock_function`` that sets ``event`` once a knock was not ready."""

    def knocking(*args: object, **kwargs: object) -> Knock:
        result = knock_function(*args, **kwargs)
        if not result.ready:
            event.set()
        return result

    return knocking
