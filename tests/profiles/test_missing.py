"""find_missing_syscalls: the algorithm on a pure predicate, then on a real image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slimmer.profiles.docker_default import docker_default_names
from slimmer.profiles.missing import find_missing_syscalls, shrink, with_allowed
from tests.profiles.pipeline import profile_of
from tests.profiles.targets import TARGETS, behaves_alike, run_target

BASE = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}
CANDIDATES = sorted(docker_default_names("x86_64"))


def _needs(*names: str):
    calls = []

    def run(profile: dict) -> bool:
        calls.append(profile)
        allowed = {n for rule in profile["syscalls"] for n in rule["names"]}
        return set(names) <= allowed

    return run, calls


def test_names_the_missing_syscalls() -> None:
    run, calls = _needs("read", "listen", "accept4")
    assert find_missing_syscalls(run, BASE, CANDIDATES) == ["accept4", "listen"]
    assert len(calls) < 60  # group testing, not one run per candidate


def test_nothing_missing_and_nothing_helps() -> None:
    run, calls = _needs("read")
    assert find_missing_syscalls(run, BASE, CANDIDATES) == []
    assert len(calls) == 1
    run, _ = _needs("no_such_call")
    assert find_missing_syscalls(run, BASE, CANDIDATES) == []


def test_shrink_is_one_minimal() -> None:
    need = {"a", "q", "z"}
    assert shrink([chr(c) for c in range(97, 123)], lambda s: need <= s) == ["a", "q", "z"]


def test_with_allowed_copies() -> None:
    grown = with_allowed(BASE, ["listen"])
    assert grown["syscalls"][0]["names"] == ["listen", "read", "write"]
    assert BASE["syscalls"][0]["names"] == ["read", "write"]
    assert with_allowed({"syscalls": []}, ["x"])["syscalls"] == [
        {"names": ["x"], "action": "SCMP_ACT_ALLOW"}]


@pytest.mark.docker
@pytest.mark.slow
def test_finds_what_a_real_image_lacks(engine, fixture_image, tmp_path: Path) -> None:
    """nginx under its own profile minus `listen`: the search names `listen`."""
    ref = fixture_image("nginx")
    profile_of(ref, tmp_path / "out", "--no-verify")
    profile = json.loads((tmp_path / "out" / "seccomp.json").read_text())
    names = profile["syscalls"][0]["names"]
    assert "listen" in names
    names.remove("listen")
    target = TARGETS["nginx"]
    reference = run_target(engine, ref, target)
    assert reference.answers, "nginx did not answer without a profile"

    def run(candidate: dict) -> bool:
        outcome = run_target(engine, ref, target, ["seccomp=" + json.dumps(candidate)],
                             timeout=15)
        return behaves_alike(reference, outcome)

    assert find_missing_syscalls(run, profile, CANDIDATES) == ["listen"]
