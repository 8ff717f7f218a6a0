"""--allow-hot lets libc's fstat (newfstatat/statx with "" and exactly AT_EMPTY_PATH on a
descriptor) through untraced, and nothing else: every path stat is still recorded, the
descriptor stats are neither stopped nor counted, and both calls are reported as allowed.
A path passed with exactly AT_EMPTY_PATH is the documented blind spot (sensors/README.md)."""

from __future__ import annotations

import pytest

from slimmer.observation import Op

from .harness import run_sensor
from .images import fd_stat_image

pytestmark = [pytest.mark.docker]

ALWAYS = {("/etc", Op.OPEN_READ, 0), ("/etc/hostname", Op.STAT, 0),
          ("/etc/passwd", Op.LSTAT, 0), ("/etc/group", Op.LSTAT, 0)}
BLIND_SPOT = ("/etc/shadow", Op.STAT, 0)


@pytest.mark.parametrize("allow_hot", [True, False], ids=["allow-hot", "every-call"])
def test_descriptor_stats(engine, allow_hot: bool) -> None:
    options = ("--allow-hot",) if allow_hot else ()
    run = run_sensor(engine, fd_stat_image(engine), ["/fd_stat"], options)
    assert run.exit_code == 0, run.logs
    obs = run.obs
    seen = {(a.path, a.op, a.errno): a.count for a in obs.paths}
    assert dict.fromkeys(ALWAYS, 1).items() <= seen.items()
    calls = obs.syscalls["x86_64"]
    if allow_hot:
        assert BLIND_SPOT not in seen
        assert (calls["newfstatat"], calls["statx"]) == (3, 1)
        assert {"newfstatat", "statx", "ioctl", "getcwd"} <= obs.allowed_untraced
    else:
        assert seen[BLIND_SPOT] == 1
        assert (calls["newfstatat"], calls["statx"]) == (104, 101)
        assert not obs.allowed_untraced
    assert obs.counters["path_read_failed"] == obs.counters["unresolved_paths"] == 0
