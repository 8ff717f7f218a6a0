"""Acceptance: every fixture image works under its generated seccomp.json, original and slim;
every seccomp.json is never weaker than Docker's default profile, argument by argument; every
AppArmor profile compiles; nginx's allow list is under half of Docker's default list.

Observation, profiles and verification all go through the real pipeline (`slimmer profile`,
`slimmer build`), with the real sensor.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixtures import all_recipes
from slimmer.profiles.docker_default import default_filter, docker_default_names
from slimmer.profiles.evaluate import specialize, weaker_points
from slimmer.profiles.libseccomp_names import KNOWN
from tests.profiles.pipeline import profile_of, slimmer

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# pg-app needs its database: tests/e2e/test_compose.py verifies it (and under seccomp.json)
# in its compose setup
FIXTURES = sorted(set(all_recipes()) - {"pg-app"})
SLIM_UNDER_SECCOMP = "slim image under seccomp.json"
# options a user would give: crafted-config's `fixture-tool sleep` serves nothing on its ports
OPTIONS = {
    "crafted-config": ("--continue-after", "timeout:3", "--no-http-probe"),
    "postgres": ("--env", "POSTGRES_PASSWORD=fixture-pw"),
}


def _allowed(out: Path) -> list[str]:
    return json.loads((out / "seccomp.json").read_text())["syscalls"][0]["names"]


@pytest.mark.parametrize("name", FIXTURES)
def test_original_under_its_profiles(
    name: str, fixture_image, tmp_path: Path, apparmor_parser: str
) -> None:
    out = tmp_path / "out"
    report = profile_of(fixture_image(name), out, "--seccomp-log", *OPTIONS.get(name, ()))
    runs = report["verification"]["runs"]
    assert [r["verdict"] for r in runs] == ["passed"], runs
    names = _allowed(out)
    assert set(names) <= KNOWN["x86_64"]
    assert len(names) < len(docker_default_names("x86_64"))
    default = default_filter("x86_64")
    generated = specialize(json.loads((out / "seccomp.json").read_text()), "x86_64", frozenset())
    assert weaker_points(generated, default, KNOWN["x86_64"] | default.names) == []
    for artifact in ("seccomp-log.json", "seccomp-profile.yaml", "apparmor.profile"):
        assert (out / artifact).is_file(), artifact
    assert all(f"    - {n}\n" in (out / "seccomp-profile.yaml").read_text() for n in names)
    compiled = subprocess.run([apparmor_parser, "-Q", "-K", str(out / "apparmor.profile")],
                              capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stderr


@pytest.mark.parametrize("name", FIXTURES)
def test_slim_image_under_its_profile(name: str, engine, fixture_image, tmp_path: Path) -> None:
    tag = f"slimmer-test/{name}.slim:profiles"
    out = tmp_path / "out"
    try:
        code, _summary, stderr = slimmer("build", fixture_image(name), "--tag", tag,
                                         "--output-dir", str(out), *OPTIONS.get(name, ()),
                                         tmpdir=tmp_path / "tmp")
        report = json.loads((out / "report.json").read_text())
        runs = {r["name"]: r for r in report["verification"]["runs"]}
        assert runs[SLIM_UNDER_SECCOMP]["verdict"] == "passed", runs[SLIM_UNDER_SECCOMP]
        assert code == 0, stderr[-2000:]
    finally:
        engine.remove_image(tag)


def test_nginx_allows_less_than_half_of_dockers_list(fixture_image, tmp_path: Path) -> None:
    out = tmp_path / "out"
    profile_of(fixture_image("nginx"), out, "--no-verify")
    assert len(_allowed(out)) < len(docker_default_names("x86_64")) / 2
