"""write_profiles: the files, their names and contents."""

from __future__ import annotations

import json
from pathlib import Path

from slimmer.observation import Observation
from slimmer.profiles.writer import write_profiles

OBS = Observation(arch="x86_64", syscalls={"x86_64": {"read": 1, "write": 2}})


def test_writes_the_profiles(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    written = write_profiles(OBS, "web", out)
    assert sorted(written) == ["apparmor.profile", "seccomp-profile.yaml", "seccomp.json"]
    assert all(path.parent == out and path.is_file() for path in written.values())
    profile = json.loads(written["seccomp.json"].read_text())
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert {"read", "write"} <= set(profile["syscalls"][0]["names"])
    assert "profile slimmer-web flags=" in written["apparmor.profile"].read_text()
    assert "  name: slimmer-web\n" in written["seccomp-profile.yaml"].read_text()


def test_log_only_variant_on_request(tmp_path: Path) -> None:
    written = write_profiles(OBS, "web", tmp_path, log_only=True)
    log = json.loads(written["seccomp-log.json"].read_text())
    strict = json.loads(written["seccomp.json"].read_text())
    assert log["defaultAction"] == "SCMP_ACT_LOG"
    assert log["syscalls"] == strict["syscalls"]
