"""Registries, against the real distribution registry (Debian's docker-registry) started on
127.0.0.1: --push after a passing verification and the digest read back (skopeo, and a pull),
--pull when missing, --platform picking a variant of a manifest list, credentials from the
Docker CLI config (auths and a credential helper), and each failure as one line with a hint."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from slimmer.engine import Engine
from slimmer.imagefs import open_image
from tests.e2e.helpers import slimmer, summary
from tests.engines.conftest import docker_config, skopeo_digest
from tests.engines.services import Registry, free_port, registry
from tests.prereq import unavailable

pytestmark = [pytest.mark.docker, pytest.mark.slow]

USER, PASSWORD = "slimmer", "s3cret-pass"


def in_registry(registry_address: str, repository: str, tag: str) -> bool:
    import requests

    url = f"http://{registry_address}/v2/{repository}/manifests/{tag}"
    accept = "application/vnd.docker.distribution.manifest.v2+json"
    return requests.head(url, headers={"Accept": accept}, timeout=10).status_code == 200


def remove_references(engine: Engine, repository: str) -> None:
    """Remove every tag and digest reference of ``repository`` (images shared with other
    references stay)."""
    for image in engine.api.images(name=repository):
        for reference in (image.get("RepoTags") or []) + (image.get("RepoDigests") or []):
            if reference.startswith(f"{repository}:") or reference.startswith(f"{repository}@"):
                engine.remove_image(reference)


def one_line(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("slimmer: error: "), done.stderr
    assert sum(line.startswith("slimmer: error:") for line in lines) == 1
    return lines[-1]


@pytest.fixture
def unique(tmp_path: Path) -> str:
    return hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]


def test_push_then_pull_back_same_digest(
    engine: Engine, fixture_image, open_registry: Registry, tmp_path: Path, unique: str
) -> None:
    ref = fixture_image("batch")
    tag = f"{open_registry.address}/slimmer-test/batch:slim-{unique}"
    out = tmp_path / "out"
    try:
        done = slimmer("build", ref, "--tag", tag, "--push", "--output-dir", str(out), "--json",
                       env={"DOCKER_CONFIG": str(docker_config(tmp_path / "cfg"))})
        assert done.returncode == 0, done.stderr
        report = json.loads((out / "report.json").read_text())
        pushed = report["result"]["pushed"]
        assert pushed["ref"] == tag and pushed["registry"] == open_registry.address
        assert pushed["digest"] == skopeo_digest(tag)  # what the registry stores
        slim_id = report["result"]["id"]
        engine.remove_image(tag)
        assert not engine.has_image(tag)
        engine.pull_image(tag)
        pulled = engine.inspect_image(tag)
        assert pulled.id == slim_id
        assert f"{open_registry.address}/slimmer-test/batch@{pushed['digest']}" in (
            pulled.repo_digests)
    finally:
        remove_references(engine, tag.rsplit(":", 1)[0])


def test_pull_when_missing(
    engine: Engine, fixture_image, open_registry: Registry, tmp_path: Path, unique: str
) -> None:
    source = f"{open_registry.address}/slimmer-test/batch:src-{unique}"
    tag = f"slimmer-test/pulled.slim:{unique}"
    engine.tag_image(fixture_image("batch"), source)
    try:
        engine.push_image(source)
        engine.remove_image(source)
        line = one_line(slimmer("build", source, "--tag", tag))
        assert "not found" in line and "--pull" in line
        done = slimmer("build", source, "--pull", "--tag", tag, "--json")
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        assert engine.has_image(source)  # pulled, and kept as `docker run` would
    finally:
        remove_references(engine, source.rsplit(":", 1)[0])
        engine.remove_image(tag)


def _arm64_archive(ref: str) -> bytes:
    """A small linux/arm64 image (one file) as a docker-archive tagged ``ref``."""

    def tar(members: list[tuple[str, bytes]]) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o755
                out.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    layer = tar([("platform", b"arm64\n")])
    config = json.dumps({
        "architecture": "arm64", "variant": "v8", "os": "linux",
        "config": {"Cmd": ["/platform"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
    }).encode()
    name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = [{"Config": name, "RepoTags": [ref], "Layers": ["layer.tar"]}]
    return tar([(name, config), ("layer.tar", layer),
                ("manifest.json", json.dumps(manifest).encode())])


@pytest.fixture
def manifest_list(
    engine: Engine, fixture_image, open_registry: Registry, tmp_path: Path, unique: str
) -> Iterator[tuple[str, dict[str, str]]]:
    """REGISTRY/slimmer-test/multi:UNIQUE, a manifest list of linux/amd64 (the batch fixture)
    and linux/arm64, made with `docker manifest`; and the config digest of each variant."""
    repo = f"{open_registry.address}/slimmer-test/multi"
    variants = {"amd64": f"{repo}:amd64-{unique}", "arm64": f"{repo}:arm64-{unique}"}
    engine.tag_image(fixture_image("batch"), variants["amd64"])
    engine.load_image(io.BytesIO(_arm64_archive(variants["arm64"])))
    ids = {arch: engine.inspect_image(ref).id for arch, ref in variants.items()}
    listed = f"{repo}:{unique}"
    config = docker_config(tmp_path / "manifest-cfg")
    try:
        for ref in variants.values():
            engine.push_image(ref)
        for args in (["manifest", "create", "--insecure", listed, *variants.values()],
                     ["manifest", "push", "--insecure", listed]):
            done = subprocess.run(["docker", "--config", str(config), *args],
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        for ref in variants.values():
            engine.remove_image(ref)
        yield listed, ids
    finally:
        remove_references(engine, repo)
        if engine.has_image(ids["arm64"]):
            engine.remove_image(ids["arm64"])


def test_platform_picks_the_variant(
    engine: Engine, manifest_list: tuple[str, dict[str, str]], tmp_path: Path, unique: str
) -> None:
    listed, ids = manifest_list
    tag = f"slimmer-test/multi.slim:{unique}"
    try:
        done = slimmer("build", listed, "--pull", "--platform", "linux/amd64", "--tag", tag,
                       "--json")
        assert done.returncode == 0, done.stderr
        assert summary(done)["source"]["id"] == ids["amd64"]
        # the engine has the amd64 variant: asking for arm64 without --pull is an error
        line = one_line(slimmer("build", listed, "--platform", "linux/arm64"), code=2)
        assert "is a linux/amd64 image, not linux/arm64" in line and "--pull" in line
        # with --pull, the arm64 variant replaces it (an amd64 engine cannot run it here)
        slimmer("build", listed, "--pull", "--platform", "linux/arm64", "--timeout", "20")
        pulled = engine.inspect_image(listed)
        assert (pulled.architecture, pulled.id) == ("arm64", ids["arm64"])
    finally:
        engine.remove_image(tag)
        engine.remove_image(listed)


def test_platform_picks_the_variant_of_an_oci_layout(
    engine: Engine, manifest_list: tuple[str, dict[str, str]], tmp_path: Path, unique: str
) -> None:
    """The manifest list copied whole into an OCI layout (skopeo --all): --platform picks."""
    listed, ids = manifest_list
    layout = tmp_path / "multi"
    done = subprocess.run(["skopeo", "copy", "--all", "--src-tls-verify=false",
                           f"docker://{listed}", f"oci:{layout}:multi"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    tag = f"slimmer-test/multi-oci.slim:{unique}"
    try:
        out = tmp_path / "out"
        done = slimmer("build", f"oci:{layout}", "--platform", "linux/amd64", "--tag", tag,
                       "--json", "--output-dir", str(out))
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"  # the batch job: the amd64 variant
        source = json.loads((out / "report.json").read_text())["source"]
        assert source["platform"] == "linux/amd64"
        # skopeo rewrote the config as OCI: the id differs, the contents do not
        assert source["id"] not in ids.values()
        # the arm64 variant is there too, and is what --platform linux/arm64 reads
        with open_image(layout, tmp_path / "work", platform="linux/arm64") as fs:
            entry = fs.lookup("/platform")
            assert str(fs.platform) == "linux/arm64/v8" and entry is not None
            assert fs.open(entry).read() == b"arm64\n"
    finally:
        engine.remove_image(tag)


@pytest.fixture(scope="module")
def auth_registry() -> Iterator[Registry]:
    try:
        with registry(users={USER: PASSWORD}) as service:
            yield service
    except RuntimeError as exc:
        unavailable(str(exc))


def _credential_helper(directory: Path, address: str) -> Path:
    """A `docker-credential-slimmertest` on PATH: the credential helper protocol (`get` reads
    the server URL on stdin and answers JSON), for this registry only."""
    directory.mkdir(parents=True, exist_ok=True)
    helper = directory / "docker-credential-slimmertest"
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        "read -r server\n"
        f'if [ "$server" = "{address}" ] || [ "$server" = "http://{address}" ]; then\n'
        f'  printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' "$server"\n'
        "else\n  echo 'credentials not found in native keychain'; exit 1\nfi\n"
    )
    helper.chmod(0o755)
    return directory


def test_push_uses_the_docker_cli_credentials(
    engine: Engine, fixture_image, auth_registry: Registry, tmp_path: Path, unique: str
) -> None:
    ref = fixture_image("batch")
    address = auth_registry.address
    tag = f"{address}/slimmer-test/auth:{unique}"
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    wrong = base64.b64encode(f"{USER}:nope".encode()).decode()
    helpers = _credential_helper(tmp_path / "bin", address)
    path = f"{helpers}:{os.environ.get('PATH', '')}"
    try:
        # no credentials: denied, one line, says how to log in
        none = docker_config(tmp_path / "none")
        line = one_line(slimmer("build", ref, "--tag", tag, "--push", "--no-verify",
                                env={"DOCKER_CONFIG": str(none)}))
        assert f"{address} denied the push of {tag}" in line
        assert f"docker login {address}" in line
        # a wrong password: denied as well
        bad = docker_config(tmp_path / "bad", auths={address: {"auth": wrong}})
        line = one_line(slimmer("build", ref, "--tag", tag, "--push", "--no-verify",
                                env={"DOCKER_CONFIG": str(bad)}))
        assert "denied the push" in line
        assert not in_registry(address, "slimmer-test/auth", unique)
        # `auths` of config.json
        good = docker_config(tmp_path / "good", auths={address: {"auth": token}})
        out = tmp_path / "out"
        done = slimmer("build", ref, "--tag", tag, "--push", "--no-verify", "--output-dir",
                       str(out), env={"DOCKER_CONFIG": str(good)})
        assert done.returncode == 0, done.stderr
        pushed = json.loads((out / "report.json").read_text())["result"]["pushed"]
        assert pushed["digest"] == skopeo_digest(tag, f"{USER}:{PASSWORD}")
        # a credential helper named by credHelpers
        tag2 = f"{tag}-helper"
        helped = docker_config(tmp_path / "helped", credHelpers={address: "slimmertest"})
        done = slimmer("build", ref, "--tag", tag2, "--push", "--no-verify", "--output-dir",
                       str(out), env={"DOCKER_CONFIG": str(helped), "PATH": path})
        assert done.returncode == 0, done.stderr
        pushed = json.loads((out / "report.json").read_text())["result"]["pushed"]
        assert pushed["digest"] == skopeo_digest(tag2, f"{USER}:{PASSWORD}")
    finally:
        engine.remove_image(tag)
        engine.remove_image(f"{tag}-helper")


def test_registry_refusing_and_unreachable(
    engine: Engine, fixture_image, tmp_path: Path, unique: str
) -> None:
    ref = fixture_image("batch")
    env = {"DOCKER_CONFIG": str(docker_config(tmp_path / "cfg"))}
    with registry(read_only=True) as read_only:
        tag = f"{read_only.address}/slimmer-test/ro:{unique}"
        try:
            out = tmp_path / "out"
            line = one_line(slimmer("build", ref, "--tag", tag, "--push", "--no-verify",
                                    "--output-dir", str(out), env=env))
            assert f"{read_only.address} refused the push of {tag}" in line, line
            report = json.loads((out / "report.json").read_text())  # written all the same
            assert report["result"]["pushed"] is None
            assert any(w.startswith("not pushed: ") for w in report["warnings"])
        finally:
            engine.remove_image(tag)
    port = free_port()  # nothing listens there
    tag = f"127.0.0.1:{port}/slimmer-test/gone:{unique}"
    try:
        line = one_line(slimmer("build", ref, "--tag", tag, "--push", "--no-verify", env=env))
        assert f"cannot reach the registry 127.0.0.1:{port} to push {tag}" in line
        assert "connection refused" in line.lower()
    finally:
        engine.remove_image(tag)


def test_failing_image_is_not_pushed_unless_push_always(
    engine: Engine, fixture_image, open_registry: Registry, tmp_path: Path, unique: str
) -> None:
    ref = fixture_image("batch")
    tag = f"{open_registry.address}/slimmer-test/broken:{unique}"
    broken = ["--exclude", "/usr/local/share/report/sales.csv"]  # the job's input
    try:
        out = tmp_path / "out"
        done = slimmer("build", ref, *broken, "--tag", tag, "--push", "--output-dir", str(out))
        assert done.returncode == 3, done.stderr
        report = json.loads((out / "report.json").read_text())
        assert report["result"]["pushed"] is None
        assert "not pushed: the verification failed (--push-always pushes anyway)" in (
            report["warnings"])
        assert not in_registry(open_registry.address, "slimmer-test/broken", unique)
        done = slimmer("build", ref, *broken, "--tag", tag, "--push-always", "--output-dir",
                       str(out))
        assert done.returncode == 3, done.stderr
        pushed = json.loads((out / "report.json").read_text())["result"]["pushed"]
        assert pushed["digest"] == skopeo_digest(tag)
    finally:
        engine.remove_image(tag)


def test_doctor_checks_the_push_registry(open_registry: Registry) -> None:
    done = slimmer("doctor", "--json", "--push", f"{open_registry.address}/team/app:1")
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["registry"]["ok"], checks["registry"]
    assert f"{open_registry.address}: http v2 API answers (no login required)" in (
        checks["registry"]["detail"])
    dead = f"127.0.0.1:{free_port()}"
    done = slimmer("doctor", "--json", "--push", dead)
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert not checks["registry"]["ok"] and done.returncode == 1
    assert checks["registry"]["detail"].startswith(f"{dead}: not reachable (")
