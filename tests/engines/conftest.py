"""Session fixtures of the engine tests: a rootful Podman service with the fixture images loaded
(from the Docker engine, with save/load), a second dockerd behind TLS on a loopback port, and
the distribution registry. Each is started once per test session and removed afterwards; a
missing tool skips locally and fails in CI."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from slimmer.engine import ChunkReader, Engine
from tests.engines.services import (
    Certificates,
    PodmanService,
    Registry,
    ServiceUnavailable,
    TlsEngine,
    make_certificates,
    podman_service,
    registry,
    rootless_podman_service,
    tls_dockerd,
)
from tests.prereq import unavailable


@contextlib.contextmanager
def _started(manager: contextlib.AbstractContextManager) -> Iterator:
    with contextlib.ExitStack() as stack:
        try:
            service = stack.enter_context(manager)
        except ServiceUnavailable as exc:
            unavailable(str(exc))
        yield service


@pytest.fixture(scope="session")
def podman() -> Iterator[PodmanService]:
    with _started(podman_service()) as service:
        yield service


@pytest.fixture(scope="session")
def rootless_podman() -> Iterator[PodmanService]:
    with _started(rootless_podman_service()) as service:
        yield service


def copy_image(source: Engine, ref: str, destination: Engine) -> None:
    """`docker save REF | podman load` through the two engines' APIs."""
    stream = io.BufferedReader(ChunkReader(source.save_image(ref)), 1 << 20)
    destination.load_image(stream)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def podman_image(engine: Engine, fixture_image, podman: PodmanService) -> Callable[[str], str]:
    """Factory: the fixture image NAME (built with Docker) loaded into the Podman service."""

    def get(name: str) -> str:
        ref = fixture_image(name)
        if not podman.engine.has_image(ref):
            copy_image(engine, ref, podman.engine)
        return ref

    return get


@pytest.fixture(scope="session")
def certificates(tmp_path_factory) -> Certificates:
    try:
        return make_certificates(tmp_path_factory.mktemp("tls"))
    except ServiceUnavailable as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def tls_engine(certificates: Certificates) -> Iterator[TlsEngine]:
    with _started(tls_dockerd(certificates)) as service:
        yield service


@pytest.fixture(scope="session")
def open_registry() -> Iterator[Registry]:
    """A registry that takes pushes without credentials."""
    with _started(registry()) as service:
        yield service


def docker_config(directory: Path, auths: dict | None = None, **fields: object) -> Path:
    """A Docker CLI config directory (for DOCKER_CONFIG) with ``auths`` and other fields."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {"auths": auths or {}, **fields}
    (directory / "config.json").write_text(json.dumps(document))
    return directory


@dataclass
class ImageFiles:
    image_id: str
    name: str  # the tag the docker-archive records
    docker_archive: Path
    oci_dir: Path
    oci_archive: Path


def skopeo(*args: str) -> None:
    if shutil.which("skopeo") is None:
        unavailable("skopeo is not installed (scripts/install-deps.sh --test installs it)")
    done = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def image_files(engine: Engine, fixture_image, tmp_path_factory) -> Iterator[ImageFiles]:
    directory = tmp_path_factory.mktemp("image-files")
    unique = uuid.uuid4().hex[:12]
    name = f"slimmer-test/from-file:{unique}"
    session = f"slimmer-test-{unique}"
    container = engine.create_container(fixture_image("batch"), session=session)
    try:
        engine.api.commit(container, repository="slimmer-test/from-file", tag=unique,
                          changes=[f"LABEL io.slimmer.test={unique}"])
    finally:
        engine.remove_session(session)
    image_id = engine.inspect_image(name).id
    archive = directory / "batch.tar"
    try:
        with archive.open("wb") as out:
            for chunk in engine.save_image(name):
                out.write(chunk)
    finally:
        engine.remove_image(name)
    assert not engine.has_image(image_id)
    skopeo("copy", f"docker-archive:{archive}", f"oci:{directory / 'layout'}:latest")
    skopeo("copy", f"docker-archive:{archive}", f"oci-archive:{directory / 'batch.oci.tar'}")
    yield ImageFiles(image_id, name, archive, directory / "layout", directory / "batch.oci.tar")
    if engine.has_image(image_id):  # a failed test may leave it; never another test's
        engine.remove_image(image_id)


def skopeo_digest(ref: str, creds: str | None = None) -> str:
    """The manifest digest the registry serves for ``ref``, as skopeo reads it."""
    if shutil.which("skopeo") is None:
        unavailable("skopeo is not installed (scripts/install-deps.sh --test installs it)")
    login = ["--creds", creds] if creds else []
    done = subprocess.run(["skopeo", "inspect", "--tls-verify=false", *login, f"docker://{ref}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["Digest"]
