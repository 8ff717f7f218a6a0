"""Pieces that need no engine: engine addresses, the default TLS settings, image specs, the
registry a reference names, and how registry failures read."""

from __future__ import annotations

from pathlib import Path

import pytest

from slimmer.endpoints import DOCKER_SOCKET, ROOTFUL_PODMAN_SOCKET, parse_host, resolve_endpoint
from slimmer.errors import ImageNotFound, RegistryError, UsageError
from slimmer.registry import registry_error, registry_of
from slimmer.sources import parse_image_spec, platform_of


@pytest.mark.parametrize(("given", "parsed"), [
    ("unix:///run/podman/podman.sock", "unix:///run/podman/podman.sock"),
    ("tcp://10.0.0.5:2376", "tcp://10.0.0.5:2376"),
    ("10.0.0.5:2375", "tcp://10.0.0.5:2375"),
    ("ssh://me@build-host", "ssh://me@build-host"),
])
def test_engine_addresses(given: str, parsed: str) -> None:
    assert parse_host(given) == parsed


@pytest.mark.parametrize("bad", ["ftp://host", "unix://", "tcp://"])
def test_bad_engine_addresses(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_host(bad)


def test_default_context_tls_from_the_environment(tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem"):  # no key.pem: the CLI takes what is there
        (tmp_path / name).write_text("x")
    env = {"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1",
           "DOCKER_CERT_PATH": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / "none")}
    endpoint = resolve_endpoint(environ=env)
    assert endpoint.tls is not None and endpoint.tls.verify
    assert (endpoint.tls.ca, endpoint.tls.cert, endpoint.tls.key) == (
        tmp_path / "ca.pem", tmp_path / "cert.pem", None)
    # DOCKER_TLS without verification; an empty DOCKER_TLS_VERIFY is unset (as for the CLI)
    env.update(DOCKER_TLS_VERIFY="", DOCKER_TLS="1")
    endpoint = resolve_endpoint(environ=env)
    assert endpoint.tls is not None and not endpoint.tls.verify
    del env["DOCKER_TLS"]
    assert resolve_endpoint(environ=env).tls is None


def test_sockets_tried_without_a_named_engine(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path), "XDG_RUNTIME_DIR": "/run/user/1000"}
    endpoint = resolve_endpoint(environ=env)
    assert endpoint.candidates == (DOCKER_SOCKET, ROOTFUL_PODMAN_SOCKET,
                                   "unix:///run/user/1000/podman/podman.sock")


def test_image_specs(tmp_path: Path) -> None:
    archive = tmp_path / "app.tar"
    archive.write_bytes(b"")
    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "index.json").write_text("{}")
    assert parse_image_spec("nginx:1.25").transport is None
    assert parse_image_spec("localhost:5000/app:1").transport is None  # a registry, not a file
    assert parse_image_spec(f"docker-archive:{archive}").path == archive
    assert parse_image_spec(f"oci-archive:{archive}").transport == "oci-archive"
    assert parse_image_spec(f"oci:{layout}").path == layout
    with pytest.raises(UsageError, match="no such file"):
        parse_image_spec(f"docker-archive:{tmp_path / 'missing.tar'}")
    with pytest.raises(UsageError, match=r"no index\.json"):
        parse_image_spec(f"oci:{tmp_path}")
    with pytest.raises(UsageError, match="names no file"):
        parse_image_spec("oci-archive:")
    assert str(platform_of("linux/arm64/v8")) == "linux/arm64/v8"
    with pytest.raises(UsageError):
        platform_of("arm64")


def test_registry_of_references() -> None:
    assert registry_of("127.0.0.1:5000/app:1") == "127.0.0.1:5000"
    assert registry_of("registry.example/team/app") == "registry.example"
    assert registry_of("localhost/app") == "localhost"
    assert registry_of("team/app:1") == "docker.io"
    assert registry_of("app") == "docker.io"


@pytest.mark.parametrize(("detail", "kind", "words"), [
    ('Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
     RegistryError, "cannot reach the registry"),
    ("unauthorized: authentication required", RegistryError, "denied the push"),
    ("denied: requested access to the resource is denied", RegistryError, "denied the push"),
    ('http: server gave HTTP response to HTTPS client', RegistryError, "insecure-registries"),
    ("unsupported: The operation is unsupported.", RegistryError, "refused the push"),
])
def test_push_failures(detail: str, kind: type, words: str) -> None:
    error = registry_error("push", "127.0.0.1:5000/app:1", detail)
    assert isinstance(error, kind) and words in error.one_line()
    assert "\n" not in error.one_line()


def test_pull_of_a_missing_image() -> None:
    error = registry_error("pull", "127.0.0.1:5000/app:9", "manifest unknown: manifest unknown")
    assert isinstance(error, ImageNotFound) and "--platform" in error.one_line()
