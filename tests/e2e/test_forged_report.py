"""An image cannot steer slimmer with a report of its own.

The crafted image (tests/sensor/images.py) has a forged report planted at /.slimmer/report/ (a
directory: where the sensor used to write, so the sensor's rename failed and the first regular
file of the directory was read), and its target, running as root, plants another forged report
at the report path it reads on PID 1's command line while it runs. The forged reports name
/forged-keep (which the image has) as read and a syscall the target never makes. Through the
real `slimmer build`, neither may show up: /forged-keep is removed, the file the target really
used is kept, and seccomp.json does not allow the forged syscall.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import slimmer
from tests.sensor.images import attack_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_forged_reports_are_not_used(engine, tmp_path: Path) -> None:
    image = attack_image(engine, "dir")
    tag = "slimmer-test/report-attack.slim:e2e"
    out = tmp_path / "out"
    try:
        done = slimmer("build", image, "--tag", tag, "--output-dir", str(out), "--json",
                       tmpdir=tmp_path / "tmp")
        assert done.returncode == 0, done.stderr[-3000:]
        kept = (out / "kept.txt").read_text()
        assert "/real-used-by-attacker" in kept
        assert "/forged-keep" not in kept
        assert "/forged-keep" in (out / "removed.txt").read_text()
        seccomp = json.loads((out / "seccomp.json").read_text())
        allowed = {n for rule in seccomp["syscalls"] for n in rule["names"]}
        assert "sched_setattr" not in allowed
    finally:
        engine.remove_image(tag)
