"""`slimmer sbom` on image files (docker-archive, OCI layout directory and tar): no engine,
valid documents, one-line usage errors, nothing left in the temp directory."""

from __future__ import annotations

import json
import os

import pytest

from tests.e2e.helpers import slimmer
from tests.imagefs.crafted import PlatformImage, docker_archive, oci_layout
from tests.inventory import images
from tests.sbom.validate import assert_valid_cyclonedx, assert_valid_spdx

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    layers = [images.DEBIAN, images.APPS]
    return {
        "docker-archive": docker_archive(root / "image.tar", layers),
        "oci-dir": oci_layout(root / "oci", [PlatformImage(layers)], as_tar=False),
        "oci-tar": oci_layout(root / "oci.tar", [PlatformImage(layers)], as_tar=True),
    }


@pytest.mark.parametrize("kind", ["docker-archive", "oci-dir", "oci-tar"])
def test_sbom_of_image_files_without_an_engine(kind: str, image_files, tmp_path) -> None:
    done = slimmer("sbom", str(image_files[kind]), env=NO_ENGINE, tmpdir=tmp_path / "tmp")
    assert done.returncode == 0, done.stderr
    document = assert_valid_cyclonedx(done.stdout.encode())
    names = {c["name"] for c in document["components"]}
    assert {"libfoo1", "foo-tools", "left-pad", "rake", "six"} <= names
    assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"


def test_both_formats_into_a_directory(image_files, tmp_path) -> None:
    out = tmp_path / "sboms"
    done = slimmer(
        "sbom",
        str(image_files["docker-archive"]),
        "--format",
        "both",
        "-o",
        str(out),
        env=NO_ENGINE,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == ["sbom.cdx.json", "sbom.spdx.json"]
    assert_valid_cyclonedx((out / "sbom.cdx.json").read_bytes())
    spdx = assert_valid_spdx((out / "sbom.spdx.json").read_bytes())
    assert spdx["name"] == "image.tar"
    single = tmp_path / "one.spdx.json"
    done = slimmer(
        "sbom", str(image_files["oci-dir"]), "--format", "spdx", "-o", str(single), env=NO_ENGINE
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(single.read_text())["spdxVersion"] == "SPDX-2.3"


def test_usage_errors_are_one_line(image_files) -> None:
    done = slimmer("sbom", str(image_files["docker-archive"]), "--format", "both")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "-o DIRECTORY" in done.stderr
    done = slimmer("sbom", str(image_files["docker-archive"]), "--format", "xml")
    assert done.returncode == 2


def test_a_corrupt_file_is_a_one_line_error(tmp_path) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    done = slimmer("sbom", str(bad), env=NO_ENGINE, tmpdir=tmp_path / "tmp")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert not list((tmp_path / "tmp").iterdir())


@pytest.mark.docker
def test_sbom_of_an_engine_image(engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("batch")
    done = slimmer("sbom", ref, "--format", "spdx", tmpdir=tmp_path / "tmp")
    assert done.returncode == 0, done.stderr
    document = assert_valid_spdx(done.stdout.encode())
    name, _, tag = ref.rpartition(":")
    assert document["name"] == f"{name}:{tag}"
    purls = [p["externalRefs"][0]["referenceLocator"] for p in document["packages"][1:]]
    assert any(p.startswith("pkg:deb/debian/coreutils@") for p in purls)
    assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"
