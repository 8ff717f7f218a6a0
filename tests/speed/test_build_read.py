"""`slimmer build` end to end: the slim image is the same whichever way the image was read
(save stream, walk of a fresh container, layer cache, with or without the cache), the report
says which way and why, and nothing is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from slimmer.engine import Engine
from tests.e2e.helpers import leftovers, sessions_in, slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def build(ref: str, tag: str, tmp_path: Path, run: str, *options: str) -> dict:
    """One build with the layer cache under ``tmp_path`` (never the user's); its report."""
    out = tmp_path / f"out-{run}"
    done = slimmer(
        "build", ref, "--tag", tag, "--output-dir", str(out), "--json", *options,
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
        tmpdir=tmp_path / f"tmp-{run}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    json_summary = summary(done)
    assert json_summary["image_read"] and json_summary["timeline"]
    return json_summary


def no_leftovers(engine: Engine, tmp_path: Path) -> None:
    for run_dir in tmp_path.glob("tmp-*"):
        for session in sessions_in(run_dir):
            assert leftovers(engine, session) == []
        assert not list(run_dir.glob("slimmer-*"))


def test_save_stream_cache_and_walk_give_one_image(
    engine: Engine, fixture_image, tmp_path: Path
) -> None:
    """python-app three ways: the save stream (filling a new cache), the cache (every layer
    cached), and the walk (--no-cache): one image id; each report names its way."""
    ref = fixture_image("python-app")
    tag = f"slimmer-e2e/python-app.read:{tmp_path.name[-12:].lower()}"
    try:
        first = build(ref, tag, tmp_path, "save", "--read-image", "save")
        cached = build(ref, tag, tmp_path, "cache")
        walked = build(ref, tag, tmp_path, "walk", "--no-cache")
        assert first["image_read"]["method"] == "save"
        assert cached["image_read"]["method"] == "cache"
        assert cached["image_read"]["layers_cached"] == cached["image_read"]["layers"]
        assert walked["image_read"]["method"] == "walk"
        assert "off (--no-cache)" in walked["image_read"]["why_not_faster"][0]
        assert first["result"]["id"] == cached["result"]["id"] == walked["result"]["id"]
        assert first["verdict"] == cached["verdict"] == walked["verdict"] == "passed"
        phases = {span["phase"] for span in walked["timeline"]}
        assert {"index", "observe", "select", "rebuild", "verify"} <= phases
    finally:
        engine.remove_image(tag)
    no_leftovers(engine, tmp_path)


def test_a_build_needing_what_the_walk_cannot_know_reads_the_layers(
    engine: Engine, fixture_image, tmp_path: Path
) -> None:
    """crafted-config's VOLUME is mounted over in every container: the walk cannot know what
    the image has there, the selection keeps it, so the build reads the save stream and says
    so; the image is the one a save-stream build gives."""
    ref = fixture_image("crafted-config")
    tag = f"slimmer-e2e/crafted-config.read:{tmp_path.name[-12:].lower()}"
    options = ("--continue-after", "timeout:3", "--no-http-probe", "--no-verify")
    try:
        auto = build(ref, tag, tmp_path, "auto", "--no-cache", *options)
        save = build(ref, tag, tmp_path, "save", "--no-cache", "--read-image", "save", *options)
        assert auto["image_read"]["method"] == "save"
        assert "/srv/app/data" in auto["image_read"]["fallback"]
        assert auto["result"]["id"] == save["result"]["id"]
    finally:
        engine.remove_image(tag)
    no_leftovers(engine, tmp_path)
