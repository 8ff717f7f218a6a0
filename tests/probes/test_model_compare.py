"""ProbeSpec/ProbeResult serialisation and the comparison rules, on crafted results."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from slimmer.probes.compare import compare
from slimmer.probes.model import ProbeResult, ProbeSpec

PAGE = ProbeSpec(kind="http", port="80/tcp", path="/about.html", scheme="http")
REDIS = ProbeSpec(kind="redis", port="6379/tcp")
TCP = ProbeSpec(kind="tcp", port="9000/tcp")


def _page(**changes: object) -> ProbeResult:
    result = ProbeResult(spec=PAGE, ok=True, status=200, content_type="text/html",
                         body_sha256="a" * 64, body_len=1234, stable=True, elapsed=0.01)
    return replace(result, **changes)  # type: ignore[arg-type]


def test_round_trip_through_json() -> None:
    results = [
        _page(),
        ProbeResult(spec=ProbeSpec(kind="http", port="8080/tcp", method="POST", path="/api",
                                   headers=(("A", "1"),), body="x", expect_status=201),
                    ok=False, status=500, error="expected status 201"),
        ProbeResult(spec=REDIS, ok=True, reply="PONG redis_version=7.0.15", stable=True),
        ProbeResult(spec=TCP, ok=False, error="connection closed at once"),
    ]
    data = json.loads(json.dumps([r.to_dict() for r in results]))
    assert [ProbeResult.from_dict(d) for d in data] == results
    assert data[0]["description"] == "GET http://:80/about.html -> 200 text/html 1234 B"
    assert "headers" not in data[2]["spec"]  # protocol specs carry only kind and port


def test_descriptions() -> None:
    assert _page(content_type="text/html; charset=utf-8").description == (
        "GET http://:80/about.html -> 200 text/html 1234 B")
    assert ProbeResult(spec=REDIS, ok=True, reply="PONG").description == "redis :6379 -> PONG"
    assert ProbeResult(spec=TCP, ok=False, error="connection refused").description == (
        "tcp :9000 -> error: connection refused")
    https = ProbeSpec(kind="http", port="443/tcp", scheme="https", method="HEAD")
    assert https.describe() == "HEAD https://:443/"


def test_invalid_spec() -> None:
    with pytest.raises(ValueError):
        ProbeSpec(kind="ftp", port="21/tcp")
    with pytest.raises(ValueError):
        ProbeSpec(kind="http", port="80/tcp", scheme="gopher")


def test_same_answers_are_no_difference() -> None:
    assert compare([_page()], [_page(stable=False, elapsed=3.0)]) == []


def test_status_difference_is_one_line() -> None:
    assert compare([_page()], [_page(status=404, content_type="text/plain", body_sha256="b")]) == [
        "GET http://:80/about.html: status 200 in the original, 404 in the slim image"]


def test_content_type_and_stable_body() -> None:
    assert compare([_page()], [_page(content_type="text/plain", body_sha256="b" * 64,
                                     body_len=5)]) == [
        "GET http://:80/about.html: content type 'text/html' in the original, 'text/plain' in "
        "the slim image",
        "GET http://:80/about.html: body differs (1234 B sha256 aaaaaaaaaaaa in the original, "
        "5 B sha256 bbbbbbbbbbbb in the slim image)",
    ]


def test_unstable_body_is_not_compared() -> None:
    assert compare([_page(stable=False)], [_page(body_sha256="b" * 64)]) == []


def test_answered_versus_failed_both_ways() -> None:
    failed = ProbeResult(spec=PAGE, ok=False, error="http: connection refused")
    assert compare([_page()], [failed]) == [
        "GET http://:80/about.html: answered 200 in the original, "
        "failed (http: connection refused) in the slim image"]
    assert compare([failed], [_page()]) == [
        "GET http://:80/about.html: failed (http: connection refused) in the original, "
        "answered 200 in the slim image"]
    assert compare([failed], [replace(failed, error="http: timed out")]) == []


def test_expected_status_miss_still_counts_as_an_answer() -> None:
    missed = _page(ok=False, status=500, error="expected status 200")
    assert compare([missed], [missed]) == []
    assert compare([_page(ok=True)], [missed]) == [
        "GET http://:80/about.html: status 200 in the original, 500 in the slim image"]


def test_protocol_replies_compared_where_stable() -> None:
    pong = ProbeResult(spec=REDIS, ok=True, reply="PONG redis_version=7.0.15", stable=True)
    assert compare([pong], [replace(pong, reply="error NOAUTH")]) == [
        "redis :6379: replied 'PONG redis_version=7.0.15' in the original, 'error NOAUTH' "
        "in the slim image"]
    assert compare([replace(pong, stable=False)], [replace(pong, reply="other")]) == []


def test_tcp_banner_bytes_are_not_compared() -> None:
    speaks = ProbeResult(spec=TCP, ok=True, reply="speaks", body_sha256="a" * 64, stable=True)
    assert compare([speaks], [replace(speaks, body_sha256="b" * 64)]) == []
    assert compare([speaks], [replace(speaks, reply="open", body_sha256="")]) == [
        "tcp :9000: replied 'speaks' in the original, 'open' in the slim image"]


def test_replay_must_match() -> None:
    assert compare([_page(), _page()], [_page()]) == [
        "2 probes ran against the original, 1 against the slim image"]
    other = _page(spec=replace(PAGE, path="/other"))
    assert compare([_page()], [other]) == [
        "GET http://:80/about.html: the slim run probed GET http://:80/other instead"]
