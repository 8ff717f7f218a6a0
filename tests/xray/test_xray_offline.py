"""xray and diff read image files with no engine at all: a docker-archive (`docker save`) and
an OCI layout directory (gzip layers), with DOCKER_HOST pointing at nothing. The results equal
those of the engine reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.xray.helpers import oci_layout_from_archive, save_image, slimmer, xray_json

pytestmark = [pytest.mark.docker]
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def _comparable(report: dict) -> dict:
    report = dict(report)
    report["image"] = {k: v for k, v in report["image"].items() if k != "name"}
    return report


def test_docker_archive_and_oci_layout_without_engine(fixture_image, tmp_path: Path) -> None:
    ref = fixture_image("crafted-secrets")
    archive = save_image(ref, tmp_path / "image.tar")
    layout = oci_layout_from_archive(archive, tmp_path / "oci")
    from_engine = xray_json(ref)
    from_archive = xray_json(str(archive), env=NO_ENGINE)
    from_layout = xray_json(str(layout), env=NO_ENGINE)
    assert _comparable(from_archive) == _comparable(from_engine)
    assert _comparable(from_layout) == _comparable(from_engine)
    # the names `build` takes too
    assert _comparable(xray_json(f"docker-archive:{archive}", env=NO_ENGINE)) == (
        _comparable(from_engine)
    )
    assert _comparable(xray_json(f"oci:{layout}", env=NO_ENGINE)) == _comparable(from_engine)
    assert len(from_layout["security"]["secrets"]) == 8
    tmp = tmp_path / "tmp"
    done = slimmer("diff", str(archive), str(layout), "--json", env=NO_ENGINE, tmpdir=tmp)
    assert done.returncode == 0, done.stderr
    assert '"removed": []' in done.stdout and '"changed": []' in done.stdout
    assert not list(tmp.iterdir()), "temporary files left behind"


def test_missing_image_file_fails_in_one_line(tmp_path: Path) -> None:
    done = slimmer("xray", f"docker-archive:{tmp_path / 'missing.tar'}", env=NO_ENGINE)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "no such file" in done.stderr, done.stderr


def test_engine_reference_without_engine_fails_in_one_line(tmp_path: Path) -> None:
    done = slimmer("xray", "no-such-image:latest", env=NO_ENGINE)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("slimmer: error:")
