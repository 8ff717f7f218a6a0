"""`slimmer build` outputs on the crafted-config image: the original config carried over, the
archive files CI pushes, and the default tag."""

from __future__ import annotations

import json
import tarfile

import pytest

from slimmer.engine import Engine
from tests.checks import CHECKS
from tests.e2e.helpers import slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CARRIED = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "StopSignal",
    "Healthcheck",
)


def test_config_archive_and_oci_outputs(engine: Engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("crafted-config")
    tag = f"slimmer-e2e/crafted-config.slim:{tmp_path.name[-12:].lower()}"
    archive, oci = tmp_path / "slim.tar", tmp_path / "slim-oci.tar"
    try:
        done = slimmer(
            "build",
            ref,
            "--tag",
            tag,
            "--archive",
            str(archive),
            "--oci",
            str(oci),
            "--probe-timeout",
            "3",
            "--output-dir",
            str(tmp_path / "out"),
            "--json",
            tmpdir=tmp_path / "tmp",
        )
        assert done.returncode == 0, done.stderr
        result = summary(done)
        assert result["verdict"] == "passed"
        # the port the image exposes but never serves is reported, not a failure
        assert any("8080" in w and "not verified" in w for w in result["warnings"])

        original, slim = engine.inspect_image(ref), engine.inspect_image(tag)
        for key in CARRIED:
            assert slim.config.get(key) == original.config.get(key), key
        labels = slim.config["Labels"]
        assert labels["com.example.tier"] == "test"
        assert labels["io.slimmer.source-digest"] == original.id
        assert (slim.os, slim.architecture) == (original.os, original.architecture)
        CHECKS["crafted-config"](engine, tag)

        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == [tag]
        with tarfile.open(oci) as tar:
            names = set(tar.getnames())
            index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        assert {"oci-layout", "index.json"} <= names
        digest = index["manifests"][0]["digest"].split(":")[1]
        assert f"blobs/sha256/{digest}" in names
        assert result["result"]["id"] == slim.id
    finally:
        engine.remove_image(tag)


def test_default_tag_and_output_dir(engine: Engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("crafted-links")  # a CMD that exits: observed until it does
    repo, tag = ref.rsplit(":", 1)
    slim_ref = f"{repo}.slim:{tag}"
    try:
        done = slimmer("build", ref, "--json", "--no-verify", tmpdir=tmp_path / "tmp", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert summary(done)["result"]["ref"] == slim_ref
        assert engine.inspect_image(slim_ref).id
        assert (tmp_path / "slimmer-out" / f"crafted-links-{tag}" / "report.json").is_file()
    finally:
        engine.remove_image(slim_ref)
