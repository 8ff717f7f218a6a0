"""xray of the crafted fixture images: exact layer changes (whiteouts, opaque directories),
dive's efficiency and waste, set-id files, capabilities, hardlinks, config and secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.recipes import crafted, secrets
from tests.xray.helpers import render_dom, slimmer, xray_json

pytestmark = [pytest.mark.docker]


@pytest.fixture(scope="module")
def reports(fixture_image) -> dict[str, dict]:
    names = ("crafted-layers", "crafted-caps", "crafted-links", "crafted-config", "crafted-secrets")
    return {name: xray_json(fixture_image(name)) for name in names}


def _paths(items: list[dict]) -> list[str]:
    return [i["path"] for i in items]


def test_layer_changes_whiteouts_and_opaque_dirs(reports) -> None:
    layers = reports["crafted-layers"]["layers"]
    assert [la["counts"]["added"] for la in layers][1:] == [1, 3]
    assert _paths(layers[1]["added"]) == ["/opt/data/new.txt"]
    assert _paths(layers[1]["changed"]) == ["/etc/app/config.txt"]
    deleted = {d["path"]: (d.get("entries"), d.get("bytes")) for d in layers[1]["deleted"]}
    assert deleted == {
        "/etc/app/old.txt": (1, len("deleted in layer 1\n")),
        "/var/cache/app": (4, len("cache a\n") + len("cache b\n")),
        "/srv/readded.txt": (1, len("original\n")),
        "/opt/data": (3, 2 * len("hidden by the opaque dir\n")),  # the opaque directory
    }
    assert layers[1]["opaque"] == [{"path": "/opt/data", "entries": 3, "bytes": 50}]
    assert _paths(layers[2]["added"]) == [
        "/srv/readded.txt", "/var/cache/app", "/var/cache/app/fresh.txt"]
    assert _paths(layers[2]["changed"]) == ["/etc/app/config.txt"]
    assert [la["created_by"] for la in layers] == [f"fixtures layer {i}" for i in range(3)]


def test_efficiency_and_waste_as_dive_computes_them(reports) -> None:
    report = reports["crafted-layers"]
    tool = next(f["bytes"] for f in report["biggest"]["files"] if f["path"] == crafted.TOOL)
    # sightings (see the recipe): config.txt 10+10+10, old.txt 19+0 (whiteout of a file),
    # readded.txt 9+0+20, /var/cache/app whiteout of a directory 16, the rest once
    stored = tool + 30 + 19 + 8 + 8 + 25 + 25 + 29 + 16 + 28 + 32
    minimum = tool + 10 + 0 + 8 + 8 + 25 + 25 + 0 + 16 + 28 + 32
    eff = report["efficiency"]
    assert eff["efficiency"] == pytest.approx(minimum / stored)
    assert eff["wasted_bytes"] == 30 + 19 + 29
    assert eff["user_bytes"] == (10 + 28) + (20 + 10 + 32)
    assert eff["user_wasted_ratio"] == pytest.approx(78 / 100)
    assert {w["path"]: (w["bytes"], w["layers"]) for w in eff["wasted_paths"]} == {
        "/etc/app/config.txt": (30, [0, 1, 2]),
        "/srv/readded.txt": (29, [0, 1, 2]),
        "/etc/app/old.txt": (19, [0, 1]),
    }


def test_setid_capabilities_and_world_writable(reports) -> None:
    security = reports["crafted-caps"]["security"]
    assert _paths(security["setuid"]) == ["/usr/bin/suid-tool"]
    assert _paths(security["setgid"]) == ["/usr/bin/sgid-tool"]
    assert security["setgid"][0]["gid"] == 42
    caps = {c["path"]: (c["permitted"], c["effective"]) for c in security["capabilities"]}
    assert caps == {
        "/usr/bin/bind-tool": (["cap_net_bind_service"], True),
        "/usr/bin/raw-tool": (["cap_net_raw"], False),
    }
    assert security["world_writable"] == []  # /tmp is 1777, /srv/shared 3775
    assert security["secrets"] == []


def test_hardlinks_count_once(reports) -> None:
    report = reports["crafted-links"]
    biggest = _paths(report["biggest"]["files"])
    assert "/usr/bin/fixture-tool" in biggest
    assert "/usr/sbin/tool-hardlink" not in biggest  # the same content, not a second copy
    assert report["duplicates"]["groups"] == []
    assert report["efficiency"]["efficiency"] == 1.0
    assert report["efficiency"]["wasted_bytes"] == 0


def test_config(reports) -> None:
    config = reports["crafted-config"]["config"]
    assert config["user"] == {"configured": "svc", "uid": 1234, "root": False, "note": ""}
    assert config["ports"] == ["8080/tcp", "9090/udp"]
    assert config["volumes"] == ["/srv/app/data"]
    assert config["stop_signal"] == "SIGINT"
    assert config["entrypoint"] == [crafted.TOOL] and config["cmd"] == ["sleep"]
    assert config["pid1"]["shell_form"] is False
    assert config["healthcheck"]["test"] == ["CMD", crafted.TOOL, "true"]
    assert config["healthcheck"]["interval_seconds"] == 1
    assert config["labels"]["com.example.tier"] == "test"
    assert {e["name"]: e["value"] for e in config["env"]}["APP_GREETING"] == "hello world"
    assert reports["crafted-layers"]["config"]["user"]["root"] is True


EXPECTED_SECRETS = [
    {"where": "file", "path": "/root/.ssh/id_ed25519", "layer": 0, "rule": "private-key-file",
     "hits": [{"rule": "private-key", "masked": "-----BEGIN OPENSSH PRIVATE KEY----- …",
               "line": 1}],
     "in_final_image": False, "removed_in_layer": 1},
    {"where": "file", "path": "/app/.env", "layer": 0, "rule": "dotenv-file",
     "hits": [{"rule": "password-like-value", "masked": "****(len=22)", "line": 2}],
     "in_final_image": True, "removed_in_layer": None},
    {"where": "file", "path": "/home/app/.npmrc", "layer": 1, "rule": "npmrc-file",
     "hits": [{"rule": "npm-token", "masked": "npm_****(len=40)", "line": 1}],
     "in_final_image": False, "removed_in_layer": 2},
    {"where": "env", "name": "AWS_SECRET_ACCESS_KEY", "rule": "password-like-value",
     "masked": "****(len=41)"},
    {"where": "env", "name": "GITHUB_TOKEN", "rule": "github-token", "masked": "ghp_****(len=40)"},
]
FAKE_VALUES = (
    secrets.FAKE_DB_PASSWORD, secrets.FAKE_NPM_TOKEN, secrets.FAKE_AWS_SECRET,
    secrets.FAKE_GITHUB_TOKEN, secrets.FAKE_ARG_TOKEN, "b3BlbnNzaC1rZXktdjEAAAAAFAKE",
)


def test_secrets_in_every_layer_config_and_history(reports) -> None:
    secrets = reports["crafted-secrets"]["security"]["secrets"]
    assert secrets[: len(EXPECTED_SECRETS)] == EXPECTED_SECRETS
    history = [(s["name"], s["rule"], s["masked"]) for s in secrets[len(EXPECTED_SECRETS) :]]
    assert history == [
        ("GITHUB_TOKEN", "github-token", "ghp_****(len=40)"),  # ENV
        ("DEPLOY_PASSWORD", "password-like-value", "****(len=29)"),  # ARG default
        ("DEPLOY_PASSWORD", "password-like-value", "****(len=29)"),  # RUN |1 DEPLOY_PASSWORD=
    ]
    assert {s["where"] for s in secrets[len(EXPECTED_SECRETS) :]} == {"history"}


def test_no_secret_value_in_any_output(fixture_image, tmp_path: Path) -> None:
    ref = fixture_image("crafted-secrets")
    page = tmp_path / "report.html"
    terminal = slimmer("xray", ref, "--html", str(page), env={"COLUMNS": "300"})
    as_json = slimmer("xray", ref, "--json")
    assert terminal.returncode == 0 and as_json.returncode == 0, terminal.stderr
    outputs = {"terminal": terminal.stdout, "json": as_json.stdout, "html": page.read_text()}
    assert "DEPLOY_PASSWORD" in outputs["json"] and "ghp_****" in outputs["terminal"]
    for name, text in outputs.items():
        for value in FAKE_VALUES:
            assert value not in text, f"{name} output shows a secret value"
            assert value[4:20] not in text, f"{name} output shows part of a secret value"
    dockerfile = json.loads(as_json.stdout)["dockerfile"]["text"]
    assert "ARG DEPLOY_PASSWORD=****(len=29)" in dockerfile
    assert 'RUN ["/usr/bin/fixture-tool", "true"]' in dockerfile
    dom, console = render_dom(page)
    assert console == []
    assert dom.count('class="tm-node') >= 3
