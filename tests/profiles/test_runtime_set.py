"""The runtime set, checked on the engines: a do-nothing container starts under it alone.

Each check also shows it can fail: without the names a runtime needs, the same container does
not start. runc is the shared engine's runtime; crun runs in a private dockerd (see
private_engine.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slimmer.observation import Observation
from slimmer.profiles.runtime_syscalls import RUNTIME_SYSCALLS, runtime_syscalls
from slimmer.profiles.seccomp import seccomp_profile
from tests.profiles.pipeline import profile_of
from tests.profiles.runtime_probe import allow_profile, exit0_image, starts_under
from tests.profiles.targets import TARGETS, behaves_alike, run_target

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUNS = 15  # runc's Go runtime makes some calls only now and then: start it several times
ARCH = "x86_64"
VARIANTS = [("", []), ("1000:1000", []), ("", ["no-new-privileges"]),
            ("1000:1000", ["no-new-privileges"])]


def _starts_every_time(engine, image: str, profile: dict, opts: list[str]) -> int:
    """How many of RUNS starts failed."""
    return sum(not starts_under(engine, image, profile, opts) for _ in range(RUNS))


@pytest.mark.parametrize(("user", "opts"), VARIANTS)
def test_runc_starts_under_the_runtime_set(engine, user: str, opts: list[str]) -> None:
    image = exit0_image(engine, user=user)
    assert _starts_every_time(engine, image, allow_profile(runtime_syscalls(ARCH)), opts) == 0


def test_runc_needs_it(engine) -> None:
    image = exit0_image(engine)
    without = runtime_syscalls(ARCH) - {"setgroups", "capset"}
    assert not starts_under(engine, image, allow_profile(without))
    assert not starts_under(engine, image, allow_profile({"execve", "exit_group"}))


def test_a_generated_profile_of_an_empty_run_starts(engine) -> None:
    """An observation that saw only exit_group still gives a profile the container starts under."""
    obs = Observation(arch=ARCH, syscalls={"x86_64": {"exit_group": 1}})
    assert starts_under(engine, exit0_image(engine), seccomp_profile(obs))


@pytest.mark.parametrize(("user", "opts"), VARIANTS)
def test_crun_starts_under_the_runtime_set(crun_engine, user: str, opts: list[str]) -> None:
    assert crun_engine.info()["DefaultRuntime"] == "crun"
    image = exit0_image(crun_engine, user=user)
    profile = allow_profile(runtime_syscalls(ARCH))
    assert _starts_every_time(crun_engine, image, profile, opts) == 0


def test_crun_needs_its_own_names(crun_engine) -> None:
    """runc's set alone is not enough for crun: the union is what makes both start."""
    image = exit0_image(crun_engine)
    assert not starts_under(crun_engine, image, allow_profile(RUNTIME_SYSCALLS["runc"][ARCH]))


@pytest.mark.parametrize("name", ["batch", "sensorlab"])
def test_fixture_profile_works_under_crun(
    crun_engine, engine, fixture_image, name: str, tmp_path: Path
) -> None:
    """A profile observed on the runc engine also runs the image under crun (the union set)."""
    ref = fixture_image(name)
    profile_of(ref, tmp_path / "out", "--no-verify")
    profile = json.loads((tmp_path / "out" / "seccomp.json").read_text())
    archive = tmp_path / "image.tar"
    with archive.open("wb") as handle:
        for chunk in engine.save_image(ref):
            handle.write(chunk)
    with archive.open("rb") as handle:
        crun_engine.load_image(handle)
    target = TARGETS[name]
    reference = run_target(crun_engine, ref, target)
    assert reference.exit_code == 0 and reference.output, reference
    confined = run_target(crun_engine, ref, target, ["seccomp=" + json.dumps(profile)])
    assert behaves_alike(reference, confined), confined
