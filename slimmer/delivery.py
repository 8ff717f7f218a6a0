"""What a build delivers besides its outputs, and from where: the options that go together,
the slim image as the engine has it (tagged, or loaded for the verification only with
--no-load), the push after the verification, and the report's account of the source (a file
or an engine reference, the engine that ran it)."""

from __future__ import annotations

import json
from typing import Any

from slimmer.engine import Engine, ImageInfo
from slimmer.errors import SlimmerError, UsageError
from slimmer.options import BuildOptions
from slimmer.progress import Progress
from slimmer.rebuild.archive import SlimImage, TarStream, docker_archive_members
from slimmer.registry import registry_of
from slimmer.report import source_summary
from slimmer.session import Session
from slimmer.sources import SourceImage, load_for_runs


def check_delivery(options: BuildOptions) -> None:
    """Options that cannot go together fail before anything starts."""
    if not options.load and not (options.archive or options.oci):
        raise UsageError(
            "--no-load writes the slim image only to --archive or --oci, and neither is given",
            "add --archive FILE or --oci FILE",
        )
    if (options.push or options.push_always) and not options.load:
        raise UsageError(
            "--push pushes the slim image from the engine, and --no-load keeps it out",
            "drop --no-load, or push the archive: skopeo copy docker-archive:FILE docker://REF",
        )


def slim_image(
    engine: Engine, session: Session, built: SlimImage, tag: str, options: BuildOptions
) -> ImageInfo:
    """The slim image in the engine: its tag, or with --no-load and verification a temporary
    load (removed when the session closes); with neither, what the archive holds."""
    if options.load:
        return engine.inspect_image(tag)
    if options.verify:
        image_id = load_for_runs(
            engine, session, built.id, lambda tags: TarStream(docker_archive_members(built, tags))
        )
        return engine.inspect_image(image_id)
    config = json.loads(built.config)
    return ImageInfo(
        ref=tag,
        id=built.id,
        repo_tags=[],
        repo_digests=[],
        size=built.layer_info.content_bytes,
        config=config.get("config") or {},
        os=config.get("os", ""),
        architecture=config.get("architecture", ""),
        variant=config.get("variant", ""),
        created=config.get("created", ""),
    )


def push(
    engine: Engine, tag: str, options: BuildOptions, passed: bool, progress: Progress
) -> tuple[dict[str, str] | None, SlimmerError | None]:
    """Push the slim tag when asked, after a passing verification (or always with
    --push-always): where it went and its digest, or why the registry refused it."""
    if not (options.push or options.push_always) or not (passed or options.push_always):
        return None, None
    try:
        with progress.phase("push", f"pushing {tag}"):
            digest = engine.push_image(tag)
    except SlimmerError as exc:
        return None, exc
    progress.say(f"pushed {tag}@{digest}")
    return {"ref": tag, "digest": digest, "registry": registry_of(tag)}, None


def push_warnings(
    options: BuildOptions,
    passed: bool,
    pushed: dict[str, str] | None,
    failure: SlimmerError | None,
) -> list[str]:
    if failure is not None:
        return [f"not pushed: {failure.one_line()}"]
    if options.push and pushed is None and not passed:
        return ["not pushed: the verification failed (--push-always pushes anyway)"]
    return []


def source_report(source: SourceImage, platform: str, engine: Engine) -> dict[str, Any]:
    """The source image, where it came from, and the engine that ran it."""
    summary = source_summary(source.info, platform)
    if source.fs is not None:
        summary["input"] = source.input
    summary["engine"] = {
        "kind": engine.kind,
        "endpoint": engine.endpoint.host,
        "context": engine.endpoint.context,
        "rootless": engine.rootless,
    }
    return summary


def result_report(
    tag: str,
    slim: ImageInfo,
    built: SlimImage,
    options: BuildOptions,
    pushed: dict[str, str] | None,
) -> dict[str, Any]:
    """The report's ``result``: the slim image, where it went (engine, files, registry)."""
    return {
        "ref": tag,
        "loaded": options.load,
        "id": slim.id,
        "size": slim.size,
        "archive": str(options.archive) if options.archive else None,
        "oci": str(options.oci) if options.oci else None,
        "layer_digest": built.diff_id,
        "pushed": pushed,
    }
