"""SIGTERM or Ctrl-C during xray leaves nothing behind in the temp directory and exits with
128 + the signal; a corrupt archive is a one-line error with nothing left behind."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import slimmer

FILES = 30_000


def _many_files_archive(path: Path) -> Path:
    """A docker-archive whose one layer (gzip, so it is decompressed into the work directory)
    holds many small files: reading it takes a while."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for number in range(FILES):
            info = tarfile.TarInfo(f"srv/d{number // 500}/f{number}")
            info.size = 64
            tar.addfile(info, io.BytesIO(bytes(64)))
    diff_id = "sha256:" + hashlib.sha256(layer.getvalue()).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/x"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "Layers": ["layer.tar.gz"]}]).encode()
    blob = gzip.compress(layer.getvalue(), compresslevel=1)
    with tarfile.open(path, "w") as tar:
        for name, data in (("manifest.json", manifest), (config_name, config),
                           ("layer.tar.gz", blob)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_leaves_nothing_behind(signum: int, tmp_path: Path) -> None:
    archive = _many_files_archive(tmp_path / "many.tar")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir))
    process = subprocess.Popen([sys.executable, "-m", "slimmer", "xray", str(archive)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmpdir.glob("slimmer-xray-*/slimmer-imagefs-*/*")):
        assert process.poll() is None, "xray ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    assert stderr.strip().startswith("slimmer: error:") and "\n" not in stderr.strip(), stderr
    assert list(tmpdir.iterdir()) == []


def test_corrupt_archive_is_one_line(tmp_path: Path) -> None:
    archive = _many_files_archive(tmp_path / "many.tar")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = bytes(4096)  # damage the gzip layer
    archive.write_bytes(bytes(data))
    done = slimmer("xray", str(archive), tmpdir=tmp_path / "tmp")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "layer" in done.stderr, done.stderr
    assert list((tmp_path / "tmp").iterdir()) == []
