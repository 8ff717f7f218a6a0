"""HTTP probes against real servers: python's http.server (plain and TLS) and nginx."""

from __future__ import annotations

import hashlib

import pytest

from slimmer.probes import http
from slimmer.probes.model import ProbeSpec

from .servers import LOOPBACK, SITE, free_port


def _sha(data: str) -> str:
    return hashlib.sha256(data.encode("latin-1")).hexdigest()


def _spec(path: str = "/", **kwargs: object) -> ProbeSpec:
    return ProbeSpec(kind="http", port="80/tcp", path=path, **kwargs)  # type: ignore[arg-type]


def test_crawl_follows_same_origin_links_within_depth(http_port: int) -> None:
    results = http.crawl(LOOPBACK, http_port, "80/tcp", "http", timeout=5)
    by_path = {r.spec.path: r for r in results}
    assert results[0].spec.path == "/"
    assert set(by_path) == {
        "/", "/style.css", "/app.js", "/about.html", "/img/logo.png", "/dynamic",
        "/search?q=x", "/redirect", "/missing.html",  # depth 1
        "/moved.html", "/deep/1.html",  # depth 2 (a redirect counts as a link)
        "/deep/2.html",  # depth 3: fetched, its links are not followed
    }
    assert len(results) == len(by_path)  # each page once ("/about.html#team" is the same page)
    home = by_path["/"]
    assert (home.status, home.content_type, home.body_sha256) == (
        200, "text/html", _sha(SITE["index.html"]))
    assert home.ok and home.stable
    assert by_path["/style.css"].content_type == "text/css"
    assert by_path["/redirect"].status == 302
    assert by_path["/missing.html"].status == 404 and by_path["/missing.html"].ok
    dynamic = by_path["/dynamic"]
    assert dynamic.status == 200 and not dynamic.stable
    assert all(r.spec.scheme == "http" and r.spec.port == "80/tcp" for r in results)


def test_crawl_page_limit(http_port: int) -> None:
    results = http.crawl(LOOPBACK, http_port, "80/tcp", "http", timeout=5, pages=3)
    assert [r.spec.path for r in results] == ["/", "/style.css", "/app.js"]


def test_crawl_depth_zero_is_just_the_home_page(http_port: int) -> None:
    assert len(http.crawl(LOOPBACK, http_port, "80/tcp", "http", timeout=5, depth=0)) == 1


def test_host_header_comes_from_the_container_port(http_port: int) -> None:
    result, _ = http.probe(LOOPBACK, http_port, _spec("/echo-host", scheme="http"), 5)
    assert result.body_sha256 == _sha("localhost")
    other = ProbeSpec(kind="http", port="8080/tcp", path="/echo-host", scheme="http")
    result, _ = http.probe(LOOPBACK, http_port, other, 5)
    assert result.body_sha256 == _sha("localhost:8080")


def test_https_when_http_fails(https_port: int) -> None:
    result, answer = http.probe(LOOPBACK, https_port, _spec(), 5, repeat=2)
    assert result.ok and result.status == 200 and result.stable
    assert result.spec.scheme == "https"
    assert answer is not None and answer.html
    assert http.detect_scheme(LOOPBACK, https_port, "443/tcp", 5) == "https"
    crawled = http.crawl(LOOPBACK, https_port, "443/tcp", "https", timeout=5)
    assert {r.spec.path for r in crawled} >= {"/", "/about.html", "/deep/1.html"}


def test_nginx_tls_port_answers_400_to_http_so_https_is_chosen(nginx_tls_port: int) -> None:
    plain, _ = http.probe(LOOPBACK, nginx_tls_port, _spec(scheme="http"), 5)
    assert plain.status == 400  # nginx: "The plain HTTP request was sent to HTTPS port"
    assert http.detect_scheme(LOOPBACK, nginx_tls_port, "443/tcp", 5) == "https"
    secure, _ = http.probe(LOOPBACK, nginx_tls_port, _spec(scheme="https"), 5)
    assert secure.status == 200 and secure.body_sha256 == _sha(SITE["index.html"])


def test_post_with_headers_and_body(http_port: int) -> None:
    spec = _spec("/echo", method="POST", body='{"a":1}', expect_status=201, scheme="http",
                 headers=(("Content-Type", "application/json"),))
    result, _ = http.probe(LOOPBACK, http_port, spec, 5)
    assert result.ok and result.status == 201
    assert result.body_sha256 == _sha('{"a":1}|application/json')


def test_unexpected_status_fails_the_probe(http_port: int) -> None:
    result, _ = http.probe(LOOPBACK, http_port, _spec("/missing.html", expect_status=200), 5)
    assert not result.ok and result.status == 404
    assert result.description == (
        "GET http://:80/missing.html -> 404 text/html 335 B (expected status 200)")


def test_nothing_listening() -> None:
    result, answer = http.probe(LOOPBACK, free_port(), _spec(), 2)
    assert answer is None and not result.ok and result.status is None
    assert result.error == "http: connection refused; https: connection refused"


def test_non_http_server_is_not_http(redis_port: int, silent_port: int) -> None:
    assert http.detect_scheme(LOOPBACK, redis_port, "6379/tcp", 2) is None
    with pytest.raises(TimeoutError):  # silent even to a whole request
        http.detect_scheme(LOOPBACK, silent_port, "9000/tcp", 0.5)


def test_extract_links_tags_and_base() -> None:
    html = b"""<html><head><base href="/app/"><link href="s.css"><script src="/j.js"></script>
    </head><body><a href="x.html">x</a><img src="i.png"><iframe src="no.html"></iframe>
    <form action="/no"></form><a>no href</a><a href=" spaced.html ">s</a></body></html>"""
    assert http.extract_links(html, "http://localhost/index.html") == [
        "http://localhost/app/s.css", "http://localhost/j.js", "http://localhost/app/x.html",
        "http://localhost/app/i.png", "http://localhost/app/spaced.html",
    ]


def test_same_origin() -> None:
    assert http.same_origin_path("http://localhost:80/a?b=1#c", "http", "localhost") == "/a?b=1"
    assert http.same_origin_path("http://LOCALHOST", "http", "localhost") == "/"
    assert http.same_origin_path("https://localhost/a", "http", "localhost") is None
    assert http.same_origin_path("http://localhost:8080/a", "http", "localhost") is None
    assert http.same_origin_path("http://localhost:8080/a", "http", "localhost:8080") == "/a"
    assert http.same_origin_path("http://example.com/a", "http", "localhost") is None
    assert http.same_origin_path("mailto:a@localhost", "http", "localhost") is None
    assert http.same_origin_path("http://[bad/x", "http", "localhost") is None
    assert http.same_origin_path("http://localhost/a b/é?q=a b", "http", "localhost") == (
        "/a%20b/%C3%A9?q=a%20b")


def test_unencodable_request_is_a_failed_probe(http_port: int) -> None:
    result, answer = http.probe(LOOPBACK, http_port, _spec("/é", scheme="http"), 2)
    assert answer is None and not result.ok and result.error.startswith("http: ")


def test_broken_markup_keeps_the_links_found_before_it() -> None:
    html = b"<a href=x><![foo[ bar ]]><a href=y>"  # html.parser raises on this marked section
    assert http.extract_links(html, "http://localhost/") == ["http://localhost/x"]
