"""The README's results table is the one `python -m bench.readme` makes from the measured
figures in bench/out/build.json (written by `make bench`), never typed by hand."""

from __future__ import annotations

from bench import readme
from bench.results import load


def test_committed_table_equals_the_generated_one() -> None:
    current = readme.README.read_text()
    assert readme.render(current, load("build")) == current, (
        "README.md's results differ from bench/out/build.json: run `python -m bench.readme`"
    )


def test_the_table_shows_every_measured_image() -> None:
    build = load("build")
    section = readme.results_section(build)
    assert build["date"] in section and f"{build['machine']['cores']}-core" in section
    for row in build["rows"]:
        assert f"| {row['description']} |" in section
