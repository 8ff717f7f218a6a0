"""Podman through its Docker-compatible API (rootful `podman system service`): build, profile
and doctor end to end, the fixture images' functional checks on Podman, and finding Podman's
socket when no Docker socket answers."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from slimmer.engine import Engine
from tests.checks import CHECKS
from tests.e2e.helpers import leftovers, sessions_in, slimmer, summary
from tests.engines.conftest import skopeo_digest
from tests.engines.services import PodmanService

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FIXTURES = ["batch", "nginx", "python-app", "redis", "health-exec"]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_build_on_podman(
    name: str, podman: PodmanService, podman_image, tmp_path: Path
) -> None:
    ref = podman_image(name)
    CHECKS[name](podman.engine, ref)  # the check itself works on Podman, on the original
    tag = f"slimmer-podman/{name}.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer(
            "build", ref, "--engine-host", podman.socket, "--tag", tag,
            "--output-dir", str(out), "--json", tmpdir=tmp_path / "tmp",
            env={"DOCKER_HOST": "unix:///nonexistent.sock"},  # --engine-host wins over it
        )
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed", done.stderr
        report = json.loads((out / "report.json").read_text())
        assert report["source"]["engine"]["kind"] == "podman"
        assert report["source"]["engine"]["endpoint"] == podman.socket
        assert report["observation"]["fanotify"] in ("filesystem", "mount")
        assert report["result"]["size"] < report["source"]["size"] / 4
        if name == "health-exec":  # Podman's compatible inspect leaves HEALTHCHECK out
            observed = report["healthcheck"]["observed"]
            assert report["healthcheck"]["check"].startswith("HEALTHCHECK CMD curl"), report
            assert len(observed) >= 2 and all(r["exit_code"] == 0 for r in observed), observed
        CHECKS[name](podman.engine, tag)
        for session in sessions_in(tmp_path / "tmp"):
            assert leftovers(podman.engine, session) == []
        assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"
    finally:
        podman.engine.remove_image(tag)


def test_profile_on_podman(podman: PodmanService, podman_image, tmp_path: Path) -> None:
    ref = podman_image("nginx")
    out = tmp_path / "out"
    done = slimmer("profile", ref, "--engine-host", podman.socket, "--output-dir", str(out),
                   "--json", tmpdir=tmp_path / "tmp")
    assert done.returncode == 0, done.stderr
    assert summary(done)["verdict"] == "passed"  # nginx under seccomp.json, run by Podman
    profile = json.loads((out / "seccomp.json").read_text())
    allowed = {n for rule in profile["syscalls"] for n in rule["names"]}
    assert {"accept4", "epoll_wait", "setuid"} <= allowed


def test_doctor_on_podman(podman: PodmanService) -> None:
    done = slimmer("doctor", "--engine-host", podman.socket, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    engine = checks["engine"]["detail"]
    version = podman.engine.version()["Version"]
    assert f"Podman {version}" in engine and "rootful" in engine and "context default" in engine
    assert podman.socket in engine
    assert checks["profiling container"]["ok"], checks["profiling container"]


def _in_namespace(mounts: list[tuple[str, str]], *args: str) -> list[str]:
    """A command line running `slimmer ARGS` in a private mount namespace where each
    (source, target) is bind-mounted (a tmpfs first makes /run/podman private)."""
    script = ["mkdir -p /run/podman", "mount -t tmpfs tmpfs /run/podman"]
    for source, target in mounts:
        script += [f"touch {shlex.quote(target)}",
                   f"mount --bind {shlex.quote(source)} {shlex.quote(target)}"]
    script.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "; ".join(script),
            "sh", sys.executable, "-m", "slimmer", *args]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run without anything in the environment that names an engine."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("DOCKER_") and k != "XDG_RUNTIME_DIR"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)


def test_podman_socket_used_when_no_docker_socket_answers(podman: PodmanService) -> None:
    """No DOCKER_HOST, no context: the Docker socket is not a socket, Podman's is there."""
    mounts = [(podman.socket.removeprefix("unix://"), "/run/podman/podman.sock"),
              ("/dev/null", "/run/docker.sock")]
    done = _run(_in_namespace(mounts, "doctor", "--json"))
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    detail = checks["engine"]["detail"]
    assert "unix:///run/podman/podman.sock (a Podman socket)" in detail, detail
    assert "Podman" in detail and done.returncode == 0, done.stderr


def test_docker_socket_preferred_when_it_answers(podman: PodmanService, engine: Engine) -> None:
    mounts = [(podman.socket.removeprefix("unix://"), "/run/podman/podman.sock")]
    done = _run(_in_namespace(mounts, "doctor", "--json"))
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert "unix:///var/run/docker.sock" in checks["engine"]["detail"]
    assert "Docker" in checks["engine"]["detail"]


def test_podman_socket_present_but_silent(tmp_path: Path) -> None:
    """A socket file nobody listens on: one line naming it, and how to start the service."""
    dead = tmp_path / "dead.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(dead))
    listener.close()  # the file stays, nobody answers
    mounts = [(str(dead), "/run/podman/podman.sock"), ("/dev/null", "/run/docker.sock")]
    done = _run(_in_namespace(mounts, "build", "slimmer-fixture/none:1"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Podman socket unix:///run/podman/podman.sock is present but does not answer" in lines[0]
    assert "podman system service" in lines[0] and "systemctl start podman.socket" in lines[0]


def test_image_file_in_on_podman(podman: PodmanService, image_files, tmp_path: Path) -> None:
    """A docker-archive built on Podman: loaded for the runs (Podman names it localhost/...),
    removed afterwards."""
    assert not podman.engine.has_image(image_files.image_id)
    tag = f"slimmer-podman/from-file.slim:{tmp_path.name[-12:].lower()}"
    try:
        done = slimmer("build", f"docker-archive:{image_files.docker_archive}", "--engine-host",
                       podman.socket, "--tag", tag, "--json", "--output-dir",
                       str(tmp_path / "out"))
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        assert not podman.engine.has_image(image_files.image_id)
        listed = podman.podman("images", "--format", "{{.Repository}}").stdout
        assert "slimmer-tmp" not in listed, listed
        CHECKS["batch"](podman.engine, tag)
    finally:
        podman.engine.remove_image(tag)


def test_push_and_pull_on_podman(
    podman: PodmanService, podman_image, open_registry, tmp_path: Path
) -> None:
    """Podman does not treat a loopback registry as plain HTTP by itself (Docker does):
    slimmer tells it, for the push (compatible API) and the pull (Podman's own API)."""
    ref = podman_image("batch")
    tag = f"{open_registry.address}/slimmer-podman/batch:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        # the verification on Podman is test_fixture_build_on_podman's; here the push and pull
        done = slimmer("build", ref, "--engine-host", podman.socket, "--tag", tag, "--push",
                       "--no-verify", "--output-dir", str(out), "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads((out / "report.json").read_text())
        digest = report["result"]["pushed"]["digest"]
        assert digest == skopeo_digest(tag)
        podman.engine.remove_image(tag)
        done = slimmer("profile", tag, "--pull", "--engine-host", podman.socket, "--no-verify",
                       "--output-dir", str(tmp_path / "profile"), "--json")
        assert done.returncode == 0, done.stderr
        pulled = podman.engine.inspect_image(tag)
        assert pulled.id == report["result"]["id"]
        assert f"{tag.rsplit(':', 1)[0]}@{digest}" in pulled.repo_digests
    finally:
        podman.engine.remove_image(tag)
