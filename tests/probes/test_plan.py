"""Default plans discover what a port speaks; replays are exact; user probe formats."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from slimmer.errors import UsageError
from slimmer.probes import plan
from slimmer.probes.compare import compare
from slimmer.probes.model import ProbeSpec

from . import servers
from .servers import LOOPBACK, free_port


def test_http_port_is_crawled_and_replays_the_same(http_port: int) -> None:
    specs, results = plan.default_plan(LOOPBACK, http_port, "80/tcp", timeout=10)
    assert specs == [r.spec for r in results]
    assert len(specs) == 13 and specs[0] == ProbeSpec(kind="http", port="80/tcp", scheme="http")
    assert specs[-1].path == plan.MISSING_PAGE and results[-1].status == 404
    replay = plan.run_specs(LOOPBACK, {"80/tcp": http_port}, specs)
    assert [r.spec for r in replay] == specs
    assert compare(results, replay) == []  # /dynamic changed, but it was not stable


def test_slim_site_missing_a_file_is_a_difference(site: Path, tmp_path: Path) -> None:
    original_root = shutil.copytree(site, tmp_path / "original")
    slim_root = shutil.copytree(site, tmp_path / "slim")
    (slim_root / "deep" / "1.html").unlink()
    (slim_root / "app.js").write_text("console.log('changed')")
    with servers.serving(servers.site_server(original_root)) as port:
        specs, results = plan.default_plan(LOOPBACK, port, "8080/tcp", timeout=10)
    with servers.serving(servers.site_server(slim_root)) as port:
        replay = plan.run_specs(LOOPBACK, {"8080/tcp": port}, specs)
    assert compare(results, replay) == [
        "GET http://:8080/app.js: body differs (16 B sha256 "
        f"{results[2].body_sha256[:12]} in the original, 22 B sha256 "
        f"{replay[2].body_sha256[:12]} in the slim image)",
        "GET http://:8080/deep/1.html: status 200 in the original, 404 in the slim image",
    ]


def test_https_only_port(https_port: int) -> None:
    specs, results = plan.default_plan(LOOPBACK, https_port, "8443/tcp", timeout=10)
    assert specs[0].scheme == "https" and results[0].status == 200
    assert all(s.scheme == "https" for s in specs)


@pytest.mark.parametrize(("fixture", "kind", "reply"), [
    ("redis_port", "redis", "PONG redis_version="),
    ("memcached_port", "memcached", "VERSION "),
    ("postgres_port", "postgres", "ready server_version="),
    ("mariadb_port", "mysql", "protocol 10 server "),
    ("mongo_port", "mongodb", "hello ok"),
    ("banner_port", "tcp", "speaks"),
])
def test_protocols_are_sniffed_on_any_port(fixture: str, kind: str, reply: str,
                                           request: pytest.FixtureRequest) -> None:
    port = request.getfixturevalue(fixture)
    specs, results = plan.default_plan(LOOPBACK, port, "7000/tcp", timeout=20)
    assert specs == [ProbeSpec(kind=kind, port="7000/tcp")]
    (result,) = results
    assert result.ok and result.stable and result.reply.startswith(reply)
    replay = plan.run_specs(LOOPBACK, {"7000/tcp": port}, specs)
    assert compare(results, replay) == []


def test_well_known_port_is_tried_first(postgres_port: int, tried: list[tuple[str, float]]) -> None:
    specs, _ = plan.default_plan(LOOPBACK, postgres_port, "5432/tcp", timeout=20)
    assert specs == [ProbeSpec(kind="postgres", port="5432/tcp")]
    assert {kind for kind, _timeout in tried} == {"postgres"}  # no HTTP or Redis guesses first


def test_silent_port_is_a_tcp_probe(silent_port: int, tried: list[tuple[str, float]]) -> None:
    specs, results = plan.default_plan(LOOPBACK, silent_port, "9000/tcp")
    assert tried == [("http", plan.SNIFF_HTTP_TIMEOUT)]  # no guesses after GET / went unanswered
    assert specs == [ProbeSpec(kind="tcp", port="9000/tcp")]
    assert results[0].ok and results[0].stable and results[0].reply == "open"


def test_silent_port_within_a_short_timeout(silent_port: int,
                                            tried: list[tuple[str, float]]) -> None:
    specs, results = plan.default_plan(LOOPBACK, silent_port, "9000/tcp", timeout=2)
    assert [kind for kind, _timeout in tried] == ["http"]
    assert all(timeout <= 2 for _kind, timeout in tried)  # each guess within the budget
    assert specs == [ProbeSpec(kind="tcp", port="9000/tcp")] and results[0].reply == "open"


def test_port_that_closes_at_once_does_not_fail_the_build(closing_port: int) -> None:
    specs, results = plan.default_plan(LOOPBACK, closing_port, "9000/tcp", timeout=1)
    assert specs == [ProbeSpec(kind="tcp", port="9000/tcp")]
    assert not results[0].ok and results[0].error == "connection closed at once"
    replay = plan.run_specs(LOOPBACK, {"9000/tcp": closing_port}, specs, timeout=1)
    assert compare(results, replay) == []


def test_docker_proxy_like_port_waits_for_the_backend(site: Path) -> None:
    backend_port = free_port()
    with servers.serving(servers.TcpServer(servers.proxy_to(backend_port))) as proxy_port, \
            servers.serving_after(lambda: servers.site_server(site, port=backend_port),
                                  _set_later(1.0)):
        specs, results = plan.default_plan(LOOPBACK, proxy_port, "80/tcp", timeout=15)
    assert specs[0].kind == "http" and results[0].status == 200 and len(specs) == 13


def test_slim_server_that_does_not_serve_is_a_difference(redis_port: int) -> None:
    specs, results = plan.default_plan(LOOPBACK, redis_port, "6379/tcp", timeout=10)
    with servers.serving(servers.TcpServer(servers.closes_at_once)) as broken:
        replay = plan.run_specs(LOOPBACK, {"6379/tcp": broken}, specs, timeout=1)
    assert not replay[0].ok
    assert compare(results, replay) == [
        f"redis :6379: replied {results[0].reply!r} in the original, "
        "failed (connection closed at once) in the slim image"]


def test_udp_ports_get_no_probe() -> None:
    assert plan.default_plan(LOOPBACK, free_port(), "53/udp", timeout=1) == ([], [])


def test_run_specs_without_the_port_published() -> None:
    (result,) = plan.run_specs(LOOPBACK, {}, [ProbeSpec(kind="redis", port="6379/tcp")])
    assert not result.ok and result.error == "port 6379/tcp is not published"


def test_user_specs_run_twice_and_resolve_their_scheme(https_port: int) -> None:
    specs = plan.bind_specs([plan.parse_probe_cmd("GET /about.html")], ["443/tcp"])
    results = plan.run_specs(LOOPBACK, {"443/tcp": https_port}, specs, repeat=2)
    assert results[0].stable and results[0].spec.scheme == "https"
    assert results[0].description.startswith("GET https://:443/about.html -> 200 text/html")


def test_parse_probe_cmd() -> None:
    assert plan.parse_probe_cmd("get /a?b=1") == ProbeSpec(kind="http", port="", path="/a?b=1")
    assert plan.parse_probe_cmd("POST https://:8443/api") == ProbeSpec(
        kind="http", port="8443/tcp", method="POST", path="/api", scheme="https")
    assert plan.parse_probe_cmd("HEAD http://:8080").path == "/"
    for bad in ("GET", "/path", "GET path", "GET http://host:80/", "GET http://:0/",
                "GET /a /b", "G3T /"):
        with pytest.raises(UsageError) as caught:
            plan.parse_probe_cmd(bad)
        assert "\n" not in caught.value.one_line() and "--http-probe-cmd" in caught.value.message


def test_bind_specs() -> None:
    home, api = plan.parse_probe_cmd("GET /"), plan.parse_probe_cmd("GET http://:9000/api")
    plans = [ProbeSpec(kind="http", port="8443/tcp", scheme="https"),
             ProbeSpec(kind="redis", port="6379/tcp")]
    assert plan.bind_specs([home, api], ["8443/tcp", "6379/tcp", "9000/tcp"], plans) == [
        home.with_port("8443/tcp", "https"), api]
    assert plan.bind_specs([home], ["80/tcp", "53/udp", "81/tcp"]) == [
        home.with_port("80/tcp"), home.with_port("81/tcp")]
    with pytest.raises(UsageError, match="exposes no TCP port"):
        plan.bind_specs([home], ["53/udp"])


def test_load_probe_file(tmp_path: Path) -> None:
    path = tmp_path / "probes.json"
    path.write_text(json.dumps([
        {"path": "/"},
        {"method": "post", "path": "/api/items", "port": 8080, "headers": {"X-A": "1"},
         "body": {"name": "x"}, "status": 201},
        {"path": "/raw", "port": "8443/tcp", "body": "text", "scheme": "https"},
    ]))
    first, second, third = plan.load_probe_file(path)
    assert first == ProbeSpec(kind="http", port="")
    assert second == ProbeSpec(
        kind="http", port="8080/tcp", method="POST", path="/api/items",
        headers=(("X-A", "1"), ("Content-Type", "application/json")), body='{"name":"x"}',
        expect_status=201)
    assert (third.port, third.body, third.scheme) == ("8443/tcp", "text", "https")
    assert third.headers == ()


@pytest.mark.parametrize(("content", "message"), [
    ('{"path": "/"}', "must be a JSON list of requests"),
    ('[{"path": "/"},\n {"path": "/", }]', "not valid JSON (line 2 column"),
    ('[{"path": "/"}, "GET /"]', "entry 2: must be an object"),
    ('[{"path": "/", "expect": 200}]', "entry 1: unknown key 'expect'"),
    ('[{"path": "relative"}]', "entry 1: \"path\" must be a string starting with \"/\""),
    ('[{"method": "GET"}]', "entry 1: \"path\" must be"),
    ('[{"path": "/", "method": "G T"}]', "entry 1: \"method\" must be a word"),
    ('[{"path": "/", "status": "200"}]', "entry 1: \"status\" must be an HTTP status"),
    ('[{"path": "/", "status": true}]', "entry 1: \"status\" must be an HTTP status"),
    ('[{"path": "/", "port": 70000}]', "entry 1: port 70000 is not between 1 and 65535"),
    ('[{"path": "/", "port": "80/udp"}]', "entry 1: \"port\" must be a number"),
    ('[{"path": "/", "headers": {"A": 1}}]', "entry 1: \"headers\" must be an object of strings"),
    ('[{"path": "/", "scheme": "ftp"}]', "entry 1: \"scheme\" must be"),
])
def test_probe_file_errors_name_the_file_and_entry(tmp_path: Path, content: str,
                                                   message: str) -> None:
    path = tmp_path / "probes.json"
    path.write_text(content)
    with pytest.raises(UsageError) as caught:
        plan.load_probe_file(path)
    text = caught.value.one_line()
    assert text.startswith(f"probe file {path}: ") and message in text and "\n" not in text
    assert caught.value.hint


def test_missing_probe_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read it"):
        plan.load_probe_file(tmp_path / "absent.json")


def _set_later(seconds: float) -> threading.Event:
    event = threading.Event()
    timer = threading.Timer(seconds, event.set)
    timer.daemon = True
    timer.start()
    return event


@pytest.fixture
def tried(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """Every protocol a plan tries (HTTP detection and conversations), with the timeout it
    gave that try, in order."""
    attempts: list[tuple[str, float]] = []
    detect = plan.http.detect_scheme

    def detecting(host: str, port: int, container_port: str, timeout: float):
        attempts.append(("http", timeout))
        return detect(host, port, container_port, timeout)

    monkeypatch.setattr(plan.http, "detect_scheme", detecting)
    for kind, converse in list(plan.CONVERSATIONS.items()):
        def conversing(host: str, port: int, timeout: float, kind=kind, converse=converse):
            attempts.append((kind, timeout))
            return converse(host, port, timeout)

        monkeypatch.setitem(plan.CONVERSATIONS, kind, conversing)
    return attempts
