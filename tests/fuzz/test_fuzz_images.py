"""Fuzzing the manifest and index parsers: docker-archives of both layouts, OCI layouts as a
directory and as a tar, OCI indexes with platforms (nested or not), read from a file and from
a stream. Every document (manifest.json, index.json, manifests, nested indexes, configs) may be
mutated anywhere; the result is an index or a SlimmerError, never another exception."""

from __future__ import annotations

import copy
import io
import json
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from slimmer.imagefs import open_image, open_stream
from tests.fuzz.budget import own_error_or_result
from tests.imagefs.crafted import config, file, layer, sha256, symlink

LAYERS = [
    layer([file("etc/os-release", b"ID=fuzz\n"), symlink("bin", "usr/bin")]),
    layer([file("usr/bin/tool", b"#!tool", 0o755)]),
]
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
PLATFORMS = [None, "linux/amd64", "linux/arm64", "linux/arm64/v8", "linux/s390x", "bad"]

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(1 << 70), 1 << 70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["sha256:" + "0" * 64, "../../etc/passwd", "linux", "amd64", MANIFEST]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
Mutate = Callable[[Any], Any]


def _nodes(document: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _nodes(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _nodes(value, (*path, index))
    return found


@st.composite
def mutators(draw: st.DrawFn) -> Mutate:
    """A function that changes a JSON document at up to three places (or not at all)."""
    plans = draw(
        st.lists(
            st.tuples(
                st.integers(0, 1 << 16),
                st.sampled_from(["replace", "delete", "add"]),
                JSON,
                st.text(max_size=8),
            ),
            max_size=3,
        )
    )

    def mutate(document: Any) -> Any:
        for pick, how, drawn, key in plans:
            value = copy.deepcopy(drawn)
            nodes = _nodes(document)
            path = nodes[pick % len(nodes)]
            if not path:
                document = value if how == "replace" else document
                continue
            *head, last = path
            holder = document
            for step in head:
                holder = holder[step]
            if how == "replace":
                holder[last] = value
            elif how == "delete":
                del holder[last]
            elif isinstance(holder[last], dict):
                holder[last][key] = value
            elif isinstance(holder[last], list):
                holder[last].append(value)
        return document

    return mutate


def _encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def _descriptor(data: bytes, media: str, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media, "digest": sha256(data), "size": len(data), **extra}


def oci_files(mutate: Mutate, nested: bool, two_platforms: bool) -> dict[str, bytes]:
    """The files of an OCI image layout; every JSON document passes through ``mutate``."""
    blobs: dict[str, bytes] = {}
    descriptors = []
    arches = [("amd64", ""), ("arm64", "v8")] if two_platforms else [("amd64", "")]
    for arch, variant in arches:
        conf = json.loads(config(LAYERS, architecture=arch))
        if variant:
            conf["variant"] = variant
        conf_bytes = _encode(mutate(conf))
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": _descriptor(conf_bytes, "application/vnd.oci.image.config.v1+json"),
            "layers": [_descriptor(d, "application/vnd.oci.image.layer.v1.tar") for d in LAYERS],
        }
        manifest_bytes = _encode(mutate(manifest))
        for data in (*LAYERS, conf_bytes, manifest_bytes):
            blobs[sha256(data)[7:]] = data
        platform = {
            "os": "linux",
            "architecture": arch,
            **({"variant": variant} if variant else {}),
        }
        descriptors.append(_descriptor(manifest_bytes, MANIFEST, platform=platform))
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": INDEX, "manifests": descriptors}
    if nested:
        inner = _encode(mutate(index))
        blobs[sha256(inner)[7:]] = inner
        index = {"schemaVersion": 2, "manifests": [_descriptor(inner, INDEX)]}
    files = {f"blobs/sha256/{h}": d for h, d in blobs.items()}
    files["index.json"] = _encode(mutate(index))
    files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
    return files


def docker_files(mutate: Mutate, style: str) -> dict[str, bytes]:
    """The files of a `docker save` archive, legacy (<id>/layer.tar) or Engine 25+ (blobs and
    an OCI index beside manifest.json)."""
    if style == "blobs":
        files = oci_files(mutate, nested=False, two_platforms=False)
        index = json.loads(files["index.json"]) if files["index.json"].startswith(b"{") else {}
        names = [f"blobs/sha256/{sha256(d)[7:]}" for d in LAYERS]
        conf_name = next(
            (n for n, d in files.items() if b'"rootfs"' in d and n.startswith("blobs/")),
            "missing.json",
        )
        del index
    else:
        conf_bytes = _encode(mutate(json.loads(config(LAYERS))))
        conf_name = f"{sha256(conf_bytes)[7:]}.json"
        files = {conf_name: conf_bytes}
        names = []
        for number, data in enumerate(LAYERS):
            names.append(f"{number:02d}/layer.tar")
            files[names[-1]] = data
    manifest = [{"Config": conf_name, "RepoTags": ["fuzz/image:1"], "Layers": names}]
    files["manifest.json"] = _encode(mutate(manifest))
    return files


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _chunks(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _empty(directory: Path) -> bool:
    """Nothing left behind (the work directory may not even have been made)."""
    return not directory.exists() or not any(directory.iterdir())


def _check(open_it: Callable[[], Any]) -> None:
    def run() -> None:
        with open_it() as fs:
            assert fs.lookup("/") is not None
            for entry in fs:
                fs.resolve(entry.path)

    outcome = own_error_or_result(run)
    event("refused" if outcome is not None else "indexed")


@given(
    mutators(),
    st.sampled_from(["legacy", "blobs"]),
    st.sampled_from(PLATFORMS),
    st.sampled_from([1, 511, 4096, 1 << 20]),
)
def test_docker_archives_from_a_file_and_a_stream(mutate, style, platform, chunk) -> None:
    data = _tar(docker_files(mutate, style))
    with tempfile.TemporaryDirectory(prefix="slimmer-fuzz-") as temporary:
        work = Path(temporary)
        (work / "image.tar").write_bytes(data)
        _check(lambda: open_image(work / "image.tar", work / "a", platform=platform))
        _check(lambda: open_stream(_chunks(data, chunk), work / "b", platform=platform))
        assert _empty(work / "a") and _empty(work / "b")


@given(
    mutators(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from(PLATFORMS),
)
def test_oci_layouts_and_indexes(mutate, nested, two_platforms, as_tar, platform) -> None:
    files = oci_files(mutate, nested, two_platforms)
    with tempfile.TemporaryDirectory(prefix="slimmer-fuzz-") as temporary:
        work = Path(temporary)
        if as_tar:
            target = work / "layout.tar"
            target.write_bytes(_tar(files))
        else:
            target = work / "layout"
            for name, data in files.items():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_bytes(data)
        _check(lambda: open_image(target, work / "work", platform=platform))
        assert _empty(work / "work")
