"""Probe plans: discover what each exposed port speaks, run the probes, replay them exactly.

Observation: ``default_plan`` per exposed TCP port, user specs (``parse_probe_cmd``,
``load_probe_file``) bound to ports with ``bind_specs`` and run with ``run_specs(...,
repeat=2)``. Verification: ``run_specs`` with the specs of the observation's results
(``[r.spec for r in results]``: they carry the scheme that answered), then ``compare``.

Discovery of a port (all within one ``timeout``):

1. knock until the port is served (``wait.wait_for_knock``; docker-proxy's accept-then-close
   does not count);
2. a server that speaks first: a MySQL/MariaDB greeting means ``mysql``, anything else ``tcp``;
3. a silent server: the protocol of its well-known port first (6379 redis, 5432 postgres,
   3306 mysql, 11211 memcached, 27017 mongodb), then HTTP (GET /, http then https; when it
   answers, a same-origin crawl, then ``MISSING_PAGE``), then redis, memcached, postgres,
   mongodb, each on a fresh connection with a short timeout; when nothing answers (or GET /
   got no answer at all: the servers of those protocols all react to it at once), a TCP
   connection that stays open is the probe. A port that never gets ready gives a failed
   ``tcp`` result, never an exception: ports that do not speak HTTP must not fail the build.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slimmer.errors import UsageError
from slimmer.probes import http
from slimmer.probes.model import ProbeResult, ProbeSpec, port_number
from slimmer.probes.protocols import (
    CONVERSATIONS,
    WELL_KNOWN_PORTS,
    NotReady,
    ProtocolError,
    mysql_greeting,
)
from slimmer.probes.wait import Alive, PortState, describe_error, retry, wait_for_knock

DEFAULT_TIMEOUT = 60.0
REQUEST_TIMEOUT = 10.0
"""Seconds an HTTP request or a conversation on its well-known port may take."""
SNIFF_TIMEOUT = 2.0
"""Seconds a guessed protocol may take to answer on a port that is not its own."""
SNIFF_HTTP_TIMEOUT = 5.0
"""Seconds GET / may take (over http, then again over https) when guessing HTTP."""
SNIFF_ORDER = ("http", "redis", "memcached", "postgres", "mongodb")
MISSING_PAGE = "/slimmer-probe/missing-page"
"""Requested after every crawl: a page no site has, so the server's not-found handling (custom
error pages, fallback routes) is exercised and kept."""
CRAWL_DEPTH = 3
CRAWL_PAGES = 50

DOC_HINT = "see docs/probes.md for the probe formats"

Outcome = tuple[str | None, str, int, str]
"""One conversation or TCP knock: reply (None when it failed), banner sha256, length, error."""


def default_plan(host: str, host_port: int, container_port: str,
                 timeout: float = DEFAULT_TIMEOUT, *, depth: int = CRAWL_DEPTH,
                 pages: int = CRAWL_PAGES,
                 alive: Alive | None = None) -> tuple[list[ProbeSpec], list[ProbeResult]]:
    """Discover what ``container_port`` (published on ``host:host_port``) speaks and probe it.

    Returns the specs to replay and the results of the observation (each probe ran twice, so
    ``stable`` is meaningful). UDP ports get no probe. ``timeout`` bounds the discovery; an
    HTTP crawl then gets ``timeout`` seconds more at most. ``alive`` ends the wait for the port
    as soon as the server is gone.
    """
    if "/" not in container_port:
        container_port += "/tcp"
    if not container_port.endswith("/tcp"):
        return [], []
    deadline = time.monotonic() + timeout
    knocked = wait_for_knock(host, host_port, timeout, alive=alive)
    if not knocked.ready:
        spec = ProbeSpec(kind="tcp", port=container_port)
        return [spec], [ProbeResult(spec=spec, ok=False, error=knocked.error or "not served")]
    if knocked.state is PortState.SPEAKS:
        kind = "mysql" if mysql_greeting(knocked.banner) else "tcp"
        spec = ProbeSpec(kind=kind, port=container_port)
        return [spec], [_run_one(host, host_port, spec, _left(deadline), repeat=2)]
    own = WELL_KNOWN_PORTS.get(port_number(container_port))
    for kind in ([own] if own else []) + [k for k in SNIFF_ORDER if k != own]:
        if _left(deadline) <= 0:
            break
        per_try = (REQUEST_TIMEOUT if kind == own else
                   SNIFF_HTTP_TIMEOUT if kind == "http" else SNIFF_TIMEOUT)
        if kind == "http":
            try:
                scheme = http.detect_scheme(host, host_port, container_port,
                                            min(per_try, _left(deadline)))
            except TimeoutError:
                break  # silent even to a whole request: no known protocol is like that
            if scheme:
                results = http.crawl(host, host_port, container_port, scheme, REQUEST_TIMEOUT,
                                     depth=depth, pages=pages, budget=timeout)
                missing = ProbeSpec(kind="http", port=container_port, path=MISSING_PAGE,
                                    scheme=scheme)
                results.append(http.probe(host, host_port, missing, REQUEST_TIMEOUT, repeat=2)[0])
                return [r.spec for r in results], results
        elif _speaks(host, host_port, kind, per_try, deadline):
            spec = ProbeSpec(kind=kind, port=container_port)
            return [spec], [_run_one(host, host_port, spec, _left(deadline), repeat=2)]
    spec = ProbeSpec(kind="tcp", port=container_port)
    return [spec], [_run_one(host, host_port, spec, _left(deadline), repeat=2)]


def run_specs(host: str, port_map: dict[str, int], specs: list[ProbeSpec],
              timeout: float = DEFAULT_TIMEOUT, repeat: int = 1,
              alive: Alive | None = None) -> list[ProbeResult]:
    """Run ``specs`` in order against the container ports published as ``port_map``.

    Each port is first waited for (knocks, bounded by ``timeout`` per port); a spec whose port
    is not published or never gets ready fails without raising. ``repeat`` >= 2 sets ``stable``.
    """
    ready: dict[str, str] = {}
    results = []
    for spec in specs:
        host_port = port_map.get(spec.port)
        if host_port is None:
            results.append(ProbeResult(spec=spec, ok=False,
                                       error=f"port {spec.port or '(none)'} is not published"))
            continue
        if spec.port not in ready:
            knocked = wait_for_knock(host, host_port, timeout, alive=alive)
            ready[spec.port] = "" if knocked.ready else (knocked.error or "not served")
        if ready[spec.port]:
            results.append(ProbeResult(spec=spec, ok=False, error=ready[spec.port]))
            continue
        results.append(_run_one(host, host_port, spec, timeout, repeat=repeat))
    return results


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def _speaks(host: str, port: int, kind: str, per_try: float, deadline: float) -> bool:
    """Whether the server answers in ``kind``, each try taking at most ``per_try`` seconds;
    while it says it is still starting, try again until ``deadline`` (monotonic)."""

    def attempt(remaining: float) -> bool | None:
        try:
            CONVERSATIONS[kind](host, port, max(min(per_try, remaining), 0.1))
        except NotReady:
            return None
        except (OSError, ProtocolError):
            return False
        return True

    return bool(retry(attempt, _left(deadline)))


def _run_one(host: str, port: int, spec: ProbeSpec, timeout: float, repeat: int) -> ProbeResult:
    if spec.kind == "http":
        return http.probe(host, port, spec, min(REQUEST_TIMEOUT, max(timeout, 0.1)),
                          repeat=repeat)[0]
    start = time.monotonic()
    answers: list[Outcome] = []
    for _ in range(max(repeat, 1)):
        if spec.kind == "tcp":  # the port was ready: repeats knock once, without waiting
            answers.append(_tcp(host, port, 0.0 if answers else timeout))
        else:
            answers.append(_converse(host, port, spec.kind, timeout))
        if answers[0][0] is None:
            break
    reply, digest, size, error = answers[0]
    return ProbeResult(
        spec=spec, ok=reply is not None, reply=reply or "", body_sha256=digest, body_len=size,
        stable=len(answers) >= 2 and all(a == answers[0] for a in answers), error=error,
        elapsed=time.monotonic() - start,
    )


def _converse(host: str, port: int, kind: str, timeout: float) -> Outcome:
    errors: list[str] = []

    def attempt(remaining: float) -> Outcome | None:
        try:
            reply = CONVERSATIONS[kind](host, port, min(max(remaining, 0.1), REQUEST_TIMEOUT))
        except NotReady as exc:
            errors.append(str(exc))
            return None
        except (OSError, ProtocolError) as exc:
            return None, "", 0, f"{kind}: {describe_error(exc)}"
        return reply, "", 0, ""

    return retry(attempt, timeout) or (None, "", 0, f"{kind}: still not ready: {errors[-1]}")


def _tcp(host: str, port: int, timeout: float) -> Outcome:
    knocked = wait_for_knock(host, port, timeout)
    if not knocked.ready:
        return None, "", 0, knocked.error or "not served"
    if knocked.state is PortState.SPEAKS:
        return "speaks", hashlib.sha256(knocked.banner).hexdigest(), len(knocked.banner), ""
    return "open", "", 0, ""


def bind_specs(user_specs: Sequence[ProbeSpec], ports: Sequence[str],
               plan_specs: Sequence[ProbeSpec] = ()) -> list[ProbeSpec]:
    """Give user HTTP specs without a port every HTTP port of the default plans (with their
    scheme), or every exposed TCP port in ``ports`` when no default plan found HTTP."""
    schemes = {s.port: s.scheme for s in plan_specs if s.kind == "http"}
    targets = schemes or {p: "" for p in ports if p.endswith("/tcp")}
    bound = []
    for spec in user_specs:
        if spec.port:
            bound.append(spec.with_port(spec.port, spec.scheme or schemes.get(spec.port, "")))
            continue
        if not targets:
            raise UsageError(
                f"probe {spec.describe()} has no port and the image exposes no TCP port",
                "name the port, e.g. 'GET http://:8080/path', or a \"port\" in the probe file",
            )
        bound += [spec.with_port(port, spec.scheme or scheme) for port, scheme in targets.items()]
    return bound


_PROBE_CMD = re.compile(r"(?P<method>[A-Za-z]+)\s+(?:(?P<scheme>https?)://:(?P<port>\d+))?"
                        r"(?P<path>/\S*)?")


def parse_probe_cmd(text: str) -> ProbeSpec:
    """``--http-probe-cmd``: ``"METHOD /path"`` (every HTTP port, http then https) or
    ``"METHOD http://:PORT/path"`` / ``"METHOD https://:PORT/path"`` (a container port)."""
    match = _PROBE_CMD.fullmatch(text.strip())
    if not match or not (match["path"] or match["port"]):
        raise UsageError(
            f"--http-probe-cmd {text!r} is not 'METHOD /path' or 'METHOD http://:PORT/path'",
            "for example --http-probe-cmd 'GET /health' or 'POST https://:8443/api'",
        )
    port = ""
    if match["port"]:
        port = _container_port(int(match["port"]), f"--http-probe-cmd {text!r}")
    return ProbeSpec(kind="http", port=port, method=match["method"].upper(),
                     path=match["path"] or "/", scheme=match["scheme"] or "")


def _container_port(number: int, where: str) -> str:
    if not 1 <= number <= 65535:
        raise UsageError(f"{where}: port {number} is not between 1 and 65535", DOC_HINT)
    return f"{number}/tcp"


PROBE_FILE_KEYS = {"method", "path", "port", "headers", "body", "status", "scheme"}


def load_probe_file(path: str | Path) -> list[ProbeSpec]:
    """Read a probe file: a JSON list of HTTP requests, replayed in order.

    Each entry is an object with ``path`` (required, starts with "/") and optionally
    ``method`` (default "GET"), ``port`` (80, "80" or "80/tcp"; default every HTTP port),
    ``headers`` (object of strings), ``body`` (a string sent as is, or any other JSON value sent
    as JSON with ``Content-Type: application/json`` unless a header says otherwise), ``status``
    (the expected status; another one fails the probe) and ``scheme`` ("http" or "https";
    default http, then https)::

        [{"path": "/"},
         {"method": "POST", "path": "/api/items", "port": 8080,
          "headers": {"Authorization": "Bearer test"}, "body": {"name": "x"}, "status": 201}]
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"probe file {path}: cannot read it ({describe_error(exc)})",
                         "give a readable UTF-8 JSON file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"probe file {path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})",
            DOC_HINT) from None
    except (ValueError, RecursionError) as exc:  # a number too long for int(), deep nesting
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
        raise UsageError(f"probe file {path}: not usable JSON ({reason})", DOC_HINT) from None
    if not isinstance(data, list):
        raise UsageError(f"probe file {path}: must be a JSON list of requests", DOC_HINT)
    return [_probe_entry(entry, f"probe file {path}: entry {i}")
            for i, entry in enumerate(data, start=1)]


def _probe_entry(entry: Any, where: str) -> ProbeSpec:
    def fail(what: str) -> UsageError:
        return UsageError(f"{where}: {what}", DOC_HINT)

    if not isinstance(entry, dict):
        raise fail("must be an object like {\"path\": \"/\"}")
    unknown = sorted(set(entry) - PROBE_FILE_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(PROBE_FILE_KEYS))})")
    method = entry.get("method", "GET")
    if not isinstance(method, str) or not re.fullmatch(r"[A-Za-z]+", method):
        raise fail("\"method\" must be a word like \"GET\"")
    target = entry.get("path")
    if not isinstance(target, str) or not target.startswith("/") or re.search(r"\s", target):
        raise fail("\"path\" must be a string starting with \"/\", without spaces")
    headers = entry.get("headers", {})
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise fail("\"headers\" must be an object of strings")
    body = entry.get("body", "")
    if not isinstance(body, str):
        body = json.dumps(body, separators=(",", ":"))
        if not any(k.lower() == "content-type" for k in headers):
            headers = {**headers, "Content-Type": "application/json"}
    status = entry.get("status")
    if status is not None and (type(status) is not int or not 100 <= status <= 599):
        raise fail("\"status\" must be an HTTP status number (100-599)")
    scheme = entry.get("scheme", "")
    if scheme not in ("http", "https", ""):
        raise fail("\"scheme\" must be \"http\" or \"https\"")
    return ProbeSpec(kind="http", port=_entry_port(entry.get("port"), where),
                     method=method.upper(), path=target, headers=tuple(headers.items()),
                     body=body, expect_status=status, scheme=scheme)


def _entry_port(value: Any, where: str) -> str:
    if value is None:
        return ""
    if type(value) is int:
        return _container_port(value, where)
    match = re.fullmatch(r"(\d{1,9})(/tcp)?", value) if isinstance(value, str) else None
    if not match:
        raise UsageError(f"{where}: \"port\" must be a number or like \"80/tcp\"", DOC_HINT)
    return _container_port(int(match[1]), where)
