"""The options of an observation and of a build, as plain data the pipeline reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from slimmer.errors import UsageError
from slimmer.imagefs.layer import DEFAULT_MAX_LAYER_BYTES
from slimmer.rebuild.config import ConfigChanges

_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str, option: str) -> int:
    """A byte count: a positive integer, optionally with a K, M, G or T suffix (powers of
    1024), e.g. "64G"."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = cleaned[-1:] if cleaned[-1:] in _SIZE_UNITS else ""
    number = cleaned[: len(cleaned) - len(unit)]
    if not number.isdigit() or int(number) <= 0:
        raise UsageError(f"invalid {option} {text!r}", "give a size such as 512M or 64G")
    return int(number) * _SIZE_UNITS[unit]


@dataclass(frozen=True)
class ContinueAfter:
    """When the observation ends: after the probes, when the target exits, after N seconds,
    or when slimmer receives SIGUSR1."""

    mode: str  # "probe" | "exit" | "timeout" | "signal"
    seconds: float = 0.0

    @classmethod
    def parse(cls, text: str) -> ContinueAfter:
        if text in ("probe", "exit", "signal"):
            return cls(text)
        if text.startswith("timeout:"):
            try:
                seconds = float(text.split(":", 1)[1])
            except ValueError:
                seconds = -1
            if seconds > 0:
                return cls("timeout", seconds)
        raise UsageError(
            f"invalid --continue-after {text!r}",
            "use probe, exit, signal or timeout:SECONDS",
        )


@dataclass
class ObserveOptions:
    http_probe: bool = True
    http_probe_cmds: list[str] = field(default_factory=list)
    probe_file: Path | None = None
    execs: list[str] = field(default_factory=list)
    host_execs: list[str] = field(default_factory=list)
    continue_after: ContinueAfter | None = None  # None: probe when ports/probes exist, else exit
    timeout: float = 120.0  # bound on the whole observation run
    probe_timeout: float = 60.0  # bound on waiting for each port to answer
    # --run: observe once per command (replacing CMD), union the observations; [] runs the CMD
    runs: list[list[str]] = field(default_factory=list)


@dataclass
class SelectOptions:
    include_paths: list[str] = field(default_factory=list)
    include_bins: list[str] = field(default_factory=list)
    include_exes: list[str] = field(default_factory=list)
    include_shell: bool = False
    excludes: list[str] = field(default_factory=list)
    package_db: bool = True  # carry the trimmed package database (--no-package-db)


@dataclass
class BuildOptions:
    image: str
    observe: ObserveOptions = field(default_factory=ObserveOptions)
    select: SelectOptions = field(default_factory=SelectOptions)
    tag: str | None = None
    output_dir: Path | None = None
    archive: Path | None = None
    oci: Path | None = None
    verify: bool = True
    seccomp_log: bool = False
    sbom_format: str = "both"  # cyclonedx | spdx | both | none
    attach_sbom: bool = False
    max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES  # refuse layers larger than this uncompressed
    changes: ConfigChanges = field(default_factory=ConfigChanges)  # --new-*: slim image config
