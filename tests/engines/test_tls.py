"""A remote engine over TCP with TLS: a second dockerd on a loopback port with certificates made
in the test. The build goes through DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; the
sensor goes in and the report comes out through the archive API (the daemon's own log shows
it), and the probes reach the ports the engine published on its host."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from slimmer.engine import Engine
from tests.checks import CHECKS
from tests.e2e.helpers import leftovers, sessions_in, slimmer, summary
from tests.engines.conftest import copy_image
from tests.engines.services import TlsEngine, make_certificates

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _calls(log: Path) -> list[str]:
    """The API calls the daemon served ("PUT /v1.41/containers/ID/archive?path=%2F", ...)."""
    return re.findall(r'msg="Calling (\w+ \S+)"', log.read_text(errors="replace"))


def test_build_through_tls_engine(
    engine: Engine, fixture_image, tls_engine: TlsEngine, tmp_path: Path
) -> None:
    ref = fixture_image("nginx")
    if not tls_engine.engine.has_image(ref):
        copy_image(engine, ref, tls_engine.engine)
    tag = f"slimmer-tls/nginx.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    before = len(_calls(tls_engine.log))
    try:
        done = slimmer("build", ref, "--tag", tag, "--output-dir", str(out), "--json",
                       env=tls_engine.env(), tmpdir=tmp_path / "tmp")
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed", done.stderr
        report = json.loads((out / "report.json").read_text())
        assert report["source"]["engine"]["endpoint"] == tls_engine.host
        calls = _calls(tls_engine.log)[before:]
        # the sensor went in, and its report came out, through the archive API
        assert any(re.fullmatch(r"PUT /v[\d.]+/containers/\w+/archive\?path=%2F", c)
                   for c in calls), calls
        assert any(re.fullmatch(r"(GET|HEAD) /v[\d.]+/containers/\w+/archive\?path="
                                r"%2F\.slimmer[-0-9a-f]*%2Freport", c) for c in calls), calls
        # nothing was bind-mounted into any container slimmer created
        forms = re.findall(r'msg="form data: (\{.*?\})"', tls_engine.log.read_text())
        assert forms and all('"Binds":null' in f.replace("\\", "") or '"Binds"' not in f
                             for f in forms if '"HostConfig"' in f.replace("\\", ""))
        # the probes reached the port the TLS engine published on its host: nginx runs only
        # there, and answered
        probes = report["probes"]["probes"]
        assert probes and all(p["ok"] for p in probes), probes
        assert {p["spec"]["port"] for p in probes} == {"80/tcp"}
        assert any(p["status"] == 200 for p in probes)
        assert report["verification"]["verdict"] == "passed"
        CHECKS["nginx"](tls_engine.engine, tag)
        for session in sessions_in(tmp_path / "tmp"):
            assert leftovers(tls_engine.engine, session) == []
    finally:
        tls_engine.engine.remove_image(tag)


def _one_line_error(done) -> str:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_wrong_ca_is_one_line_with_hint(tls_engine: TlsEngine, tmp_path: Path) -> None:
    other = make_certificates(tmp_path / "other", name="not-the-engines")
    certs = tmp_path / "mixed"
    shutil.copytree(tls_engine.certificates.client_dir(), certs)
    shutil.copy(other.client_dir() / "ca.pem", certs / "ca.pem")  # a CA that did not sign it
    env = {**tls_engine.env(), "DOCKER_CERT_PATH": str(certs)}
    line = _one_line_error(slimmer("build", "slimmer-fixture/any:1", env=env))
    assert f"TLS with the engine at {tls_engine.host} failed (certificate verify failed" in line
    assert "DOCKER_CERT_PATH" in line


def test_untrusted_client_certificate_is_one_line(tls_engine: TlsEngine, tmp_path: Path) -> None:
    other = make_certificates(tmp_path / "other", name="stranger")
    certs = tmp_path / "stranger"
    shutil.copytree(other.client_dir(), certs)
    shutil.copy(tls_engine.certificates.client_dir() / "ca.pem", certs / "ca.pem")
    env = {**tls_engine.env(), "DOCKER_CERT_PATH": str(certs)}
    line = _one_line_error(slimmer("build", "slimmer-fixture/any:1", env=env))
    assert f"TLS with the engine at {tls_engine.host} failed (the engine closed the handshake: " \
        "it does not trust slimmer's client certificate)" in line
    assert "cert.pem/key.pem" in line


def test_plain_http_to_a_tls_engine(tls_engine: TlsEngine) -> None:
    env = {"DOCKER_HOST": tls_engine.host, "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": ""}
    line = _one_line_error(slimmer("build", "slimmer-fixture/any:1", env=env))
    assert f"the engine at {tls_engine.host} speaks TLS and slimmer did not" in line
    assert "DOCKER_TLS_VERIFY=1" in line
