"""`slimmer build` writes the removed-files audit: diff.json (original vs slim) whose removed
files are exactly removed.txt, and report.html that a browser renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slimmer.engine import Engine
from tests.e2e.helpers import slimmer
from tests.xray.helpers import render_dom

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_build_writes_diff_json_and_report_html(engine: Engine, fixture_image, tmp_path: Path
                                                ) -> None:
    ref = fixture_image("crafted-caps")
    tag = f"slimmer-e2e/crafted-caps.slim:{tmp_path.name[-12:].lower()}"
    out = tmp_path / "out"
    try:
        done = slimmer("build", ref, "--tag", tag, "--output-dir", str(out), "--json",
                       tmpdir=tmp_path / "tmp")
        assert done.returncode == 0, done.stderr
        audit = json.loads((out / "diff.json").read_text())
        removed_txt = [line.split("\t")[0] for line in
                       (out / "removed.txt").read_text().splitlines() if line]
        removed = [r["path"] for r in audit["files"]["removed"]]
        assert sorted(removed) == sorted(removed_txt) and removed
        assert "/usr/bin/suid-tool" in removed and "/usr/bin/bind-tool" not in removed
        assert audit["files"]["added"] == [] and audit["files"]["changed"] == []
        assert audit["b"]["name"] == tag and audit["a"]["name"] == ref
        dom, console = render_dom(out / "report.html")
        assert console == []
        assert f"Removed files ({len(removed)})" in dom
        assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"
    finally:
        engine.remove_image(tag)
