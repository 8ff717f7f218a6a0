"""`slimmer build` with default flags on the realistic fixture images, end to end."""

from __future__ import annotations

import json

import pytest

from slimmer.engine import Engine
from tests.checks import CHECKS
from tests.e2e.helpers import slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# the most a slim image may weigh, as a fraction of the original
# (the JVM keeps its 130 MB class library, lib/modules, which every JVM start maps)
MAX_FRACTION = {
    "nginx": 1 / 10, "python-app": 1 / 5, "redis": 1 / 6, "batch": 1 / 10, "jvm-app": 0.6,
}


@pytest.mark.parametrize("name", sorted(MAX_FRACTION))
def test_default_build_is_small_verified_and_works(
    name: str, engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image(name)
    tag = f"slimmer-e2e/{name}.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer(
            "build", ref, "--tag", tag, "--output-dir", str(out), "--json", tmpdir=tmp_path / "tmp"
        )
        assert done.returncode == 0, done.stderr
        result = summary(done)
        assert result["verdict"] == "passed", done.stderr
        report = json.loads((out / "report.json").read_text())
        unresolved = [w for w in report["warnings"] if "not found in the image" in w]
        assert unresolved == []
        original, slim = result["source"]["size"], result["result"]["size"]
        assert slim <= original * MAX_FRACTION[name], (
            f"{name}: slim {slim} B is more than {MAX_FRACTION[name]:.3f} of {original} B"
        )
        for artifact in (
            "report.json",
            "kept.txt",
            "removed.txt",
            "seccomp.json",
            "apparmor.profile",
        ):
            assert (out / artifact).is_file(), artifact
        CHECKS[name](engine, tag)
        assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"
    finally:
        engine.remove_image(tag)
