"""The README's results table and speed figures are the ones `python -m bench.readme` makes from
the measured figures in bench/out/build.json and speed.json (written by `make bench`), never
typed by hand."""

from __future__ import annotations

from bench import readme
from bench.results import load


def test_committed_table_equals_the_generated_one() -> None:
    current = readme.README.read_text()
    assert readme.render(current, load("build"), load("speed")) == current, (
        "README.md's results differ from bench/out/build.json or speed.json: "
        "run `python -m bench.readme`"
    )


def test_the_table_shows_every_measured_image() -> None:
    build = load("build")
    section = readme.results_section(build)
    assert build["date"] in section and f"{build['machine']['cores']}-core" in section
    for row in build["rows"]:
        assert f"| {row['description']} |" in section


def test_the_speed_figures_show_both_ways() -> None:
    speed = load("speed")
    section = readme.speed_section(speed)
    assert speed["date"] in section and "nginx + 2 GB" in section
    for label in speed["second_build"]:
        assert f"| {label} |" in section
