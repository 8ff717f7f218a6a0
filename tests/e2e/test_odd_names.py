"""Names from an image may hold any bytes: every output is still written, as valid UTF-8, with
the documented escaping (`slimmer.escaping`), and no name reaches the terminal as markup."""

from __future__ import annotations

import json
import uuid

import pytest

from fixtures.images import build_container
from slimmer.engine import Engine, split_ref
from tests.e2e.helpers import slimmer, summary
from tests.imagefs.crafted import raw_header, raw_layer

pytestmark = [pytest.mark.docker, pytest.mark.slow]

KEPT = b"/odd/caf\xe9.txt"
MARKUP = b"/odd/[/b] [red]markup.txt"  # a directory "[" holding "b] [red]markup.txt"
NEWLINE = b"/odd/new\nline.txt"
REMOVED = b"/odd/unused-\xff"
COMMAND = 'cat /odd/caf*.txt /odd/?/b*markup.txt /odd/new*line.txt'


@pytest.fixture
def odd_image(engine: Engine, fixture_image):
    """The batch image plus files whose names are not UTF-8, hold markup or a newline."""
    ref = f"slimmer-e2e/odd-names:{uuid.uuid4().hex[:12]}"
    files = [(KEPT, b"bonjour\n"), (MARKUP, b"markup\n"), (NEWLINE, b"newline\n"),
             (REMOVED, b"unused\n")]
    archive = raw_layer((raw_header(b"odd/", b"5", mode=0o755), b""),
                        *((raw_header(name.lstrip(b"/"), size=len(data)), data)
                          for name, data in files))
    with build_container(fixture_image("batch")) as container:
        engine.api.put_archive(container, "/", archive)
        repo, tag = split_ref(ref)
        engine.api.commit(container, repository=repo, tag=tag,
                          changes=[f'CMD ["/bin/sh", "-c", "{COMMAND}"]'])
    yield ref
    engine.remove_image(ref)


def test_odd_names_are_escaped_in_every_output(engine: Engine, odd_image: str, tmp_path) -> None:
    tag = f"{odd_image}-slim"
    out = tmp_path / "out"
    try:
        done = slimmer("build", odd_image, "--tag", tag, "--output-dir", str(out), "--json",
                       tmpdir=tmp_path / "tmp")
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        texts = {path.name: path.read_bytes().decode("utf-8") for path in out.iterdir()}
        assert {"report.json", "kept.txt", "removed.txt", "apparmor.profile"} <= set(texts)
        kept = [line.split("\t")[0] for line in texts["kept.txt"].splitlines()]
        assert "/odd/caf\\xe9.txt" in kept
        assert "/odd/[/b] [red]markup.txt" in kept
        assert "/odd/new\\x0aline.txt" in kept
        removed = [line.split("\t")[0] for line in texts["removed.txt"].splitlines()]
        assert "/odd/unused-\\xff" in removed
        report = json.loads(texts["report.json"])
        assert "/odd/caf\\xe9.txt" in {p["path"] for p in report["kept"]["paths"]}
        assert "\\udc" not in texts["report.json"]  # no lone surrogates
    finally:
        engine.remove_image(tag)
