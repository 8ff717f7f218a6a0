"""HTTP probes: one request (http, then https), and a same-origin crawl from "/".

Requests carry a Host header derived from the container port (``localhost`` or
``localhost:PORT``), never from the host port the engine published, so a page that echoes its
host is the same in the original and the slim run. Each request uses a fresh connection.
Bodies are hashed as they stream; at most ``BODY_LIMIT`` bytes are read (and hashed).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import time
from collections import deque
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

from slimmer.probes.model import ProbeResult, ProbeSpec, port_number
from slimmer.probes.protocols import unverified_tls
from slimmer.probes.wait import describe_error

BODY_LIMIT = 32 << 20
HTML_LIMIT = 2 << 20
HANDSHAKE_TIMEOUT = 2.0
USER_AGENT = "slimmer-probe"
DEFAULT_PORTS = {"http": 80, "https": 443}
LINK_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src"}
HTML_TYPES = ("text/html", "application/xhtml+xml")
URL_SAFE = "/%:@!$&'()*+,;=~"
"""Characters kept as they are in crawled paths; others (spaces, non-ASCII) are encoded."""


@dataclass(frozen=True)
class Answer:
    """One HTTP response: what is compared, plus what the crawl needs."""

    status: int
    content_type: str
    body_sha256: str
    body_len: int
    location: str = ""
    html: bytes = b""  # the body when it is (or may be) HTML, up to HTML_LIMIT, for its links

    def key(self) -> tuple[int, str, str]:
        return self.status, self.content_type, self.body_sha256


def host_header(spec: ProbeSpec, scheme: str) -> str:
    number = port_number(spec.port)
    return "localhost" if DEFAULT_PORTS[scheme] == number else f"localhost:{number}"


def fetch(host: str, port: int, spec: ProbeSpec, scheme: str, timeout: float) -> Answer:
    """Send ``spec`` once over ``scheme``; raises OSError or http.client.HTTPException."""
    if scheme == "https":  # a TLS server answers the handshake at once: do not wait long
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=min(timeout, HANDSHAKE_TIMEOUT), context=unverified_tls())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"Host": host_header(spec, scheme), "User-Agent": USER_AGENT, "Connection": "close"}
    headers.update(dict(spec.headers))
    try:
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        conn.request(spec.method, spec.path, body=spec.body.encode() or None, headers=headers)
        response = conn.getresponse()
        content_type = response.getheader("Content-Type", "")
        is_html = content_type.split(";", 1)[0].strip().lower() in (*HTML_TYPES, "")
        digest = hashlib.sha256()
        size = 0
        html = b""
        while size < BODY_LIMIT:
            chunk = response.read(min(65536, BODY_LIMIT - size))
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            if is_html and len(html) < HTML_LIMIT:
                html += chunk[:HTML_LIMIT - len(html)]
        return Answer(response.status, content_type, digest.hexdigest(), size,
                      response.getheader("Location", ""), html)
    finally:
        conn.close()


def probe(host: str, port: int, spec: ProbeSpec, timeout: float,
          repeat: int = 1) -> tuple[ProbeResult, Answer | None]:
    """Send ``spec`` ``repeat`` times (scheme "" tries http, then https); the result and answer.

    The result's spec carries the scheme that answered. ``stable`` is set when ``repeat`` >= 2
    and every answer was the same.
    """
    start = time.monotonic()
    schemes = [spec.scheme] if spec.scheme else ["http", "https"]
    answer: Answer | None = None
    errors: list[str] = []
    for scheme in schemes:
        try:
            answer = fetch(host, port, spec, scheme, timeout)
        except (OSError, http.client.HTTPException, UnicodeError) as exc:
            errors.append(f"{scheme}: {describe_http_error(exc)}")
            continue
        spec = spec.with_port(spec.port, scheme)
        break
    elapsed = time.monotonic() - start
    if answer is None:
        return ProbeResult(spec=spec, ok=False, error="; ".join(errors), elapsed=elapsed), None
    stable = repeat >= 2
    for _ in range(repeat - 1):
        try:
            again = fetch(host, port, spec, spec.scheme, timeout)
        except (OSError, http.client.HTTPException, UnicodeError):
            stable = False
            break
        stable = stable and again.key() == answer.key()
    ok = spec.expect_status in (None, answer.status)
    result = ProbeResult(
        spec=spec, ok=ok, status=answer.status, content_type=answer.content_type,
        body_sha256=answer.body_sha256, body_len=answer.body_len, stable=stable,
        error="" if ok else f"expected status {spec.expect_status}",
        elapsed=elapsed,
    )
    return result, answer


def describe_http_error(exc: BaseException) -> str:
    if isinstance(exc, http.client.RemoteDisconnected):
        return "closed the connection without a response"
    if isinstance(exc, http.client.BadStatusLine):
        return "not an HTTP response"
    return describe_error(exc)


def detect_scheme(host: str, port: int, container_port: str, timeout: float) -> str | None:
    """The scheme a port answers GET / over: http, else https; None when neither answers.

    A plain-HTTP "400 Bad Request" is what TLS servers such as nginx answer to http, so https
    is tried then too and preferred when it answers. Raises TimeoutError when the server let a
    whole plain request go unanswered: TLS servers fail such a request at once, and so do the
    servers of the protocols slimmer knows.
    """
    spec = ProbeSpec(kind="http", port=container_port)
    plain: Answer | None = None
    try:
        plain = fetch(host, port, spec, "http", timeout)
        if plain.status != 400:
            return "http"
    except TimeoutError:
        raise
    except (OSError, http.client.HTTPException):
        pass
    try:
        fetch(host, port, spec, "https", timeout)
        return "https"
    except (OSError, http.client.HTTPException):
        return "http" if plain else None


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.base = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "base" and values.get("href") and not self.base:
            self.base = values["href"] or ""
        attr = LINK_ATTRS.get(tag)
        if attr and values.get(attr):
            self.links.append((values[attr] or "").strip())


def extract_links(html: bytes, page_url: str) -> list[str]:
    """Absolute URLs of the a/link href and script/img src in ``html``, in document order."""
    parser = _LinkParser()
    try:
        parser.feed(html.decode("utf-8", errors="replace"))
        parser.close()
    except (AssertionError, ValueError):  # html.parser's reaction to some broken markup
        pass
    links = []
    try:
        base = urljoin(page_url, parser.base) if parser.base else page_url
    except ValueError:  # a malformed <base>
        base = page_url
    for link in parser.links:
        with contextlib.suppress(ValueError):  # e.g. "http://[bad"
            links.append(urljoin(base, link))
    return links


def same_origin_path(url: str, scheme: str, netloc: str) -> str | None:
    """The path (with query, percent-encoded where needed) of ``url`` when it has the given
    origin, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme != scheme:
        return None
    if _netloc(parts.netloc, scheme) != _netloc(netloc, scheme):
        return None
    path = quote(parts.path or "/", safe=URL_SAFE)
    return path + (f"?{quote(parts.query, safe=URL_SAFE + '?')}" if parts.query else "")


def _netloc(netloc: str, scheme: str) -> str:
    netloc = netloc.lower().rsplit("@", 1)[-1]
    default = f":{DEFAULT_PORTS[scheme]}"
    return netloc[: -len(default)] if netloc.endswith(default) else netloc


def crawl(host: str, port: int, container_port: str, scheme: str, timeout: float,
          depth: int = 3, pages: int = 50, repeat: int = 2,
          budget: float | None = None) -> list[ProbeResult]:
    """GET "/" and the same-origin pages it links to, breadth first.

    Links are followed from HTML pages (a, link, script, img) and redirects (Location), up to
    ``depth`` links away from "/" and ``pages`` pages in all; no page is started once
    ``budget`` seconds have passed. Each page is requested ``repeat`` times to tell stable
    answers from dynamic ones; ``timeout`` bounds each request.
    """
    stop = time.monotonic() + budget if budget is not None else None
    origin = ProbeSpec(kind="http", port=container_port, scheme=scheme)
    netloc = host_header(origin, scheme)
    queue: deque[tuple[str, int]] = deque([("/", 0)])
    seen = {"/"}
    results: list[ProbeResult] = []
    while queue and len(results) < pages and (stop is None or time.monotonic() < stop):
        path, level = queue.popleft()
        spec = ProbeSpec(kind="http", port=container_port, path=path, scheme=scheme)
        result, answer = probe(host, port, spec, timeout, repeat=repeat)
        results.append(result)
        if answer is None or level >= depth:
            continue
        page_url = f"{scheme}://{netloc}{path}"
        redirect = 300 <= answer.status < 400 and answer.location
        links = [urljoin(page_url, answer.location)] if redirect else []
        if 200 <= answer.status < 300 and answer.html:
            links += extract_links(answer.html, page_url)
        for link in links:
            found = same_origin_path(link, scheme, netloc)
            if found is not None and found not in seen:
                seen.add(found)
                queue.append((found, level + 1))
    return results
