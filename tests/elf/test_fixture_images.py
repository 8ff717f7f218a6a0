"""Acceptance: on the nginx and Python fixture images, the static closure of every executable
under /usr/bin and /usr/sbin equals what `ldd` reports inside the original image, mapped to
real files through the index; every symlink ldd's paths pass is kept too."""

from __future__ import annotations

import pytest

from slimmer.elf import elf_closure, is_elf
from slimmer.imagefs import open_image
from tests.elf.lddcheck import compare, parse_sections

LDD_ALL = 'for f in /usr/bin/* /usr/sbin/*; do echo "== $f"; ldd "$f" 2>&1; done'

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module", params=["nginx", "python-app"])
def fixture_fs(request, fixture_image, engine, tmp_path_factory):
    ref = fixture_image(request.param)
    fs = open_image(ref, tmp_path_factory.mktemp("imagefs"), engine)
    yield ref, fs
    fs.close()


def test_closure_equals_ldd_in_the_image(fixture_fs, images):
    ref, fs = fixture_fs
    env = fs.config.get("config", {}).get("Env") or []
    sections = parse_sections(images.run(ref, ["sh", "-c", LDD_ALL]))
    assert len(sections) > 20
    problems = []
    checked = 0
    for program, listed in sections.items():
        entry = fs.resolve(program).entry
        if entry is None or not is_elf(fs, entry):
            continue
        checked += 1
        problems += compare(fs, program, listed, env)
    assert checked > 10
    assert problems == []


def test_whole_image_closure_has_no_unresolved_names(fixture_fs):
    _ref, fs = fixture_fs
    roots = [e.path for e in fs if e.path.startswith(("/usr/bin/", "/usr/sbin/"))]
    closure = elf_closure(fs, roots, fs.config.get("config", {}).get("Env") or [])
    assert closure.unresolved == []
    assert any(path.endswith("/libc.so.6") for path in closure.files)
