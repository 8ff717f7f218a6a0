"""Units of xray that need no image: masking and redaction, secret scanning across chunk
borders, Dockerfile lines from history forms, PID 1 and the shell form, capabilities."""

from __future__ import annotations

import io
import struct

from slimmer.xray.config import pid1_summary
from slimmer.xray.dockerfile import reverse_dockerfile
from slimmer.xray.secrets import READ_CHUNK, candidate_rule, mask, redact, scan_stream
from slimmer.xray.security import decode_capabilities

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_mask_shows_only_a_known_prefix_and_the_length() -> None:
    assert mask(TOKEN) == "ghp_****(len=40)"
    assert mask("hunter2") == "****(len=7)"
    assert mask("AKIAABCDEFGHIJKLMNOP") == "AKIA****(len=20)"
    assert " " not in mask("x" * 100)


def test_redact_masks_assignments_tokens_and_url_credentials() -> None:
    text = (f"ENV API_TOKEN=s3cr3tvalue PATH=/usr/bin && curl https://bob:pa55w0rd@example.org "
            f"-H 'Authorization: token {TOKEN}'")
    out = redact(text)
    for secret in ("s3cr3tvalue", "pa55w0rd", TOKEN):
        assert secret not in out
    assert "PATH=/usr/bin" in out and "API_TOKEN=****(len=11)" in out
    assert redact("DB_PASSWORD_FILE=/run/secrets/db") == "DB_PASSWORD_FILE=/run/secrets/db"
    assert redact("ENABLE_AUTH=true") == "ENABLE_AUTH=true"


def test_scan_finds_a_key_cut_by_a_chunk_border() -> None:
    head = b"x" * (READ_CHUNK - 10) + b"\n"
    data = head + b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n" + f"token={TOKEN}\n".encode()
    hits = scan_stream(io.BytesIO(data))
    assert [(h.rule, h.line) for h in hits] == [("private-key", 2), ("github-token", 4)]
    assert all(TOKEN not in h.masked for h in hits)


def test_candidate_files_by_name() -> None:
    assert candidate_rule("/app/.env") == "dotenv-file"
    assert candidate_rule("/app/.env.production") == "dotenv-file"
    assert candidate_rule("/app/.env.example") is None
    assert candidate_rule("/root/.docker/config.json") == "docker-config"
    assert candidate_rule("/app/config.json") is None
    assert candidate_rule("/root/.aws/credentials") == "credentials-file"
    assert candidate_rule("/etc/ssh/ssh_host_ed25519_key") == "private-key-file"
    assert candidate_rule("/usr/bin/env") is None


def _lines(*created_by: str) -> list[str]:
    history = [{"created_by": c, "comment": "", "layer": None} for c in created_by]
    return [line["instruction"] for line in reverse_dockerfile(history)[1:]]


def test_dockerfile_from_classic_and_buildkit_history() -> None:
    assert _lines(
        "/bin/sh -c #(nop) ADD file:0123456789abcdef0123 in / ",
        '/bin/sh -c #(nop)  CMD ["bash"]',
        "/bin/sh -c apt-get update && apt-get install -y curl",
        "|2 A=1 B=2 /bin/sh -c make",
        "/bin/sh -c #(nop)  EXPOSE 8080/tcp",
        "RUN /bin/sh -c pip install flask # buildkit",
        "EXPOSE map[80/tcp:{} 443/tcp:{}]",
        "COPY app.py /app/ # buildkit",
        "ENV PATH=/usr/local/bin",
    ) == [
        "ADD <file:0123456789abcd…> /",
        'CMD ["bash"]',
        "RUN apt-get update && apt-get install -y curl",
        "ARG A\nARG B\nRUN make",
        "EXPOSE 8080/tcp",
        "RUN pip install flask",
        "EXPOSE 80/tcp 443/tcp",
        "COPY app.py /app/",
        "ENV PATH=/usr/local/bin",
    ]
    lost = reverse_dockerfile([{"created_by": "", "comment": "Imported from -", "layer": 0}])
    assert lost[1]["instruction"] == "# Imported from -" and lost[1]["lost"]


def test_pid1_shell_form() -> None:
    shell = pid1_summary(None, ["/bin/sh", "-c", "python app.py"])
    assert shell["shell_form"] and "SIGTERM" in shell["note"]
    assert not pid1_summary(None, ["/bin/sh", "-c", "exec python app.py"])["shell_form"]
    assert not pid1_summary(["python"], ["app.py"])["shell_form"]
    assert pid1_summary(["/bin/bash", "-c", "run"], ["ignored"])["shell_form"]


def test_capabilities_decode_all_revisions() -> None:
    v2 = struct.pack("<5I", 0x02000001, (1 << 10) | (1 << 21), 0, 1 << (38 - 32), 0)
    assert decode_capabilities(v2) == {
        "permitted": ["cap_net_bind_service", "cap_sys_admin", "cap_perfmon"],
        "inheritable": [],
        "effective": True,
    }
    v1 = struct.pack("<3I", 0x01000000, 1 << 13, 0)
    assert decode_capabilities(v1)["permitted"] == ["cap_net_raw"]


def test_package_summary_from_the_inventory(monkeypatch) -> None:
    """The packages section maps the shared inventory (its real model objects here; the real
    reader is tested against dpkg-query on the Debian fixtures)."""
    from slimmer.inventory import Inventory, OsInfo, Package
    from slimmer.xray import packages as section

    def package(ecosystem: str, name: str, version: str, files: tuple[str, ...]) -> Package:
        return Package(ecosystem, name, version, "amd64", ("MIT",), f"pkg:{ecosystem}/{name}",
                       files, "/var/lib/dpkg/status")

    inventory = Inventory(
        OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", ("/etc/os-release",)),
        [package("deb", "zlib1g", "1:1.2.13", ("/usr/lib/x86_64-linux-gnu/libz.so.1",)),
         package("pypi", "flask", "3.0.0", ()), package("deb", "bash", "5.2.15", ())],
        ["a skipped record"],
    )
    monkeypatch.setattr(section, "inventory_of", lambda fs: inventory)
    summary = section.package_summary(None)  # type: ignore[arg-type]
    assert summary["os"]["pretty_name"] == "Debian GNU/Linux 12 (bookworm)"
    assert summary["count"] == 3 and summary["by_ecosystem"] == {"deb": 2, "pypi": 1}
    assert [(p["ecosystem"], p["name"], p["files"]) for p in summary["packages"]] == [
        ("deb", "bash", 0), ("deb", "zlib1g", 1), ("pypi", "flask", 0)]
    assert summary["warnings"] == ["a skipped record"]
