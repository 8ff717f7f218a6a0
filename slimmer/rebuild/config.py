"""The slim image's config: the original's runtime settings and platform (changed as the
``--new-*``/``--remove-*`` options say), the new layer, one history entry, provenance labels.
Canonical JSON, so equal inputs give equal image ids."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slimmer import __version__
from slimmer.imagefs import ImageFs
from slimmer.rebuild.layer import LayerInfo

RUNTIME_KEYS = (
    "Env",
    "Entrypoint",
    "Cmd",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "StopSignal",
    "Healthcheck",
    "Shell",
)
SOURCE_LABEL = "io.slimmer.source-digest"
VERSION_LABEL = "io.slimmer.version"
OWN_LABELS = (SOURCE_LABEL, VERSION_LABEL)


@dataclass(frozen=True)
class ConfigChanges:
    """How the slim image's runtime config differs from the original's (the ``--new-*`` and
    ``--remove-*`` options of `slimmer build`). ``env`` values are secrets: only their names
    appear in reports (``summary``); ``secrets`` lists the values to keep out of every output."""

    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # values are secrets
    remove_env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None  # () clears it
    cmd: tuple[str, ...] | None = None  # () clears it
    workdir: str | None = None
    user: str | None = None
    expose: tuple[str, ...] = ()  # "8080/tcp"
    remove_expose: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    remove_labels: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    healthcheck: Mapping[str, Any] | None = None  # the engine's Healthcheck object

    def __bool__(self) -> bool:
        return self != ConfigChanges()

    @property
    def secrets(self) -> list[str]:
        return [value for value in self.env.values() if value]

    def apply(self, runtime: Mapping[str, Any]) -> dict[str, Any]:
        """A changed copy of a runtime config (the engine's ``Config`` or an image config's
        ``config``). A new ENTRYPOINT clears the CMD unless a new CMD is given, as in a
        Dockerfile."""
        config = copy.deepcopy(dict(runtime))
        env = [item for item in config.get("Env") or [] if _env_name(item) not in self.remove_env]
        new = {name: f"{name}={value}" for name, value in self.env.items()}
        env = [new.pop(_env_name(item), item) for item in env]  # replaced where they were
        _set(config, "Env", env + list(new.values()))
        if self.entrypoint is not None:
            _set(config, "Entrypoint", list(self.entrypoint))
            if self.cmd is None:
                _set(config, "Cmd", [])
        if self.cmd is not None:
            _set(config, "Cmd", list(self.cmd))
        if self.workdir is not None:
            config["WorkingDir"] = self.workdir
        if self.user is not None:
            config["User"] = self.user
        ports = {p: {} for p in config.get("ExposedPorts") or {} if p not in self.remove_expose}
        _set(config, "ExposedPorts", {**ports, **{p: {} for p in self.expose}})
        labels = {
            k: v for k, v in (config.get("Labels") or {}).items() if k not in self.remove_labels
        }
        _set(config, "Labels", {**labels, **self.labels})
        _set(config, "Volumes", {**(config.get("Volumes") or {}), **{v: {} for v in self.volumes}})
        if self.healthcheck is not None:
            config["Healthcheck"] = dict(self.healthcheck)
        return config

    def summary(self) -> dict[str, Any]:
        """The changes for the report: every setting, but of ``--new-env`` only the names."""
        data: dict[str, Any] = {
            "env": sorted(self.env),
            "remove_env": list(self.remove_env),
            "entrypoint": None if self.entrypoint is None else list(self.entrypoint),
            "cmd": None if self.cmd is None else list(self.cmd),
            "workdir": self.workdir,
            "user": self.user,
            "expose": list(self.expose),
            "remove_expose": list(self.remove_expose),
            "labels": dict(self.labels),
            "remove_labels": list(self.remove_labels),
            "volumes": list(self.volumes),
            "healthcheck": None if self.healthcheck is None else dict(self.healthcheck),
        }
        return {key: value for key, value in data.items() if value not in (None, [], {})}


def _env_name(item: str) -> str:
    return item.split("=", 1)[0]


def _set(config: dict[str, Any], key: str, value: Any) -> None:
    """Set a list or map setting; an empty one is left out, as the engine leaves it out."""
    if value:
        config[key] = value
    else:
        config.pop(key, None)


def build_config(
    fs: ImageFs,
    layer: LayerInfo,
    labels: Mapping[str, str] | None = None,
    changes: ConfigChanges | None = None,
) -> bytes:
    """The config JSON. ``changes`` apply to the original's runtime settings; ``labels`` are
    added, and slimmer's own two labels (source image digest, slimmer version) always are.
    Empty settings are left out and the creation time is written as the engine shows it
    (``created_text``), so the config is the same whether the original's came from its archive
    or from the engine's inspection."""
    original = fs.config
    runtime = (changes or ConfigChanges()).apply(original.get("config") or {})
    config: dict[str, Any] = {k: runtime[k] for k in RUNTIME_KEYS if runtime.get(k) not in _EMPTY}
    config["Labels"] = {
        **(runtime.get("Labels") or {}),
        **(labels or {}),
        SOURCE_LABEL: fs.digest,
        VERSION_LABEL: __version__,
    }
    history: dict[str, Any] = {
        "created_by": f"slimmer {__version__}",
        "comment": f"minified from {fs.digest}",
    }
    image: dict[str, Any] = {
        "architecture": fs.platform.architecture,
        "os": fs.platform.os,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        "history": [history],
    }
    if fs.platform.variant:
        image["variant"] = fs.platform.variant
    created = created_text(original.get("created"))
    if created:
        image["created"] = history["created"] = created
    return canonical_json(image)


_EMPTY = (None, "", [], {})
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)"
)


def created_text(value: Any) -> str:
    """An image's creation time as the engine writes it back (Go's RFC 3339 with up to 9
    digits, trailing zeros cut, "Z" for UTC); "" for none or Go's zero time."""
    found = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return value if isinstance(value, str) else ""
    year, month, day, clock, fraction, zone = found.groups()
    if year == "0001" and month == "01" and day == "01" and clock == "00:00:00" and not (
        fraction or ""
    ).strip("0"):
        return ""
    digits = (fraction or "")[:9].rstrip("0")
    zone = "Z" if zone in ("Z", "z", "+00:00", "-00:00") else zone
    return f"{year}-{month}-{day}T{clock}{'.' + digits if digits else ''}{zone}"


def canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
