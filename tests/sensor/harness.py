"""A profiling container as the orchestrator makes it: user 0:0, SYS_ADMIN added, the sensor
injected through the archive API into a directory drawn per run, as the entrypoint (with the
report path and the engine's default seccomp profile, ``slimmer.observe.sensor_command``), the
target command after ``--``; the report read back as the pipeline reads it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from types import TracebackType

from slimmer.engine import Engine
from slimmer.observation import Observation
from slimmer.observe import MAX_REPORT, SensorLayout, sensor_command
from slimmer.sensor.assets import sensor_binary
from slimmer.sensor.report import read_report


@dataclass
class Run:
    exit_code: int
    logs: bytes
    report: bytes
    obs: Observation
    stdout: bytes = b""


class SensorContainer:
    """``with SensorContainer(engine, image, argv) as box: ... box.finish()``."""

    def __init__(
        self,
        engine: Engine,
        image: str,
        argv: list[str],
        options: tuple[str, ...] = (),
        cap_add: tuple[str, ...] = ("SYS_ADMIN",),
    ) -> None:
        self.engine = engine
        self.session = f"sensortest-{uuid.uuid4().hex[:12]}"
        self.spec = (image, argv, options, cap_add)
        self.container = ""
        self.layout = SensorLayout.new()

    def __enter__(self) -> SensorContainer:
        image, argv, options, cap_add = self.spec
        try:
            entrypoint = [*sensor_command(self.layout, self.engine, *options), "--"]
            self.container = create(
                self.engine, image, self.session, entrypoint, argv, "0:0", cap_add
            )
            self.layout.install(self.engine, self.container, sensor_binary("x86_64"))
            self.engine.start(self.container)
        except BaseException:
            self.engine.remove_session(self.session)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.engine.remove_session(self.session)

    def wait_for_output(self, marker: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.engine.logs(self.container):
                return
            time.sleep(0.1)
        raise AssertionError(f"{marker!r} not in the output: {self.engine.logs(self.container)!r}")

    def finish(self, timeout: float = 60) -> Run:
        """Wait for the exit; the exit code, output and parsed report."""
        code = self.engine.wait(self.container, timeout=timeout)
        assert code is not None, "the profiling container did not exit in time"
        logs = self.engine.logs(self.container)
        report = self.engine.read_file(self.container, self.layout.report, MAX_REPORT)
        return Run(exit_code=code, logs=logs, report=report, obs=read_report(report),
                   stdout=self.engine.stdout(self.container))


def create(
    engine: Engine,
    image: str,
    session: str,
    entrypoint: list[str],
    argv: list[str],
    user: str,
    cap_add: tuple[str, ...] = (),
) -> str:
    """A container without network (the tests need none, and it keeps them independent of the
    engine's bridge), labelled with the session; its id."""
    return engine.create_container(
        image,
        session=session,
        entrypoint=entrypoint,
        command=argv,
        user=user,
        cap_add=list(cap_add),
        network_mode="none",
    )


def run_sensor(
    engine: Engine,
    image: str,
    argv: list[str],
    options: tuple[str, ...] = (),
    cap_add: tuple[str, ...] = ("SYS_ADMIN",),
) -> Run:
    """Run ``argv`` under the sensor to its end."""
    with SensorContainer(engine, image, argv, options, cap_add) as box:
        return box.finish()


def run_plain(engine: Engine, image: str, argv: list[str], user: str) -> tuple[int, bytes]:
    """A plain ``docker run --user USER IMAGE ARGV`` (no sensor): exit code and stdout."""
    session = f"sensortest-{uuid.uuid4().hex[:12]}"
    try:
        container = create(engine, image, session, [], argv, user)
        engine.start(container)
        code = engine.wait(container, timeout=60)
        assert code is not None
        return code, engine.stdout(container)
    finally:
        engine.remove_session(session)
