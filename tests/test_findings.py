"""Production-readiness findings from crafted observations and configs."""

from __future__ import annotations

import pytest

from slimmer.findings import findings
from slimmer.observation import Observation, Op, PathAccess, Pid1Signals

TERM, QUIT, INT = 1 << 14, 1 << 2, 1 << 1
NON_ROOT = {"User": "app", "Healthcheck": {"Test": ["CMD", "/bin/check"]}}
STOP_MESSAGE = (
    "PID 1 ignores SIGTERM: `docker stop` waits 10 s and kills it; use exec-form ENTRYPOINT with "
    "an init (`--init`, tini)"
)


def observation(**fields) -> Observation:
    return Observation(arch="x86_64", **{"orphans": 0, "zombies": 0, **fields})


def ids(found) -> list[str]:
    return [f.id for f in found]


@pytest.mark.parametrize(
    ("signals", "stop_signal", "expected"),
    [
        (Pid1Signals(caught=INT, ignored=0, at_stop=True), None, True),  # default: dropped
        (Pid1Signals(caught=0, ignored=TERM, at_stop=True), None, True),
        (Pid1Signals(caught=TERM, ignored=0, at_stop=True), None, False),
        (Pid1Signals(caught=TERM, ignored=0, at_stop=True), "SIGQUIT", True),
        (Pid1Signals(caught=QUIT, ignored=0, at_stop=True), "SIGQUIT", False),
        (None, None, False),  # the sensor did not say: no finding
    ],
)
def test_stop_signal_not_handled(signals, stop_signal, expected: bool) -> None:
    config = dict(NON_ROOT, StopSignal=stop_signal) if stop_signal else NON_ROOT
    found = findings(observation(pid1_signals=signals), config, service=True)
    assert ("pid1-ignores-stop-signal" in ids(found)) is expected


def test_stop_signal_message_says_what_to_do() -> None:
    signals = Pid1Signals(caught=0, ignored=0)
    (finding,) = findings(observation(pid1_signals=signals), NON_ROOT, service=True)
    assert (finding.severity, finding.message) == ("medium", STOP_MESSAGE)
    quit_config = dict(NON_ROOT, StopSignal="QUIT")
    (finding,) = findings(observation(pid1_signals=signals), quit_config, service=True)
    assert finding.message.startswith("PID 1 ignores SIGQUIT: ")


def test_jobs_that_exit_get_no_service_findings() -> None:
    signals = Pid1Signals(caught=0, ignored=0)
    found = findings(observation(pid1_signals=signals), {"User": "app"}, service=False)
    assert found == []


@pytest.mark.parametrize(
    ("user", "root"), [("", True), ("root", True), ("0", True), ("0:0", True),
                       ("root:app", True), ("app", False), ("1000:1000", False), ("0x", False)]
)
def test_runs_as_root(user: str, root: bool) -> None:
    config = dict(NON_ROOT, User=user)
    assert ("runs-as-root" in ids(findings(observation(), config, service=True))) is root


@pytest.mark.parametrize(
    ("healthcheck", "missing"),
    [(None, True), ({"Test": ["NONE"]}, True), ({"Test": ["CMD-SHELL", "true"]}, False)],
)
def test_no_healthcheck(healthcheck, missing: bool) -> None:
    config = {"User": "app", "Healthcheck": healthcheck}
    assert ("no-healthcheck" in ids(findings(observation(), config, service=True))) is missing


def test_zombies_and_orphans() -> None:
    (orphans,) = findings(observation(orphans=2), NON_ROOT, service=True)
    assert (orphans.id, orphans.severity) == ("zombie-processes", "low")
    assert orphans.message.startswith("2 orphaned processes left for PID 1 to reap while observed")
    (zombies,) = findings(observation(orphans=1, zombies=1), NON_ROOT, service=True)
    assert zombies.severity == "medium"
    assert zombies.message.startswith("1 zombie process never reaped and 1 orphaned process")
    assert "`--init`" in zombies.message
    assert findings(Observation(arch="x86_64"), NON_ROOT, service=True) == []  # not reported


def test_writes_outside_volumes() -> None:
    paths = [
        PathAccess("/var/lib/app/state.db", Op.OPEN_CREATE),
        PathAccess("/var/lib/app/../app/journal", Op.RENAME_TO),
        PathAccess("/data/upload.bin", Op.OPEN_WRITE),  # a volume of the config
        PathAccess("/cache/x", Op.MKDIR),  # a volume given by the user
        PathAccess("/dev/null", Op.OPEN_WRITE),
        PathAccess("/proc/self/oom_score_adj", Op.OPEN_WRITE),
        PathAccess("/etc/hosts", Op.OPEN_WRITE),
        PathAccess("/etc/motd", Op.OPEN_WRITE, errno=13),  # failed: nothing written
        PathAccess("/etc/passwd", Op.OPEN_READ),
    ]
    config = dict(NON_ROOT, Volumes={"/data": {}})
    (finding,) = findings(observation(paths=paths), config, service=True, volumes=["/cache/"])
    assert (finding.id, finding.severity) == ("writes-outside-volumes", "low")
    assert finding.message.startswith(
        "the target wrote 2 paths into the image filesystem outside volumes (in /var/lib/app): "
    )
    assert "`--read-only`" in finding.message


def test_many_written_directories_are_summed_up() -> None:
    paths = [PathAccess(f"/srv/d{n}/f", Op.OPEN_CREATE) for n in range(8)]
    (finding,) = findings(observation(paths=paths), NON_ROOT, service=True)
    assert "(in /srv/d0, /srv/d1, /srv/d2, /srv/d3, /srv/d4 and 3 more)" in finding.message


def test_most_severe_first_and_serialised() -> None:
    paths = [PathAccess("/srv/f", Op.OPEN_CREATE)]
    found = findings(
        observation(paths=paths, zombies=1, pid1_signals=Pid1Signals(caught=0, ignored=0)),
        {},
        service=True,
    )
    assert ids(found) == [
        "pid1-ignores-stop-signal",
        "runs-as-root",
        "zombie-processes",
        "no-healthcheck",
        "writes-outside-volumes",
    ]
    assert found[0].to_dict() == {
        "id": "pid1-ignores-stop-signal",
        "severity": "medium",
        "message": STOP_MESSAGE,
    }
