"""Helpers for the xray and diff tests: run the real CLI, save images to files, convert a
docker-archive to an OCI layout, render HTML in headless Chromium."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from tests.e2e.helpers import slimmer

CHROMIUM = "/usr/bin/chromium"

__all__ = ["oci_layout_from_archive", "render_dom", "save_image", "slimmer", "xray_json"]


def xray_json(spec: str, *args: str, env: dict[str, str] | None = None) -> dict:
    done = slimmer("xray", spec, "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def save_image(ref: str, path: Path) -> Path:
    """``docker save REF -o PATH`` (the real CLI)."""
    subprocess.run(["docker", "save", ref, "-o", str(path)], check=True, timeout=300)
    return path


def oci_layout_from_archive(archive: Path, target: Path) -> Path:
    """An OCI image layout directory holding the image of a docker-archive, layers gzipped (as
    registries and `skopeo copy oci:` store them)."""
    blobs = target / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))[0]
        config = tar.extractfile(manifest["Config"]).read()
        layers = []
        for name in manifest["Layers"]:
            data = gzip.compress(tar.extractfile(name).read(), compresslevel=1, mtime=0)
            layers.append(_blob(blobs, data, "application/vnd.oci.image.layer.v1.tar+gzip"))
    config_descriptor = _blob(blobs, config, "application/vnd.oci.image.config.v1+json")
    image_manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": config_descriptor, "layers": layers}
    ).encode()
    index = {"schemaVersion": 2, "manifests": [
        _blob(blobs, image_manifest, "application/vnd.oci.image.manifest.v1+json")]}
    (target / "index.json").write_text(json.dumps(index))
    (target / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return target


def _blob(blobs: Path, data: bytes, media: str) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"mediaType": media, "digest": f"sha256:{digest}", "size": len(data)}


def render_dom(html_file: Path) -> tuple[str, list[str]]:
    """The DOM after Chromium (headless, no network) ran the page's scripts, and every console
    message the page produced."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true and no chromium: run scripts/install-deps.sh --test")
        pytest.skip("no chromium (scripts/install-deps.sh --test installs it)")
    profile = tempfile.mkdtemp(prefix="slimmer-chromium-")
    try:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0", "--window-size=1280,1024",
             "--virtual-time-budget=5000", "--dump-dom", html_file.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console
