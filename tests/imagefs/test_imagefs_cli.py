"""The layer size cap from the command line: `build --max-layer-bytes` reaches the image reader
(the save stream's: a walk of a container unpacks no layer), and a layer over it ends the build
with one line naming the layer, leaving nothing behind."""

from __future__ import annotations

import re

import pytest

from slimmer.engine import Engine
from slimmer.runsettings import parse_size
from tests.e2e.helpers import slimmer


@pytest.mark.parametrize(
    ("text", "size"), [("1", 1), ("512", 512), ("4K", 4096), ("32G", 32 << 30), ("2MiB", 2 << 20)]
)
def test_sizes_parse(text: str, size: int) -> None:
    assert parse_size(text, "--max-layer-bytes") == size


def test_a_bad_size_is_a_usage_error(tmp_path) -> None:
    done = slimmer("build", "any/image", "--max-layer-bytes", "12X", tmpdir=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "slimmer: error: invalid --max-layer-bytes '12X': give a size such as 512M or 64G"
    )


@pytest.mark.docker
@pytest.mark.slow
def test_a_layer_over_the_cap_ends_the_build(engine: Engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("crafted-config")
    done = slimmer(
        "build",
        ref,
        "--max-layer-bytes",
        "1K",
        "--read-image",  # the cap bounds the layers slimmer unpacks; a walk unpacks none
        "save",
        "--continue-after",
        "timeout:3",
        "--no-http-probe",
        "--output-dir",
        str(tmp_path / "out"),
        tmpdir=tmp_path / "tmp",
    )
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"slimmer: error: layer \S+ is larger than 1024 bytes uncompressed: it may be a "
        r"decompression bomb; if the image is trusted, raise --max-layer-bytes",
        last,
    ), last
    assert "Traceback" not in done.stderr
    assert not list((tmp_path / "tmp").iterdir())
