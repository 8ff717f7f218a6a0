"""Image files in (docker-archive:, oci-archive:, oci:) with no prior `docker load`, and image
files out without the engine (--no-load). The input image is made unique for the test (a
commit with a label), saved, converted with skopeo, and removed from the engine, so the engine
can only run it if slimmer loads it; afterwards it must be gone again."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from slimmer.engine import Engine
from slimmer.sources import TEMPORARY_REPOSITORY
from tests.e2e.helpers import leftovers, sessions_in, slimmer, summary
from tests.engines.conftest import ImageFiles, skopeo

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _config_digest(spec: str, files: ImageFiles) -> str:
    """The image id as the file defines it (skopeo may rewrite the config for OCI)."""
    path = {"docker-archive": files.docker_archive, "oci": files.oci_dir,
            "oci-archive": files.oci_archive}[spec]
    if spec == "docker-archive":
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
            config = tar.extractfile(manifest[0]["Config"]).read()  # type: ignore[union-attr]
        return "sha256:" + hashlib.sha256(config).hexdigest()
    done = subprocess.run(["skopeo", "inspect", "--config", "--raw", f"{spec}:{path}"],
                          capture_output=True, timeout=120, check=True)
    return "sha256:" + hashlib.sha256(done.stdout).hexdigest()


def _temporary_images(engine: Engine) -> list[str]:
    return [t for image in engine.api.images(name=f"{TEMPORARY_REPOSITORY}/*")
            for t in image.get("RepoTags") or []]


@pytest.mark.parametrize("transport", ["docker-archive", "oci", "oci-archive"])
def test_image_file_in(
    transport: str, engine: Engine, image_files: ImageFiles, tmp_path: Path
) -> None:
    path = {"docker-archive": image_files.docker_archive, "oci": image_files.oci_dir,
            "oci-archive": image_files.oci_archive}[transport]
    image_id = _config_digest(transport, image_files)
    assert not engine.has_image(image_id)
    tag = f"slimmer-test/from-file.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer("build", f"{transport}:{path}", "--tag", tag, "--output-dir", str(out),
                       "--json", tmpdir=tmp_path / "tmp")
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        report = json.loads((out / "report.json").read_text())
        assert report["source"]["input"] == f"{transport}:{path}"
        assert report["source"]["id"] == image_id
        # loaded for the runs only: gone again, and no temporary tag left
        assert not engine.has_image(image_id)
        assert _temporary_images(engine) == []
        for session in sessions_in(tmp_path / "tmp"):
            assert leftovers(engine, session) == []
        assert not list((tmp_path / "tmp").iterdir())
        assert engine.inspect_image(tag).id == report["result"]["id"]
    finally:
        engine.remove_image(tag)


def test_keep_leaves_the_input_loaded_under_its_name(
    engine: Engine, image_files: ImageFiles, tmp_path: Path
) -> None:
    tag = f"slimmer-test/kept.slim:{tmp_path.name[-12:].lower()}"
    try:
        done = slimmer("profile", f"docker-archive:{image_files.docker_archive}", "--keep",
                       "--output-dir", str(tmp_path / "out"), "--json")
        assert done.returncode == 0, done.stderr
        assert engine.inspect_image(image_files.name).id == image_files.image_id
    finally:
        engine.remove_image(image_files.name)
        engine.remove_image(tag)


def test_no_load_writes_files_only(
    engine: Engine, image_files: ImageFiles, tmp_path: Path
) -> None:
    """An image file in, image files out: the engine holds neither afterwards (the input is
    unique to the test run, so its slim image is too)."""
    source = f"docker-archive:{image_files.docker_archive}"
    tag = f"slimmer-test/no-load.slim:{tmp_path.name[-12:].lower()}"
    archive, oci = tmp_path / "slim.tar", tmp_path / "slim.oci.tar"
    out = tmp_path / "out"
    done = slimmer("build", source, "--no-load", "--tag", tag, "--archive", str(archive),
                   "--oci", str(oci), "--output-dir", str(out), "--json",
                   tmpdir=tmp_path / "tmp")
    assert done.returncode == 0, done.stderr
    result = summary(done)
    assert result["verdict"] == "passed"  # verified from a temporary load
    slim_id = result["result"]["id"]
    assert not engine.has_image(tag) and not engine.has_image(slim_id)
    assert not engine.has_image(image_files.image_id)
    assert _temporary_images(engine) == []
    report = json.loads((out / "report.json").read_text())
    assert report["result"]["loaded"] is False
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = tar.extractfile(manifest[0]["Config"]).read()  # type: ignore[union-attr]
    assert manifest[0]["RepoTags"] == [tag]
    assert "sha256:" + hashlib.sha256(config).hexdigest() == slim_id
    skopeo("inspect", f"oci-archive:{oci}")  # a valid OCI archive
    # without verification the engine is not touched at all
    done = slimmer("build", source, "--no-load", "--no-verify", "--tag", tag, "--archive",
                   str(archive), "--output-dir", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert not engine.has_image(slim_id)


def _one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The error line (progress lines may come before it)."""
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("slimmer: error: ")]
    assert errors == lines[-1:], done.stderr
    return lines[-1]


def test_bad_inputs_are_one_line(tmp_path: Path) -> None:
    not_image = tmp_path / "notes.tar"
    with tarfile.open(not_image, "w") as tar:
        tar.add(__file__, arcname="notes.py")
    line = _one_line(slimmer("build", f"docker-archive:{not_image}", tmpdir=tmp_path / "t"), 1)
    assert f"{not_image} is not an image: it has neither index.json nor manifest.json" in line
    assert not list((tmp_path / "t").iterdir())
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"\x00\x01 not a tar at all" * 100)
    line = _one_line(slimmer("build", f"oci-archive:{garbage}"), 1)
    assert str(garbage) in line
    line = _one_line(slimmer("build", f"docker-archive:{tmp_path / 'missing.tar'}"), 2)
    assert "no such file" in line
    line = _one_line(slimmer("build", f"oci:{tmp_path}"), 2)
    assert "not an OCI image layout directory (no index.json)" in line
    line = _one_line(slimmer("build", "any:1", "--no-load"), 2)
    assert "--no-load writes the slim image only to --archive or --oci" in line
    line = _one_line(slimmer("build", "any:1", "--no-load", "--archive", "x.tar", "--push"), 2)
    assert "--push pushes the slim image from the engine" in line
