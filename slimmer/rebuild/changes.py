"""The ``--new-*``/``--remove-*`` option texts of `slimmer build` read into ConfigChanges.

Commands (``--new-entrypoint``, ``--new-cmd``) are a JSON array or shell words (exec form, no
shell added); ``""`` clears. ``--new-healthcheck`` is the Dockerfile HEALTHCHECK syntax, read by
the Dockerfile parser Docker itself uses (the ``dockerfile`` package).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dockerfile

from slimmer.errors import UsageError
from slimmer.rebuild.config import OWN_LABELS, ConfigChanges

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_NANOSECONDS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
_HEALTH_FLAGS = {
    "interval": "Interval",
    "timeout": "Timeout",
    "start-period": "StartPeriod",
    "start-interval": "StartInterval",
}
_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass
class ConfigOptions:
    """The option texts as given on the command line."""

    new_env: list[str] = field(default_factory=list)
    remove_env: list[str] = field(default_factory=list)
    new_entrypoint: str | None = None
    new_cmd: str | None = None
    new_workdir: str | None = None
    new_user: str | None = None
    new_expose: list[str] = field(default_factory=list)
    remove_expose: list[str] = field(default_factory=list)
    new_label: list[str] = field(default_factory=list)
    remove_label: list[str] = field(default_factory=list)
    new_volume: list[str] = field(default_factory=list)
    new_healthcheck: str | None = None


def config_changes(
    options: ConfigOptions, environ: Mapping[str, str] = os.environ
) -> ConfigChanges:
    """Check and read every option; UsageError names the first bad one."""
    removed_labels = tuple(_name(text, "--remove-label") for text in options.remove_label)
    own = sorted(set(removed_labels) & set(OWN_LABELS))
    if own:
        raise UsageError(
            f"--remove-label {own[0]}: slimmer's provenance labels stay on the slim image",
            "remove other labels only",
        )
    return ConfigChanges(
        env=_env(options.new_env, environ),
        remove_env=tuple(_name(text, "--remove-env") for text in options.remove_env),
        entrypoint=_command(options.new_entrypoint, "--new-entrypoint"),
        cmd=_command(options.new_cmd, "--new-cmd"),
        workdir=_absolute(options.new_workdir, "--new-workdir"),
        user=_user(options.new_user),
        expose=tuple(port(text, "--new-expose") for text in options.new_expose),
        remove_expose=tuple(port(text, "--remove-expose") for text in options.remove_expose),
        labels=dict(_assignment(text, "--new-label") for text in options.new_label),
        remove_labels=removed_labels,
        volumes=tuple(_path(text, "--new-volume") for text in options.new_volume),
        healthcheck=None if options.new_healthcheck is None else healthcheck(
            options.new_healthcheck
        ),
    )


def _env(items: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``KEY=VALUE``, or ``KEY`` for the value in slimmer's own environment (as `docker run -e`).
    Error messages name the variable, never its value."""
    env: dict[str, str] = {}
    for item in items:
        if "=" in item:
            name, value = item.split("=", 1)
        else:
            name, value = item, environ.get(item)
            if value is None:
                raise UsageError(
                    f"--new-env {item}: {item} is not set in slimmer's environment",
                    f"export {item} or give --new-env {item}=VALUE",
                )
        env[_name(name, "--new-env")] = value
    return env


def _name(text: str, option: str) -> str:
    if not text or "=" in text or any(c.isspace() for c in text):
        raise UsageError(
            f"{option} {text.split('=', 1)[0]!r}: not a name", f"give {option} NAME (no '=')"
        )
    return text


def _assignment(text: str, option: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals:
        raise UsageError(f"{option} {text!r}: no value", f"give {option} KEY=VALUE")
    return _name(name, option), value


def _command(text: str | None, option: str) -> tuple[str, ...] | None:
    if text is None:
        return None
    return parse_command(text, option)


def parse_command(text: str, option: str) -> tuple[str, ...]:
    """A JSON array of strings, or shell words (``"python3 -m app"``); ``""`` is empty."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            words = json.loads(stripped)
        except ValueError:
            words = None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise UsageError(
                f"{option} {text!r}: not a JSON array of strings",
                f'give {option} \'["prog", "arg"]\' or shell words',
            )
        return tuple(words)
    try:
        return tuple(shlex.split(stripped))
    except ValueError as exc:
        raise UsageError(f"{option} {text!r}: {exc}", "check the quotes") from None


def _absolute(text: str | None, option: str) -> str | None:
    return None if text is None else _path(text, option)


def _path(text: str, option: str) -> str:
    if not text.startswith("/") or "\0" in text:
        raise UsageError(f"{option} {text!r}: not an absolute path", f"give {option} /PATH")
    return posixpath.normpath(text) if text != "/" else text


def _user(text: str | None) -> str | None:
    """NAME, UID, NAME:GROUP or UID:GID (checked against the image when it runs); "" is root."""
    if text is not None and (text.count(":") > 1 or any(c.isspace() or c == "\0" for c in text)):
        raise UsageError(
            f"--new-user {text!r}: not a user", "give NAME, UID, NAME:GROUP or UID:GID"
        )
    return text


def port(text: str, option: str) -> str:
    """``80`` -> ``80/tcp``; ``53/udp`` kept; anything else is a usage error."""
    number, slash, protocol = text.partition("/")
    protocol = protocol.lower() if slash else "tcp"
    if not number.isdigit() or not 0 < int(number) < 65536 or protocol not in _PROTOCOLS:
        raise UsageError(f"{option} {text!r}: not a port", f"give {option} PORT or PORT/udp")
    return f"{int(number)}/{protocol}"


def healthcheck(text: str) -> dict[str, Any]:
    """``[--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N]
    CMD ...`` (JSON array: exec form; else run by the image's shell) or ``NONE``."""
    hint = "give --new-healthcheck 'CMD curl -f http://localhost/' (Dockerfile syntax) or NONE"
    try:
        parsed = dockerfile.parse_string(f"HEALTHCHECK {text}")
    except dockerfile.GoParseError as exc:
        raise UsageError(f"--new-healthcheck {text!r}: {exc}", hint) from None
    if len(parsed) != 1 or not parsed[0].value:
        raise UsageError(f"--new-healthcheck {text!r}: not one HEALTHCHECK", hint)
    command = parsed[0]
    kind = command.value[0].upper()
    if kind == "NONE" and len(command.value) == 1 and not command.flags:
        return {"Test": ["NONE"]}
    if kind != "CMD" or len(command.value) < 2:
        raise UsageError(f"--new-healthcheck {text!r}: no CMD", hint)
    test = ["CMD", *command.value[1:]] if command.json else ["CMD-SHELL", command.value[1]]
    check: dict[str, Any] = {"Test": test}
    for flag in command.flags:
        name, _, value = flag.lstrip("-").partition("=")
        if name in _HEALTH_FLAGS:
            check[_HEALTH_FLAGS[name]] = duration(value, f"--{name}")
        elif name == "retries" and value.isdigit():
            check["Retries"] = int(value)
        else:
            raise UsageError(f"--new-healthcheck: unknown or bad flag {flag!r}", hint)
    return check


def duration(text: str, flag: str) -> int:
    """A Go duration (``30s``, ``1m30s``, ``500ms``) in nanoseconds, as the engine stores it."""
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise UsageError(
            f"--new-healthcheck {flag}={text}: not a duration", "write 30s, 1m30s or 500ms"
        )
    return round(sum(float(number) * _NANOSECONDS[unit] for number, unit in parts))
