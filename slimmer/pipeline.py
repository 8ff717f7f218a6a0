"""`build` and `profile` as sequences of phases, each timed, with the session cleaned up always."""

from __future__ import annotations

import re
import shlex
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from slimmer.arch import sensor_arch
from slimmer.compose import compose_stack
from slimmer.delivery import (
    check_delivery,
    push,
    push_warnings,
    result_report,
    slim_image,
    source_report,
)
from slimmer.diff.build import write_build_audit
from slimmer.endpoints import resolve_endpoint
from slimmer.engine import Engine, ImageInfo
from slimmer.errors import EXIT_OK, EXIT_VERIFY_FAILED, SlimmerError, UsageError
from slimmer.escaping import map_strings, printable
from slimmer.findings import findings
from slimmer.imagefs import ImageFs
from slimmer.imagefs.cache import LayerCache
from slimmer.imagefs.reading import ReadReport, read_for_build, read_save_stream
from slimmer.imagefs.served import ServedFs
from slimmer.inventory import Inventory, read_inventory
from slimmer.observation import Observation
from slimmer.observe import Observed, ObservedRun, observe, run_targets, user_specs
from slimmer.options import BuildOptions, ContinueAfter, SelectOptions
from slimmer.profiles import (
    container_caps,
    denied_by_default,
    docker_default_names,
    find_missing_syscalls,
    profile_counts,
    seccomp_profile,
    unknown_syscalls,
    write_profiles,
)
from slimmer.progress import Progress
from slimmer.rebuild import build_image, default_tag
from slimmer.rebuild.archive import SlimImage
from slimmer.report import (
    Tally,
    findings_summary,
    header,
    observation_summary,
    probes_summary,
    runs_summary,
    split_tree,
    verification_summary,
    write_outputs,
)
from slimmer.runner import USER_SIGNAL, RunControl
from slimmer.runsettings import RunSettings
from slimmer.sbom import SlimPackages, formats_of, slim_packages, write_documents
from slimmer.selection import Selection, select
from slimmer.sensor.assets import sensor_binary
from slimmer.session import Session, open_session
from slimmer.sources import SourceImage, prepare_source
from slimmer.summary import RunOutcome
from slimmer.target import Target, target_of
from slimmer.verify import Limits, Verification, seccomp_option, verify_image

DENIED_SEARCH_SECONDS = 180
SEARCH_RUN_SECONDS = 60.0
SEARCH_PROBE_SECONDS = 10.0


class Cancelled(SlimmerError):
    """The session ended (error or interrupt) while background work was still running."""


def run_build(options: BuildOptions) -> RunOutcome:
    # --new-env values are secrets like --env values: redacted wherever a log or report shows them
    secrets = (*options.run.secret_values, *options.changes.secrets)
    return _with_session(_build, replace(options, run=replace(options.run, secret_values=secrets)))


def run_profile(options: BuildOptions) -> RunOutcome:
    return _with_session(_profile, options)


def _with_session(phases, options: BuildOptions) -> RunOutcome:
    progress = Progress()
    check_delivery(options)
    engine = Engine.connect(endpoint=resolve_endpoint(options.engine_host, options.context))
    try:
        with open_session(engine) as session, USER_SIGNAL.listening():
            if options.compose is None:
                return phases(engine, session, options, progress)
            with _compose_service(engine, session, options, progress) as composed:
                return phases(engine, session, composed, progress)
    except SlimmerError as exc:  # a log tail may show a secret value
        exc.message = options.run.redact(exc.message)
        raise
    finally:
        engine.close()


@contextmanager
def _compose_service(
    engine: Engine, session: Session, options: BuildOptions, progress: Progress
) -> Iterator[BuildOptions]:
    """The options with the compose service's image and run settings, its dependencies running
    for as long as the block runs (and removed after it, whatever happens)."""
    assert options.compose is not None
    with ExitStack() as stack:
        with progress.phase("compose", f"starting the dependencies of {options.compose.service}"):
            service = stack.enter_context(
                compose_stack(
                    engine, options.compose, session.id, options.observe.timeout, progress.say
                )
            )
        for warning in service.warnings:
            progress.warn(warning)
        yield replace(options, image=service.image, run=service.settings.merged(options.run))


def _inspect(
    engine: Engine, session: Session, options: BuildOptions, progress: Progress
) -> tuple[SourceImage, Target]:
    source = prepare_source(
        engine,
        session,
        options.image,
        progress,
        pull=options.pull,
        platform=options.platform,
        keep=options.keep,
        max_layer_bytes=options.max_layer_bytes,
    )
    with progress.phase("inspect", f"inspecting {options.image}"):
        info = source.info
        # observed as the slim image will run: with the --new-* config (same files, same checks)
        target = target_of(replace(info, config=options.changes.apply(info.config)), options.run)
        user_specs(options.observe)  # a bad probe file fails before anything starts
        sensor_binary(sensor_arch(info.architecture))
        _check_networks(engine, options.run)
    return source, target


def _check_networks(engine: Engine, run: RunSettings) -> None:
    names = [run.network] if run.network else []
    for name in [*names, *(n for n, _ in run.more_networks)]:
        if name not in ("bridge", "default") and not engine.network_exists(name):
            raise UsageError(
                f"network {name!r} does not exist",
                f"create it first (docker network create {name}) or name an existing one",
            )


def _build(
    engine: Engine, session: Session, options: BuildOptions, progress: Progress
) -> RunOutcome:
    source, target = _inspect(engine, session, options, progress)
    info = source.info
    tag = options.tag or default_tag(info)
    output_dir = options.output_dir or default_output_dir(info)
    cache = _layer_cache(options)
    observed, fs, read_report, (profile, artifacts) = _observe_and_read(
        engine, session, target, source, options, progress, cache, output_dir
    )
    fs, (inventory, selection, packages) = _select_exactly(
        fs, read_report, session, info, observed, options, progress, cache
    )
    with fs:  # its spool directory (and serving container) go when the build is done
        with progress.phase("rebuild", f"writing {tag}"):
            built = build_image(
                engine if options.load else None,
                fs,
                selection.kept,
                tag,
                session.workdir,
                archive=options.archive,
                oci=options.oci,
                labels=packages.labels,
                contents=packages.contents,
                changes=options.changes,
            )
            slim = slim_image(engine, session, built, tag, options)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slimmer-audit") as pool:
            names = (options.image, tag)
            audit = pool.submit(
                _write_audit, fs, inventory, built, names, output_dir, session, progress
            )  # beside the verification: it reads the image and the slim layer, nothing else
            verifications = _verify_slim(
                engine, session, slim.id, target, observed, options, profile, progress
            )
            audited = audit.result()
        passed = all(v.passed for v in verifications)
        pushed, push_failure = push(engine, tag, options, passed, progress)
        kept, removed = split_tree(fs, selection)
        result = result_report(tag, slim, built, options, pushed)
        source_section = source_report(source, str(fs.platform), engine)
        report = _report("build", source_section, target, observed, verifications, options)
        report.update(
            _result_sections(info, slim, result, selection, kept, removed),
            profiles=_profiles_summary(profile, observed.observation, artifacts),
            packages=packages.report,
            findings=_findings(observed, slim.config, target),
            warnings=_observation_warnings(observed, target)
            + selection.warnings
            + push_warnings(options, passed, pushed, push_failure),
            image_read=read_report.to_dict(),
            timings=_timings(progress),
            timeline=progress.timeline(),
        )
        if options.changes:
            report["config_changes"] = options.changes.summary()
        report = _redacted(report, target.run)
        report_path = write_outputs(report, selection, removed, output_dir)
        artifacts = {
            "report": report_path,
            "kept": output_dir / "kept.txt",
            "removed": output_dir / "removed.txt",
            **artifacts,
            **write_documents(packages.documents, output_dir),
            **audited,
        }
        if push_failure is not None:
            raise push_failure  # after the outputs are written
        failed = options.verify and not passed
        return RunOutcome(EXIT_VERIFY_FAILED if failed else EXIT_OK, report, output_dir, artifacts)


def _findings(observed: Observed, config: dict[str, Any], target: Target) -> list[dict[str, str]]:
    """Production-readiness findings of the image as it runs (``config``), the user's mounts
    counting as volumes."""
    found = findings(
        observed.observation, config, service=observed.service, volumes=target.run.mount_targets
    )
    return findings_summary(found)


def _result_sections(
    info: ImageInfo,
    slim: ImageInfo,
    result: dict[str, Any],
    selection: Selection,
    kept: Tally,
    removed: Tally,
) -> dict[str, Any]:
    """report.json's result (``result``), ratio, kept and removed sections of a build."""
    return {
        "result": result,
        "ratio": round(info.size / slim.size, 2) if slim.size else None,
        "kept": {
            "count": kept.count,
            "bytes": kept.bytes,
            "paths": [{"path": p, "reason": str(r)} for p, r in sorted(selection.kept.items())],
        },
        "removed": {
            "count": removed.count,
            "bytes": removed.bytes,
            "paths": [{"path": p, "size": s} for p, s in removed.paths],
        },
    }


def _report(
    command: str,
    source: dict[str, Any],
    target: Target,
    observed: Observed,
    verifications: list[Verification],
    options: BuildOptions,
) -> dict[str, Any]:
    """The sections of report.json that build and profile share."""
    report = header(command)
    report.update(
        source=source,
        observation=observation_summary(observed.observation),
        probes=probes_summary(observed.first),
        verification=verification_summary(verifications, options.verify),
        **_run_summary(target, observed.first),
    )
    if len(observed.runs) > 1:
        report["runs"] = runs_summary(observed.runs)
    return report


def _source_name(info: ImageInfo) -> str:
    """The name the slim image's SBOM gives it: the source image as the user named it. Never
    the slim tag: the SBOM's digest is a label of the image, and the image's ID must not
    depend on what it is tagged."""
    return info.ref


def _slim_packages(
    fs: ImageFs,
    inventory: Inventory,
    selection: Selection,
    source: str,
    options: BuildOptions,
    progress: Progress,
) -> SlimPackages:
    """The trimmed package database, the SBOM documents and their labels for the slim image,
    named after its ``source``."""
    with progress.phase("packages", "trimming the package database, writing the SBOM"):
        return slim_packages(
            fs,
            inventory,
            selection.kept,
            selection.package_plan,
            source,
            formats_of(options.sbom_format),
            options.attach_sbom,
        )


def _profile(
    engine: Engine, session: Session, options: BuildOptions, progress: Progress
) -> RunOutcome:
    source, target = _inspect(engine, session, options, progress)
    info = source.info
    output_dir = options.output_dir or default_output_dir(info)
    observed = _observe(engine, session, target, info, options, progress)
    profile, artifacts = _write_profiles(observed.observation, target, info, output_dir, options)
    verifications: list[Verification] = []
    if options.verify:
        with progress.phase("verify", f"verifying {options.image} under seccomp.json"):
            limits = Limits(options.observe.timeout, options.observe.probe_timeout)
            verifications = [
                verify_image(
                    engine,
                    session,
                    _run_name("original image under seccomp.json", run),
                    info.id,
                    target,
                    run,
                    limits,
                    seccomp_option(profile),
                    RunControl(notify=progress.say),
                )
                for run in observed.runs
            ]
        for run, verification in zip(observed.runs, verifications, strict=True):
            if not verification.passed:
                _name_denied(
                    engine, session, info.id, target, run, profile, verification, progress
                )
                break
    source_section = source_report(source, f"{info.os}/{info.architecture}", engine)
    report = _report("profile", source_section, target, observed, verifications, options)
    report.update(
        profiles=_profiles_summary(profile, observed.observation, artifacts),
        findings=_findings(observed, info.config, target),
        warnings=_observation_warnings(observed, target),
        timings=_timings(progress),
    )
    report = _redacted(report, target.run)
    report_path = write_outputs(report, None, None, output_dir)
    failed = options.verify and not all(v.passed for v in verifications)
    return RunOutcome(
        EXIT_VERIFY_FAILED if failed else EXIT_OK,
        report,
        output_dir,
        {"report": report_path, **artifacts},
    )


def _write_audit(
    fs: ImageFs,
    inventory: Inventory,
    built: SlimImage,
    names: tuple[str, str],
    output_dir: Path,
    session: Session,
    progress: Progress,
) -> dict[str, Path]:
    """diff.json and report.html: the original compared with the slim image (what was removed,
    which packages are gone), viewable without reading JSON. Runs beside the verification."""
    with progress.timed("audit"):
        return write_build_audit(fs, built, names, output_dir, session.workdir, inventory)


def _write_profiles(
    observation: Observation,
    target: Target,
    info: ImageInfo,
    output_dir: Path,
    options: BuildOptions,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """seccomp.json and the other profiles into the output directory; the seccomp profile. The
    seccomp profiles are for the target's capabilities (Docker's default set and --cap-add)."""
    caps = container_caps(target.run.cap_add)
    artifacts = write_profiles(
        observation, profile_name(info), output_dir, log_only=options.seccomp_log, caps=caps
    )
    return seccomp_profile(observation, caps=caps), artifacts


def _observe(
    engine: Engine,
    session: Session,
    target: Target,
    info: ImageInfo,
    options: BuildOptions,
    progress: Progress,
) -> Observed:
    """One observation run, or one per --run command; their union."""
    targets = run_targets(target, options.changes.apply(info.config), options.observe.runs)
    runs: list[ObservedRun] = []
    for number, run_target in enumerate(targets, start=1):
        if not run_target.argv:
            raise UsageError(
                f"--run number {number} is empty and the image has no ENTRYPOINT",
                "give each --run the command to run, e.g. --run 'tool --version'",
            )
        what = f" ({number}/{len(targets)}: {shlex.join(run_target.argv)})"
        if len(targets) == 1:
            what = ""
        with progress.phase("observe", f"observing {options.image} under the sensor{what}"):
            observed = observe(
                engine, session, run_target, info.architecture, options.observe, progress.say
            )
        if options.observe.runs:
            observed.command = options.observe.runs[number - 1]
        runs.append(observed)
    union = Observed.of(runs)
    for warning in union.warnings:
        progress.warn(target.run.redact(warning))
    return union


def _select_options(options: BuildOptions) -> SelectOptions:
    """The selection options, with the user's mount points (their contents are never kept)."""
    mounts = [*options.select.mount_points, *options.run.mount_targets]
    return replace(options.select, mount_points=mounts)


def _run_summary(target: Target, observed: ObservedRun) -> dict[str, Any]:
    """How the target was run (environment variables by name only) and its health checks."""
    summary: dict[str, Any] = {"run_settings": target.run.summary()}
    if target.healthcheck is not None:
        summary["healthcheck"] = {
            "check": target.healthcheck.name,
            "observed": [r.to_dict() for r in observed.run.health],
        }
    return summary


def _redacted(value: Any, run: RunSettings) -> Any:
    """``value`` (the report) with secret values removed from every string in it."""
    return map_strings(value, run.redact)


def _observe_and_read(
    engine: Engine,
    session: Session,
    target: Target,
    source: SourceImage,
    options: BuildOptions,
    progress: Progress,
    cache: LayerCache | None,
    output_dir: Path,
) -> tuple[Observed, ImageFs, ReadReport, tuple[dict[str, Any], dict[str, Path]]]:
    """Side by side: the image is read (from inspect on) while the target is observed, and the
    profiles are written while the reading ends."""
    info = source.info
    stop_reading = threading.Event()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="slimmer-index") as pool:
        reading = pool.submit(_read, session, source, progress, options, cache, stop_reading)
        try:
            observed = _observe(engine, session, target, info, options, progress)
            profiles = pool.submit(
                _write_profiles, observed.observation, target, info, output_dir, options
            )
            with progress.phase("index_wait", "reading the image's layers"):
                fs, read_report = reading.result()
        except BaseException:
            stop_reading.set()  # stops a save stream still running
            reading.add_done_callback(_close_read)
            raise
        try:
            return observed, fs, read_report, profiles.result()
        except BaseException:
            fs.close()
            raise


def _close_read(reading: Future[tuple[ImageFs, ReadReport]]) -> None:
    """Close an image read that is no longer wanted (its serving container stops)."""
    if not reading.cancelled() and reading.exception() is None:
        reading.result()[0].close()


def _layer_cache(options: BuildOptions) -> LayerCache | None:
    """The layer index cache, unless --no-cache (or it cannot be used here)."""
    if not options.layer_cache:
        return None
    cache = LayerCache()
    return cache if cache.usable else None


def _read(
    session: Session,
    source: SourceImage,
    progress: Progress,
    options: BuildOptions,
    cache: LayerCache | None,
    stop: threading.Event,
) -> tuple[ImageFs, ReadReport]:
    """Read the image for the build (own engine client: this runs in a thread beside the
    observation, started at inspect time); a save stream stops when ``stop`` is set. An image
    given as a file was indexed from the file already."""
    if source.fs is not None:
        return source.fs, ReadReport(
            method="file", asked=options.read_image, layers=len(source.info.diff_ids)
        )
    info = source.info
    engine = session.engine.new_connection()
    try:
        with progress.timed("index"):
            return read_for_build(
                engine,
                session.id,
                info,
                session.workdir,
                method=options.read_image,
                cache=cache,
                cancelled=stop,
                max_layer_bytes=options.max_layer_bytes,
            )
    finally:
        engine.close()


Chosen = tuple[Inventory, Selection, SlimPackages]


def _select_exactly(
    fs: ImageFs,
    read_report: ReadReport,
    session: Session,
    info: ImageInfo,
    observed: Observed,
    options: BuildOptions,
    progress: Progress,
    cache: LayerCache | None,
) -> tuple[ImageFs, Chosen]:
    """Select and trim the package database. When the image was read by a walk and what the
    build needs is something the walk could not know exactly, read the save stream and do it
    again (said in the report): the slim image never depends on how the image was read."""
    try:
        chosen = _select(fs, info, observed, options, progress)
    except BaseException:
        fs.close()
        raise
    inexact = fs.inexact(_written_paths(chosen)) if isinstance(fs, ServedFs) else []
    if not inexact:
        return fs, chosen
    shown = ", ".join(printable(p) for p in inexact[:5])
    read_report.fallback = f"the walk cannot know {shown}" + (" ..." if len(inexact) > 5 else "")
    read_report.method = "save"
    fs.close()
    engine = session.engine.new_connection()
    try:
        with progress.phase("index_fallback", "reading the image's layers (save stream)"):
            fs = read_save_stream(
                engine, info, session.workdir, cache, None, options.max_layer_bytes
            )
    finally:
        engine.close()
    try:
        return fs, _select(fs, info, observed, options, progress)
    except BaseException:
        fs.close()
        raise


def _prefetch_for_selection(fs: ImageFs, observation: Observation) -> None:
    """Fetch the files the target used while the selection starts (it reads their ELF
    headers, and most are kept): one request stream instead of one round trip each. A no-op
    for layers read from the save stream."""
    if isinstance(fs, ServedFs):
        used = {p.path for p in observation.paths if not p.errno}
        fs.prefetch_paths(sorted(used | {f.path for f in observation.files}))


def _select(
    fs: ImageFs, info: ImageInfo, observed: Observed, options: BuildOptions, progress: Progress
) -> Chosen:
    with progress.phase("select", "selecting what to keep"):
        _prefetch_for_selection(fs, observed.observation)
        inventory = read_inventory(fs)
        config = options.changes.apply(fs.config.get("config") or {})
        selection = select(
            fs, observed.observation, _select_options(options), inventory, config
        )
    fs.prefetch(e for e in map(fs.lookup, sorted(selection.kept)) if e is not None)
    packages = _slim_packages(fs, inventory, selection, _source_name(info), options, progress)
    return inventory, selection, packages


def _written_paths(chosen: Chosen) -> list[str]:
    """The paths the slim layer is written from."""
    _inventory, selection, packages = chosen
    return [*selection.kept, *packages.contents]


def _verify_slim(
    engine: Engine,
    session: Session,
    image: str,
    target: Target,
    observed: Observed,
    options: BuildOptions,
    profile: dict[str, Any],
    progress: Progress,
) -> list[Verification]:
    """Every observed run replayed on the slim image, as is and under seccomp.json; when a run
    passes as is but fails under seccomp.json, the syscalls it lacked are named."""
    if not options.verify:
        return []
    with progress.phase("verify", "verifying the slim image"):
        pairs = _verify_both(session, image, target, observed, options, profile, progress)
    for run, (plain, confined) in zip(observed.runs, pairs, strict=True):
        if plain.passed and not confined.passed:
            _name_denied(engine, session, image, target, run, profile, confined, progress)
            break
    return [verification for pair in pairs for verification in pair]


def _verify_both(
    session: Session,
    image: str,
    target: Target,
    observed: Observed,
    options: BuildOptions,
    profile: dict[str, Any],
    progress: Progress,
) -> list[tuple[Verification, Verification]]:
    """Per run: the slim image as is and under seccomp.json, two at a time (one engine client
    each); one at a time when each waits for the user's SIGUSR1. On Ctrl-C the runs stop
    waiting and nothing waits for them: the session removes their containers."""
    limits = Limits(options.observe.timeout, options.observe.probe_timeout)
    control = RunControl(notify=progress.say)
    waits_for_user = any(run.mode.mode == "signal" for run in observed.runs)

    def run(name: str, observed_run: ObservedRun, security_opt: list[str] | None) -> Verification:
        engine = session.engine.new_connection()
        try:
            return verify_image(
                engine, session, name, image, target, observed_run, limits, security_opt, control
            )
        finally:
            engine.close()

    pool = ThreadPoolExecutor(
        max_workers=1 if waits_for_user else 2, thread_name_prefix="slimmer-verify"
    )
    try:
        futures = [
            (
                pool.submit(run, _run_name("slim image", each), each, None),
                pool.submit(
                    run,
                    _run_name("slim image under seccomp.json", each),
                    each,
                    seccomp_option(profile),
                ),
            )
            for each in observed.runs
        ]
        return [(plain.result(), confined.result()) for plain, confined in futures]
    except BaseException:
        control.cancelled.set()
        raise
    finally:
        pool.shutdown(wait=not control.cancelled.is_set(), cancel_futures=True)


def _run_name(name: str, run: ObservedRun) -> str:
    """A verification's name; for a --run, which command it replays."""
    if run.command is None:
        return name
    return f"{name}, --run {shlex.join(run.command)!r}"


def _name_denied(
    engine: Engine,
    session: Session,
    image: str,
    target: Target,
    observed: ObservedRun,
    profile: dict[str, Any],
    failed: Verification,
    progress: Progress,
) -> None:
    """When a run under seccomp.json failed, find the syscalls it lacked (by re-running with
    names of Docker's default profile added) and name them in the report. Runs that fail wait
    for nothing long, and the whole search has a time budget."""
    deadline = time.monotonic() + DENIED_SEARCH_SECONDS
    limits = Limits(run=SEARCH_RUN_SECONDS, probe_timeout=SEARCH_PROBE_SECONDS)
    if observed.mode.mode == "signal":  # the search replays the probes, not the user's workload
        observed = replace(observed, mode=ContinueAfter("probe"))

    def behaves(candidate: dict[str, Any]) -> bool:
        if time.monotonic() > deadline:
            raise Cancelled(f"no answer within {DENIED_SEARCH_SECONDS}s")
        return verify_image(
            engine, session, "search", image, target, observed, limits, seccomp_option(candidate)
        ).passed

    with progress.phase("denied", "looking for the syscalls seccomp.json denied"):
        candidates = sorted(docker_default_names(observed.observation.arch))
        try:
            failed.denied_syscalls = find_missing_syscalls(behaves, profile, candidates)
        except Cancelled as exc:
            failed.differences.append(f"the search for the denied syscalls stopped: {exc}")
            return
    if failed.denied_syscalls:
        failed.differences.append("denied by seccomp.json: " + ", ".join(failed.denied_syscalls))


def _profiles_summary(
    profile: dict[str, Any], observation: Observation, artifacts: dict[str, Path]
) -> dict[str, Any]:
    return {
        "seccomp_syscalls": profile_counts(profile, observation.arch),
        "files": {k: str(v) for k, v in artifacts.items()},
    }


def _observation_warnings(observed: Observed, target: Target) -> list[str]:
    warnings = list(observed.warnings)
    unknown = unknown_syscalls(observed.observation)
    if unknown:
        warnings.append(
            "syscalls the engine's libseccomp does not know, left out of seccomp.json: "
            + ", ".join(unknown)
        )
    denied = denied_by_default(observed.observation, container_caps(target.run.cap_add))
    if denied:
        warnings.append(
            "syscalls the target made that Docker's default profile does not allow, left out "
            "of seccomp.json (it is never weaker than the default): " + ", ".join(denied)
        )
    return warnings


def _timings(progress: Progress) -> dict[str, float]:
    timings = dict(progress.timings)
    timings["total"] = round(time.monotonic() - progress.started, 3)
    return timings


def profile_name(info: ImageInfo) -> str:
    """A name for profiles and output directories: the image's repository's last part."""
    ref = info.repo_tags[0] if info.repo_tags and not info.ref.startswith("sha256:") else info.ref
    if ref.startswith("sha256:") or re.fullmatch(r"[0-9a-f]{12,64}", ref):
        return f"image-{info.id.split(':')[-1][:12]}"
    repo = ref.split("@")[0]
    name, _, tag = repo.rpartition(":") if ":" in repo.rsplit("/", 1)[-1] else (repo, "", "")
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.rsplit("/", 1)[-1]) or "image"
    return base if tag in ("", "latest") else f"{base}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', tag)}"


def default_output_dir(info: ImageInfo) -> Path:
    return Path("slimmer-out") / profile_name(info)
