"""The slim image's config and archives, from crafted images: carried-over settings, provenance,
determinism, and archives that follow their formats (and read back as the same image)."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from slimmer import __version__
from slimmer.engine import ImageInfo
from slimmer.imagefs import ImageFs, open_image
from slimmer.rebuild import (
    build_config,
    default_tag,
    rebuild,
    write_docker_archive,
    write_oci_layout,
)
from slimmer.rebuild.archive import TarStream, docker_archive_members, qualified
from tests.imagefs.crafted import config, docker_archive, file, layer, symlink

LAYERS = [layer([file("bin/app", b"app", 0o755), symlink("usr/bin", "../bin")])]
RUNTIME = {
    "Env": ["PATH=/bin", "A=1"],
    "Entrypoint": ["/bin/app"],
    "Cmd": ["--serve"],
    "WorkingDir": "/srv",
    "User": "1000:1000",
    "ExposedPorts": {"80/tcp": {}},
    "Volumes": {"/data": {}},
    "Labels": {"org.example": "yes"},
    "StopSignal": "SIGQUIT",
    "Healthcheck": {"Test": ["CMD", "/bin/app", "--check"], "Interval": 5000000000},
    "Shell": ["/bin/sh", "-c"],
    "OnBuild": ["RUN nothing"],
}


@pytest.fixture
def fs(tmp_path: Path) -> ImageFs:
    document = json.loads(config(LAYERS, variant="v8", architecture="arm64"))
    document["config"] = RUNTIME
    archive = docker_archive(
        tmp_path / "src.tar", LAYERS, config_bytes=json.dumps(document).encode()
    )
    made = open_image(archive, tmp_path / "work", platform="linux/arm64/v8")
    yield made
    made.close()


def test_config_carries_the_runtime_settings_and_provenance(fs: ImageFs, tmp_path: Path) -> None:
    image = rebuild(fs, ["/bin/app"], tmp_path / "out", labels={"extra": "1"})
    document = json.loads(image.config)
    runtime = document["config"]
    for key, value in RUNTIME.items():
        if key not in ("Labels", "OnBuild"):
            assert runtime[key] == value, key
    assert "OnBuild" not in runtime
    assert runtime["Labels"] == {
        "org.example": "yes",
        "extra": "1",
        "io.slimmer.source-digest": fs.digest,
        "io.slimmer.version": __version__,
    }
    assert (document["os"], document["architecture"], document["variant"]) == (
        "linux",
        "arm64",
        "v8",
    )
    assert document["rootfs"] == {"type": "layers", "diff_ids": [image.diff_id]}
    assert document["created"] == "2024-01-02T03:04:05Z"
    assert (
        len(document["history"]) == 1 and document["history"][0]["created"] == document["created"]
    )
    assert image.config == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert image.id == "sha256:" + hashlib.sha256(image.config).hexdigest()


def test_same_input_same_image_id(fs: ImageFs, tmp_path: Path) -> None:
    first = rebuild(fs, ["/bin/app", "/usr/bin"], tmp_path / "one")
    second = rebuild(fs, ["/usr/bin", "/bin/app"], tmp_path / "two")
    assert first.id == second.id
    assert first.layer.read_bytes() == second.layer.read_bytes()
    assert build_config(fs, first.layer_info) == first.config
    other = rebuild(fs, ["/bin/app"], tmp_path / "three")
    assert other.id != first.id


def test_docker_archive_reads_back_as_the_same_image(fs: ImageFs, tmp_path: Path) -> None:
    image = rebuild(fs, [e.path for e in fs], tmp_path / "out")
    target = tmp_path / "slim.tar"
    write_docker_archive(image, target, ["example/app.slim:1"])
    with tarfile.open(target) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest[0]["RepoTags"] == ["example/app.slim:1"]
    with open_image(target, tmp_path / "work2", platform="linux/arm64") as again:
        assert again.digest == image.id
        assert [(e.path, e.type, e.mode) for e in again] == [(e.path, e.type, e.mode) for e in fs]


def test_oci_layout_follows_the_image_layout_rules(fs: ImageFs, tmp_path: Path) -> None:
    image = rebuild(fs, ["/bin/app"], tmp_path / "out")
    target = tmp_path / "slim-oci.tar"
    write_oci_layout(image, target, ["example/app.slim:1"])
    with tarfile.open(target) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    for name, data in files.items():
        if name.startswith("blobs/"):
            assert name == "blobs/sha256/" + hashlib.sha256(data).hexdigest()
    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2
    (descriptor,) = index["manifests"]
    assert descriptor["annotations"] == {
        "org.opencontainers.image.ref.name": "1",
        "io.containerd.image.name": "docker.io/example/app.slim:1",
    }
    assert descriptor["platform"] == {"os": "linux", "architecture": "arm64", "variant": "v8"}
    manifest_bytes = files[_blob(descriptor["digest"])]
    assert len(manifest_bytes) == descriptor["size"]
    manifest = json.loads(manifest_bytes)
    assert (
        manifest["mediaType"]
        == descriptor["mediaType"]
        == "application/vnd.oci.image.manifest.v1+json"
    )
    for blob in (manifest["config"], *manifest["layers"]):
        assert len(files[_blob(blob["digest"])]) == blob["size"]
    assert manifest["config"]["digest"] == image.id
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    assert files[_blob(manifest["layers"][0]["digest"])] == image.layer.read_bytes()
    with open_image(target, tmp_path / "work2", platform="linux/arm64") as again:
        assert again.digest == image.id
    assert target.read_bytes() == _written_again(image, tmp_path)


def _written_again(image, tmp_path: Path) -> bytes:
    again = tmp_path / "again.tar"
    write_oci_layout(image, again, ["example/app.slim:1"])
    return again.read_bytes()


def _blob(digest: str) -> str:
    return "blobs/sha256/" + digest.split(":")[1]


def test_the_archive_stream_has_the_length_it_announces(fs: ImageFs, tmp_path: Path) -> None:
    image = rebuild(fs, ["/bin/app"], tmp_path / "out")
    with TarStream(docker_archive_members(image)) as stream:
        data = stream.read()
        assert len(data) == len(stream)
    assert (tmp_path / "out").is_dir()


def test_a_failed_write_leaves_no_partial_archive(fs: ImageFs, tmp_path: Path) -> None:
    image = rebuild(fs, ["/bin/app"], tmp_path / "out")
    image.layer.unlink()
    with pytest.raises(FileNotFoundError):
        write_docker_archive(image, tmp_path / "slim.tar")
    assert list(tmp_path.glob("*slim.tar*")) == []


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("app:1", "docker.io/library/app:1"),
        ("team/app:1", "docker.io/team/app:1"),
        ("registry.local:5000/app:1", "registry.local:5000/app:1"),
        ("localhost/app:1", "localhost/app:1"),
        ("ghcr.io/o/app:1", "ghcr.io/o/app:1"),
    ],
)
def test_qualified_names_for_containerd(ref: str, expected: str) -> None:
    assert qualified(ref) == expected


def _info(ref: str, tags: list[str]) -> ImageInfo:
    return ImageInfo(ref, "sha256:" + "ab" * 32, tags, [], 0, {}, "linux", "amd64", "", "")


@pytest.mark.parametrize(
    "image, expected",
    [
        ("nginx", "nginx.slim:latest"),
        ("nginx:1.25", "nginx.slim:1.25"),
        ("registry.local:5000/team/app:2", "registry.local:5000/team/app.slim:2"),
        ("app@sha256:" + "cd" * 32, "app.slim:latest"),
        ("sha256:" + "ab" * 32, "image-abababababab.slim:latest"),
        (_info("ababababab12", []), "image-ababababab12.slim:latest"),
        (_info("sha256:" + "ab" * 32, ["web/site:3"]), "web/site.slim:3"),
        (_info("nginx:1.25", ["nginx:1.25"]), "nginx.slim:1.25"),
    ],
)
def test_default_tag(image, expected: str) -> None:
    assert default_tag(image) == expected
