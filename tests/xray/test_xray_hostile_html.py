"""Names an image chooses cannot inject markup: not into the terminal view (rich markup,
escape sequences), not into the HTML report (rendered by headless Chromium), not into JSON.
The image is a docker-archive file written here; no engine is involved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.layers import directory, docker_archive, file, whiteout
from tests.xray.helpers import render_dom, slimmer

SCRIPT_NAME = "<script>document.title='owned'</script>.txt"
IMG_NAME = '<img src=x onerror="document.title=1">'
MARKUP_NAME = "[bold red]not markup[/bold red]"
ESCAPE_NAME = "esc\x1b[2Jcleared"
LATIN1_NAME = "caf\udce9.txt"  # the byte 0xe9: not UTF-8


@pytest.fixture(scope="module")
def hostile_archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.tar"
    layers = [
        [
            directory("srv", 0o755),
            file(f"srv/{SCRIPT_NAME}", "x" * 5000),
            file(f"srv/{IMG_NAME}", "y" * 3000),
            file(f"srv/{MARKUP_NAME}", "z" * 2000),
            file(f"srv/{ESCAPE_NAME}", "w" * 1000),
            file(f"srv/{LATIN1_NAME}", "l" * 900),
            *(file(f"srv/many/f{n:03d}", "d" * (100 + n)) for n in range(200)),
        ],
        [file(f"srv/{SCRIPT_NAME}", "x" * 6000), whiteout(f"srv/{ESCAPE_NAME}")],
    ]
    config = {"Cmd": ["/srv/x"], "Labels": {"note": "</script><script>alert(1)</script>"}}
    with open(path, "wb") as out:
        docker_archive(layers, config, "hostile:latest", out, "amd64")
    return path


def test_html_escapes_names_and_draws_the_treemap(hostile_archive: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    done = slimmer("xray", str(hostile_archive), "--html", str(page),
                   env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert "<script>document.title" not in text and "<img src=x" not in text
    assert text.count("<script") == 2  # the JSON data island and the treemap script
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    dom, console = render_dom(page)
    assert console == [], console
    assert "<title>xray" in dom  # no injected script changed the title
    assert dom.count('class="tm-node') >= 20
    assert dom.count('class="tm-node tm-dir"') >= 2
    assert "&lt;script&gt;document.title" in dom  # the name is shown, as text
    assert "caf\\xe9.txt" in text


def test_terminal_prints_names_literally(hostile_archive: Path) -> None:
    done = slimmer("xray", str(hostile_archive), env={"COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    assert MARKUP_NAME in done.stdout  # not interpreted as rich markup
    assert "\x1b[2J" not in done.stdout and "esc\\x1b[2Jcleared" in done.stdout
    assert SCRIPT_NAME in done.stdout


def test_json_round_trips_names(hostile_archive: Path) -> None:
    done = slimmer("xray", str(hostile_archive), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    wasted = {w["path"] for w in report["efficiency"]["wasted_paths"]}
    assert wasted == {f"/srv/{SCRIPT_NAME}", "/srv/esc\\x1b[2Jcleared"}  # escaping.printable
    biggest = {f["path"] for f in report["biggest"]["files"]}
    assert "/srv/caf\\xe9.txt" in biggest and "\\udc" not in done.stdout
