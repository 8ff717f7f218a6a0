"""`build` with the lean preset on every fixture that has a functional check, end to end.

Each build is verified (the slim image as is and under its seccomp.json) and the slim image must
pass the fixture's functional check (tests/checks.py). On the same observation, the same image
index and the same options, the selection is also made with every other preset and with the
selection as it was before presets: default keeps exactly what it kept (paths and reasons), and
lean keeps a subset of default, default a subset of safe.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import slimmer.pipeline
from slimmer.engine import Engine
from slimmer.options import (
    PRESET_NAMES,
    BuildOptions,
    ComposeOptions,
    ContinueAfter,
    SelectOptions,
)
from slimmer.runsettings import settings_from_options
from slimmer.selection import Selection, select
from tests.checks import CHECKS, PG_APP_COMPOSE, POSTGRES_ENV
from tests.selection.before_presets import select_before_presets

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REALISTIC = (
    "nginx", "python-app", "redis", "batch", "jvm-app", "postgres", "pg-app", "health-exec",
    "health-shell",
)  # fmt: skip
CRAFTED = ("crafted-layers", "crafted-links", "crafted-caps", "crafted-config")


def build_options(name: str, fixture_image, monkeypatch, tag: str, out: Path) -> BuildOptions:
    """A lean build of fixture ``name``, as the checks run it: postgres with its POSTGRES_*
    variables, pg-app as the app service of its compose file (PostgreSQL started by Compose)."""
    options = BuildOptions(
        image=fixture_image(name), tag=tag, output_dir=out, select=SelectOptions(preset="lean")
    )
    if name == "postgres":
        return replace(options, run=settings_from_options(env=POSTGRES_ENV))
    if name == "crafted-config":  # `fixture-tool sleep` serves nothing on its ports
        observe = replace(
            options.observe, continue_after=ContinueAfter("timeout", 3), http_probe=False
        )
        return replace(options, observe=observe)
    if name == "pg-app":
        monkeypatch.setenv("APP_IMAGE", options.image)
        monkeypatch.setenv("DB_IMAGE", fixture_image("postgres"))
        monkeypatch.setenv("DB_PASSWORD", f"db-{out.parent.name[-12:]}")
        return replace(options, image="", compose=ComposeOptions(PG_APP_COMPOSE, "app"))
    return options


@pytest.mark.parametrize("name", REALISTIC + CRAFTED)
def test_lean_build_is_verified_works_and_default_is_unchanged(
    name: str, engine: Engine, fixture_image, monkeypatch, tmp_path: Path
) -> None:
    selections: list[dict[str, Selection]] = []

    def every_preset(fs, observation, options, inventory=None, config=None) -> Selection:
        made = {
            preset: select(fs, observation, replace(options, preset=preset), inventory, config)
            for preset in PRESET_NAMES
        }  # no --new-* options here: config is the image's, as the pre-preset selection reads
        made["before presets"] = select_before_presets(fs, observation, options, inventory)
        selections.append(made)
        return made[options.preset]

    monkeypatch.setattr(slimmer.pipeline, "select", every_preset)
    tag = f"slimmer-e2e/{name}.lean:{tmp_path.name[-12:].lower()}"
    options = build_options(name, fixture_image, monkeypatch, tag, tmp_path / "out")
    try:
        outcome = slimmer.pipeline.run_build(options)
        verification = outcome.report["verification"]
        assert outcome.exit_code == 0, verification
        runs = {run["name"]: run["verdict"] for run in verification["runs"]}
        assert runs == {"slim image": "passed", "slim image under seccomp.json": "passed"}
        assert [w for w in outcome.report["warnings"] if "not found in the image" in w] == []

        [made] = selections
        kept = {preset: set(made[preset].kept) for preset in made}
        assert made["default"].kept == made["before presets"].kept  # paths and their reasons
        assert made["default"].warnings == made["before presets"].warnings
        assert kept["lean"] <= kept["default"] <= kept["safe"]
        if name in REALISTIC:
            assert kept["lean"] < kept["default"], "lean keeps all that default keeps"
        reported = {entry["path"] for entry in outcome.report["kept"]["paths"]}
        assert reported == kept["lean"]

        CHECKS[name](engine, tag)
    finally:
        engine.remove_image(tag)
