"""Rootless Podman: the profiling container lives in a user namespace, where fanotify is
refused; the sensor watches with ptrace alone, the build still passes, and the report and
`slimmer doctor` say what that mode misses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slimmer.engine import Engine
from slimmer.observe import PTRACE_ONLY_MISSES
from tests.checks import CHECKS
from tests.e2e.helpers import slimmer, summary
from tests.engines.conftest import copy_image
from tests.engines.services import PodmanService

pytestmark = [pytest.mark.docker, pytest.mark.slow]


# one build, as the issue asks: nginx (probes through the rootless port forwarding); batch
# adds nothing the rootful Podman builds do not show
@pytest.mark.parametrize("name", ["nginx"])
def test_rootless_build_uses_ptrace_only(
    name: str, engine: Engine, fixture_image, rootless_podman: PodmanService, tmp_path: Path
) -> None:
    ref = fixture_image(name)
    if not rootless_podman.engine.has_image(ref):
        copy_image(engine, ref, rootless_podman.engine)
    tag = f"slimmer-rootless/{name}.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer("build", ref, "--engine-host", rootless_podman.socket, "--tag", tag,
                       "--output-dir", str(out), "--json")
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed", done.stderr
        report = json.loads((out / "report.json").read_text())
        assert report["source"]["engine"] == {
            "kind": "podman", "endpoint": rootless_podman.socket, "context": "default",
            "rootless": True,
        }
        assert report["observation"]["fanotify"].startswith("off")
        assert report["observation"]["ptrace"] == "seccomp"
        warning = [w for w in report["warnings"] if "ptrace alone" in w]
        assert len(warning) == 1 and PTRACE_ONLY_MISSES in warning[0]
        CHECKS[name](rootless_podman.engine, tag)
    finally:
        rootless_podman.engine.remove_image(tag)


def test_doctor_on_rootless_podman(rootless_podman: PodmanService) -> None:
    done = slimmer("doctor", "--engine-host", rootless_podman.socket, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert "Podman" in checks["engine"]["detail"] and "rootless" in checks["engine"]["detail"]
    profiling = checks["profiling container"]
    assert profiling["ok"] and "fanotify: off" in profiling["detail"]
    assert "ptrace-only mode" in profiling["detail"]
