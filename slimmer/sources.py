"""Where the image to slim comes from, and getting it into the engine for the runs.

- An engine reference: used as it is; with ``--pull`` pulled first when the engine lacks it (or
  has another platform than ``--platform``).
- An image file, named with skopeo's transports: ``docker-archive:FILE`` (``docker save``),
  ``oci-archive:FILE`` (an OCI image layout tar), ``oci:DIR`` (an OCI image layout directory).
  The index reads the file where it is; the image is loaded into the engine (as it is: same
  config, same id) only for the observation and verification runs, under a temporary tag, and
  removed when the session closes, unless ``--keep`` (then it keeps the archive's own names)
  or unless the engine had it already (then it is used and left as it was).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from slimmer.engine import Engine, ImageInfo
from slimmer.errors import SlimmerError, UsageError
from slimmer.imagefs import ImageFs, Platform, open_image
from slimmer.imagefs.layer import DEFAULT_MAX_LAYER_BYTES
from slimmer.imagefs.layout import locate, wanted_platform
from slimmer.imagefs.sources import ArchiveStore, DirectoryStore, Store
from slimmer.imagefs.spec import ImageSpec, parse_image_spec
from slimmer.progress import Progress
from slimmer.rebuild.archive import TarStream
from slimmer.rebuild.reload import image_archive
from slimmer.session import Session

TEMPORARY_REPOSITORY = "slimmer-tmp"
_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?"
# a docker reference with a tag: [registry[:port]/]path[:tag]; names in files are untrusted
_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
)


@dataclass
class SourceImage:
    """The image as the engine runs it (``info.ref`` is the name used for the slim tag and the
    profiles) and, when it came from a file, its index."""

    info: ImageInfo
    fs: ImageFs | None = None
    input: str = ""


def platform_of(text: str | None) -> Platform | None:
    if text is None:
        return None
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"--platform {text!r} is not OS/ARCH[/VARIANT]", "e.g. linux/arm64")
    return Platform(*parts)


def prepare_source(
    engine: Engine,
    session: Session,
    image: str,
    progress: Progress,
    *,
    pull: bool = False,
    platform: str | None = None,
    keep: bool = False,
    max_layer_bytes: int = DEFAULT_MAX_LAYER_BYTES,
) -> SourceImage:
    """The image ready to run in the engine (pulled or loaded as needed)."""
    spec = parse_image_spec(image)
    wanted = platform_of(platform)
    if spec.transport is None:
        return SourceImage(_engine_image(engine, image, progress, pull, wanted), None, image)
    return _file_image(engine, session, spec, progress, wanted, keep, max_layer_bytes)


def _engine_image(
    engine: Engine, ref: str, progress: Progress, pull: bool, platform: Platform | None
) -> ImageInfo:
    if pull and not (engine.has_image(ref) and _matches(engine.inspect_image(ref), platform)):
        with progress.phase("pull", f"pulling {ref}" + (f" for {platform}" if platform else "")):
            engine.pull_image(ref, str(platform) if platform else None)
    info = engine.inspect_image(ref)
    if not _matches(info, platform):
        raise UsageError(
            f"{ref} in the engine is a {info.os}/{info.architecture} image, not {platform}",
            "add --pull to pull that variant, or drop --platform",
        )
    return info


def _matches(info: ImageInfo, platform: Platform | None) -> bool:
    if platform is None:
        return True
    if (info.os, info.architecture) != (platform.os, platform.architecture):
        return False
    return not platform.variant or platform.variant == info.variant


def _file_image(
    engine: Engine,
    session: Session,
    spec: ImageSpec,
    progress: Progress,
    platform: Platform | None,
    keep: bool,
    max_layer_bytes: int,
) -> SourceImage:
    assert spec.path is not None
    with progress.phase("read", f"reading {spec.text}"):
        fs = open_image(
            spec.path, session.workdir, platform=platform, max_layer_bytes=max_layer_bytes
        )
        session.on_close(fs.close)
        config, names = _stored_config(spec.path, session.workdir, platform)
    with progress.phase("load", "loading it into the engine for the runs"):
        image_id = load_for_runs(
            engine,
            session,
            fs.digest,
            lambda tags: image_archive(fs, config, tags),
            names if keep and names else None,
        )
    info = engine.inspect_image(image_id)
    name = names[0] if names else _name_of(spec.path)
    return SourceImage(replace(info, ref=name, repo_tags=names), fs, spec.text)


def load_for_runs(
    engine: Engine,
    session: Session,
    image_id: str,
    archive: Callable[[list[str]], TarStream],
    keep_as: list[str] | None = None,
) -> str:
    """Make ``image_id`` available in the engine: used as is when the engine has it, else
    loaded from ``archive(tags)`` under a temporary tag and removed when the session closes
    (kept under ``keep_as`` instead, when given). Returns the id to run."""
    if engine.has_image(image_id):
        return image_id
    tags = keep_as or [f"{TEMPORARY_REPOSITORY}/{session.id}:{image_id.split(':')[-1][:12]}"]
    if keep_as is None:
        session.on_close(lambda: engine.remove_image(image_id))
    with archive(tags) as stream:
        engine.load_image(stream)  # type: ignore[arg-type]
    if not engine.has_image(image_id):
        raise SlimmerError(
            f"the engine did not keep the image {image_id} it was given to load",
            "check the engine's log; it may lack space or refuse the layers",
        )
    return image_id


def _stored_config(
    path: Path, workdir: Path, platform: Platform | None
) -> tuple[bytes, list[str]]:
    """The image config exactly as the file stores it, and the names the file gives it."""
    spool = Path(tempfile.mkdtemp(prefix="slimmer-config-", dir=workdir))
    try:
        store: Store = DirectoryStore(path, spool) if path.is_dir() else ArchiveStore(path, spool)
        located = locate(store, *wanted_platform(platform))
        return located.config, _names(store, located.digest)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _names(store: Store, digest: str) -> list[str]:
    """RepoTags of a docker-archive, or the full names an OCI index annotates."""
    names: list[str] = []
    try:
        if store.has("manifest.json"):
            for item in _list(json.loads(store.read("manifest.json"))):
                if digest.split(":")[-1] in str(item.get("Config", "")):
                    names += [t for t in item.get("RepoTags") or [] if isinstance(t, str)]
        elif store.has("index.json"):
            index = json.loads(store.read("index.json"))
            for descriptor in _list(index.get("manifests") if isinstance(index, dict) else []):
                annotations = descriptor.get("annotations") or {}
                name = annotations.get("io.containerd.image.name")
                if isinstance(name, str):
                    names.append(name.removeprefix("docker.io/library/"))
    except ValueError:
        return []
    return [n for n in dict.fromkeys(names) if len(n) <= 255 and _REFERENCE.fullmatch(n)]


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _name_of(path: Path) -> str:
    """A repository name from a file or directory name: "My App.oci.tar" -> "my-app"."""
    stem = path.resolve().name.lower()
    for suffix in (".gz", ".tgz", ".tar", ".oci", ".docker"):
        stem = stem.removesuffix(suffix)
    return _NAME_CHARS.sub("-", stem).strip("-._") or "image"
