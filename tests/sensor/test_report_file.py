"""The report slimmer reads is the one the sensor wrote: a root target that knows the report's
path (from PID 1's command line) and plants a file, a directory or a symlink there, or swaps the
sensor's directory for a symlink, while the image itself has a forged report at the old fixed
path /.slimmer/report/: the sensor writes its report after the target is gone into a file it
creates itself, moves what was in the way aside (with a warning), and the host reads exactly that
regular file."""

from __future__ import annotations

import pytest

from slimmer.errors import SlimmerError
from slimmer.observation import Op

from .harness import SensorContainer
from .images import attack_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.mark.parametrize("mode", ["file", "dir", "symlink", "swap", "all"])
def test_a_planted_report_is_never_read(engine, mode: str) -> None:
    image = attack_image(engine, mode)
    with SensorContainer(engine, image, ["/attack", mode]) as box:
        run = box.finish()
    assert run.exit_code == 0, run.logs
    assert f"attacked ({mode})".encode() in run.stdout
    paths = {access.path for access in run.obs.paths}
    files = {event.path for event in run.obs.files}
    assert "/real-used-by-attacker" in paths
    assert "/forged-keep" not in paths | files
    assert run.obs.format_version == 2 and run.obs.default_seccomp
    assert any("tampered" in w for w in run.obs.warnings), run.obs.warnings


def test_read_file_takes_only_the_exact_regular_file(engine) -> None:
    """Engine.read_file: a directory (whose first member is a regular file), a symlink to a
    regular file, or another member name is refused."""
    image = attack_image(engine, "symlink")
    with SensorContainer(engine, image, ["/attack", "symlink"]) as box:
        box.finish()
        read = engine.read_file
        assert read(box.container, box.layout.report, 1 << 20).startswith(b"slimmer-sensor")
        assert read(box.container, "/forged-keep", 1 << 20).startswith(b"kept only")
        for path in ("/.slimmer/report", "/forged-dir", "/.slimmer", "/nonexistent"):
            with pytest.raises(SlimmerError):
                read(box.container, path, 1 << 20)
        with pytest.raises(SlimmerError, match="at most 4 B"):
            read(box.container, "/forged-keep", 4)
        moved = f"{box.layout.report}.displaced-1"  # the target's symlink, moved aside
        with pytest.raises(SlimmerError, match="not a regular file"):
            read(box.container, moved, 1 << 20)


def test_the_report_is_written_after_the_last_process(engine) -> None:
    """A child the target leaves behind keeps writing a forged report at the path: the sensor
    kills it with everything else when the target exits and writes only when it is alone."""
    image = attack_image(engine, "daemon")
    with SensorContainer(engine, image, ["/attack", "daemon"]) as box:
        run = box.finish()
    stats = [a for a in run.obs.paths if a.path == "/real-used-by-attacker"]
    assert stats and stats[0].op is Op.STAT
    assert run.obs.target_exit == 0
    assert run.report.startswith(b"slimmer-sensor-report 2\n")
