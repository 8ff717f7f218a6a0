"""Build the slim image and deliver it: into the engine under a tag, and/or as archive files."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from slimmer.engine import Engine, ImageInfo, split_ref
from slimmer.errors import SlimmerError
from slimmer.imagefs import ImageFs
from slimmer.rebuild.archive import (
    SlimImage,
    TarStream,
    docker_archive_members,
    write_docker_archive,
    write_oci_layout,
)
from slimmer.rebuild.config import ConfigChanges, build_config
from slimmer.rebuild.layer import write_layer

_IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{12,64}")


def rebuild(
    fs: ImageFs,
    kept: Iterable[str],
    workdir: Path,
    labels: Mapping[str, str] | None = None,
    contents: Mapping[str, bytes] | None = None,
    changes: ConfigChanges | None = None,
) -> SlimImage:
    """Write the slim layer into ``workdir`` (a new ``slimmer-layer-*.tar``) and its config
    (the original's, with ``changes``); ``contents`` replaces or adds file contents (see
    ``write_layer``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        prefix="slimmer-layer-", suffix=".tar", dir=workdir, delete=False
    ) as out:
        try:
            info = write_layer(fs, kept, out, contents)
        except BaseException:
            Path(out.name).unlink(missing_ok=True)
            raise
    return SlimImage(build_config(fs, info, labels, changes), Path(out.name), info)


def load_image(engine: Engine, image: SlimImage, tag: str) -> str:
    """Load the image into the engine (streamed as a docker-archive), tag it; its id."""
    with TarStream(docker_archive_members(image)) as archive:
        loaded = engine.load_image(archive)  # type: ignore[arg-type]
    if image.id not in loaded:
        raise SlimmerError(
            f"the engine loaded {', '.join(loaded) or 'nothing'}, not the slim image {image.id}",
            "check the engine's log (`journalctl -u docker`); the image may be too large",
        )
    engine.tag_image(image.id, tag)
    return image.id


def build_image(
    engine: Engine | None,
    fs: ImageFs,
    kept: Iterable[str],
    tag: str,
    workdir: Path,
    *,
    archive: Path | None = None,
    oci: Path | None = None,
    labels: Mapping[str, str] | None = None,
    contents: Mapping[str, bytes] | None = None,
    changes: ConfigChanges | None = None,
) -> SlimImage:
    """Rebuild, then load into ``engine`` as ``tag`` (unless engine is None) and write the
    requested archive files (docker-archive ``archive``, OCI layout tar ``oci``)."""
    image = rebuild(fs, kept, workdir, labels, contents, changes)
    if engine is not None:
        load_image(engine, image, tag)
    if archive is not None:
        write_docker_archive(image, Path(archive), [tag])
    if oci is not None:
        write_oci_layout(image, Path(oci), [tag])
    return image


def default_tag(image: ImageInfo | str) -> str:
    """``REPO.slim:TAG`` for ``REPO:TAG`` (registry and port kept; a digest-only reference
    gets its repository and ``latest``). An image named by id is named after its first tag,
    else ``image-ID12.slim:latest``."""
    ref = image if isinstance(image, str) else image.ref
    if _IMAGE_ID.fullmatch(ref):
        tags = [] if isinstance(image, str) else image.repo_tags
        if tags:
            return default_tag(tags[0])
        return f"image-{ref.split(':')[-1][:12]}.slim:latest"
    repo, tag = split_ref(ref)
    return f"{repo}.slim:{tag}"
