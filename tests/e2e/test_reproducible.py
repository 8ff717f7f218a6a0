"""Two `slimmer build` runs of the same image (two observations) give the same slim image."""

from __future__ import annotations

import pytest

from slimmer.engine import Engine
from tests.e2e.helpers import slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.mark.parametrize("name", ["nginx", "python-app"])
def test_two_builds_give_the_same_image_id(
    name: str, engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image(name)
    tags = [f"slimmer-e2e/{name}.repro:{tmp_path.name[-12:].lower()}-{run}" for run in (1, 2)]
    try:
        results = []
        for run, tag in enumerate(tags, start=1):
            done = slimmer("build", ref, "--tag", tag, "--output-dir", str(tmp_path / f"out{run}"),
                           "--json", tmpdir=tmp_path / "tmp")
            assert done.returncode == 0, done.stderr
            results.append(summary(done)["result"])
        first, second = results
        kept = [(tmp_path / f"out{run}" / "kept.txt").read_text() for run in (1, 2)]
        assert kept[0] == kept[1]
        assert first["id"] == second["id"]
    finally:
        for tag in tags:
            engine.remove_image(tag)
