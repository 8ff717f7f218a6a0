"""The options of an observation and of a build, as plain data the pipeline reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from slimmer.errors import UsageError
from slimmer.imagefs.layer import DEFAULT_MAX_LAYER_BYTES
from slimmer.rebuild.config import ConfigChanges
from slimmer.runsettings import RunSettings


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


PRESET_NAMES = ("safe", "default", "lean")  # slimmer.selection.presets describes each


@dataclass
class SelectOptions:
    include_paths: list[str] = field(default_factory=list)
    include_bins: list[str] = field(default_factory=list)
    include_exes: list[str] = field(default_factory=list)
    include_shell: bool = False
    excludes: list[str] = field(default_factory=list)
    package_db: bool = True  # carry the trimmed package database (--no-package-db)
    mount_points: list[str] = field(default_factory=list)  # the user's: contents never kept
    preset: str = "default"  # how far the rules widen what the run used (--preset)


@dataclass(frozen=True)
class ComposeOptions:
    """Run the target as a service of a compose file, its dependencies started by Compose."""

    file: Path
    service: str
    project: str | None = None  # None: a project of slimmer's own, removed at the end


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
    # engines, registries and image files (docs: README "Podman", "Remote engines")
    engine_host: str | None = None  # --engine-host; else DOCKER_HOST, contexts, sockets
    context: str | None = None  # --context: a Docker CLI context
    pull: bool = False  # pull the image when the engine lacks it (or has another platform)
    platform: str | None = None  # os/arch[/variant] to pull or to pick from an image file
    push: bool = False  # push the slim tag after a passing verification
    push_always: bool = False  # push even when the verification failed
    load: bool = True  # --no-load: write only --archive/--oci, never tag into the engine
    keep: bool = False  # keep an image loaded from a file in the engine
    sbom_format: str = "both"  # cyclonedx | spdx | both | none
    attach_sbom: bool = False
    max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES  # refuse layers larger than this uncompressed
    read_image: str = "auto"  # auto | cache | walk | save (slimmer.imagefs.reading)
    layer_cache: bool = True  # --no-cache: neither read nor fill the layer index cache
    run: RunSettings = field(default_factory=RunSettings)
    compose: ComposeOptions | None = None
    changes: ConfigChanges = field(default_factory=ConfigChanges)  # --new-*: slim image config
