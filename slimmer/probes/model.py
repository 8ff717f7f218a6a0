"""What a probe asks (ProbeSpec) and what it got (ProbeResult); both JSON-serialisable.

A spec is replayed exactly against the slim image, so it holds only what is independent of the
run: the container port ("80/tcp"), never the host port the engine happened to publish.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

KINDS = ("http", "redis", "postgres", "mysql", "memcached", "mongodb", "tcp")
"""Probe kinds: an HTTP request, a protocol conversation, or a plain TCP connection."""

SCHEMES = ("http", "https", "")
"""HTTP schemes; "" means: try http, then https (resolved in the result's spec)."""


def port_number(port: str) -> int:
    """The number of a container port like "80/tcp"."""
    return int(port.split("/", 1)[0])


@dataclass(frozen=True)
class ProbeSpec:
    """One probe: an HTTP request, or a conversation of ``kind`` on a container port.

    ``port`` is a container port like "80/tcp"; "" (user HTTP probes only, before
    ``plan.bind_specs``) means every HTTP port. ``expect_status`` (HTTP) makes a different status
    a failed probe. ``scheme`` "" tries http, then https.
    """

    kind: str
    port: str
    method: str = "GET"
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    expect_status: int | None = None
    scheme: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown probe kind {self.kind!r}")
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {self.scheme!r}")

    def describe(self) -> str:
        """``GET http://:80/about.html`` for HTTP, ``redis :6379`` for the others."""
        number = port_number(self.port) if self.port else "*"
        if self.kind == "http":
            return f"{self.method} {self.scheme or 'http'}://:{number}{self.path}"
        return f"{self.kind} :{number}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "port": self.port}
        if self.kind == "http":
            data.update(
                method=self.method, path=self.path, headers=dict(self.headers), body=self.body,
                expect_status=self.expect_status, scheme=self.scheme,
            )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeSpec:
        return cls(
            kind=data["kind"],
            port=data["port"],
            method=data.get("method", "GET"),
            path=data.get("path", "/"),
            headers=tuple((str(k), str(v)) for k, v in (data.get("headers") or {}).items()),
            body=data.get("body", ""),
            expect_status=data.get("expect_status"),
            scheme=data.get("scheme", ""),
        )

    def with_port(self, port: str, scheme: str | None = None) -> ProbeSpec:
        return replace(self, port=port, scheme=self.scheme if scheme is None else scheme)


@dataclass
class ProbeResult:
    """What one probe got.

    ``ok``: the target answered (and, for HTTP with ``expect_status``, with that status).
    HTTP: ``status``, ``content_type`` (the full header value), ``body_sha256``/``body_len``.
    Protocols: ``reply``, a summary that is the same between runs of the same server (e.g.
    "PONG redis_version=7.0.15"); ``tcp``: "open" or "speaks" (its banner is hashed in
    ``body_sha256``). ``stable``: the probe ran twice and got the same answer both times.
    """

    spec: ProbeSpec
    ok: bool
    status: int | None = None
    content_type: str = ""
    body_sha256: str = ""
    body_len: int = 0
    reply: str = ""
    stable: bool = False
    error: str = ""
    elapsed: float = 0.0

    @property
    def description(self) -> str:
        """e.g. ``GET http://:80/about.html -> 200 text/html 1234 B``, ``redis :6379 -> PONG``."""
        head = self.spec.describe()
        if self.error and not (self.ok or self.status is not None or self.reply):
            return f"{head} -> error: {self.error}"
        if self.spec.kind == "http":
            media = self.content_type.split(";", 1)[0].strip() or "-"
            text = f"{head} -> {self.status} {media} {self.body_len} B"
        else:
            text = f"{head} -> {self.reply}"
        return f"{text} ({self.error})" if self.error else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "ok": self.ok,
            "status": self.status,
            "content_type": self.content_type,
            "body_sha256": self.body_sha256,
            "body_len": self.body_len,
            "reply": self.reply,
            "stable": self.stable,
            "error": self.error,
            "elapsed": round(self.elapsed, 6),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        return cls(
            spec=ProbeSpec.from_dict(data["spec"]),
            ok=bool(data["ok"]),
            status=data.get("status"),
            content_type=data.get("content_type", ""),
            body_sha256=data.get("body_sha256", ""),
            body_len=int(data.get("body_len", 0)),
            reply=data.get("reply", ""),
            stable=bool(data.get("stable", False)),
            error=data.get("error", ""),
            elapsed=float(data.get("elapsed", 0.0)),
        )
