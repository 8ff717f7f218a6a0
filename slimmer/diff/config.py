"""Config differences of two images (env, user, entrypoint, cmd, ports, labels, ...), from the
masked config summaries: a secret value is never shown, only that it changed."""

from __future__ import annotations

from typing import Any

FIELDS = (
    "workdir",
    "entrypoint",
    "cmd",
    "ports",
    "volumes",
    "healthcheck",
    "stop_signal",
    "architecture",
)


def diff_config(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """One item per difference: ``field``, optional ``key`` (env name, label), ``a``, ``b``
    (None where absent)."""
    out: list[dict[str, Any]] = []
    if a["user"]["configured"] != b["user"]["configured"]:
        out.append({"field": "user", "a": a["user"]["configured"], "b": b["user"]["configured"]})
    for field in FIELDS:
        if a[field] != b[field]:
            out.append({"field": field, "a": a[field], "b": b[field]})
    env_a = {e["name"]: e["value"] for e in a["env"]}
    env_b = {e["name"]: e["value"] for e in b["env"]}
    out += _mapping("env", env_a, env_b)
    out += _mapping("labels", a["labels"], b["labels"])
    return out


def _mapping(field: str, a: dict[str, str], b: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"field": field, "key": key, "a": a.get(key), "b": b.get(key)}
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]
