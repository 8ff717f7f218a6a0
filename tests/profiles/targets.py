"""Fixture images as targets: run one as a plain container, optionally under a profile.

Servers are probed on their published port, batch images run to their end and their output is
compared. Used where a test needs runs the pipeline does not make (other engines, candidate
profiles of the missing-syscall search, a different command).
"""

from __future__ import annotations

import hashlib
import http.client
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from slimmer.engine import Engine
from slimmer.errors import SlimmerError


def http_probe(host: str, port: int) -> bytes:
    """GET / : status and a hash of the body."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return f"{response.status} {hashlib.sha256(body).hexdigest()}".encode()


@dataclass(frozen=True)
class Target:
    """How to exercise one fixture: a server probed on a port, or a batch run to its end."""

    fixture: str
    port: str = ""  # "80/tcp" for servers
    probe: Callable[[str, int], bytes] | None = None
    argv: tuple[str, ...] = ()  # replaces the image's CMD when set

    @property
    def is_server(self) -> bool:
        return self.probe is not None


TARGETS = {
    t.fixture: t
    for t in (Target("nginx", "80/tcp", http_probe), Target("batch"), Target("sensorlab"))
}


@dataclass
class Outcome:
    """What one run showed: whether it behaved, and the evidence compared between runs."""

    started: bool
    answers: list[bytes]
    exit_code: int | None
    output: bytes
    error: str = ""


def _wait_probe(engine: Engine, container: str, target: Target, timeout: float) -> list[bytes]:
    """Probe the published port until it answers (twice, to see a steady state); [] when the
    container stops or nothing answers in time."""
    assert target.probe is not None
    host = engine.published_host()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and engine.state(container)["Running"]:
        port = engine.published_ports(container).get(target.port)
        if port is not None:
            try:
                return [target.probe(host, port), target.probe(host, port)]
            except OSError:
                pass
        time.sleep(0.3)
    return []


def run_target(
    engine: Engine, image: str, target: Target, security_opt: list[str] | None = None,
    timeout: float = 30,
) -> Outcome:
    """Run ``image`` as a plain container (optionally under security options) and exercise it."""
    config = engine.inspect_image(image).config
    session = f"test-{uuid.uuid4().hex[:12]}"
    container = engine.create_container(
        image, session=session, command=list(target.argv) or None,
        ports=[target.port] if target.port else None, security_opt=security_opt,
    )
    try:
        try:
            engine.start(container)
        except SlimmerError as exc:
            return Outcome(False, [], None, b"", exc.one_line())
        answers: list[bytes] = []
        if target.is_server:
            answers = _wait_probe(engine, container, target, timeout)
            engine.kill(container, config.get("StopSignal") or "SIGTERM")
        code = engine.wait(container, timeout=timeout)
        return Outcome(True, answers, code, engine.stdout(container))
    finally:
        engine.remove_session(session)


def behaves_alike(reference: Outcome, run: Outcome) -> bool:
    """Same answers to the probes (servers) or same exit code and output (batch runs)."""
    if not run.started:
        return False
    if reference.answers:
        return run.answers == reference.answers
    return (run.exit_code, run.output) == (reference.exit_code, reference.output)
