"""A profiling container as the orchestrator makes it: user 0:0, SYS_ADMIN added, the sensor
injected through the archive API as the entrypoint, the target command after ``--``."""

from __future__ import annotations

import io
import tarfile
import time
import uuid
from dataclasses import dataclass
from types import TracebackType

from slimmer.engine import Engine
from slimmer.observation import Observation
from slimmer.sensor.assets import sensor_binary
from slimmer.sensor.report import read_report

SENSOR = "/.slimmer/sensor"
REPORT = "/.slimmer/report"


@dataclass
class Run:
    exit_code: int
    logs: bytes
    report: bytes
    obs: Observation


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

    def __enter__(self) -> SensorContainer:
        image, argv, options, cap_add = self.spec
        try:
            self.container = create(
                self.engine, image, self.session, [SENSOR, *options, "--"], argv, "0:0", cap_add
            )
            self.engine.put_file(
                self.container, "/", SENSOR.lstrip("/"), sensor_binary("x86_64"), 0o755
            )
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
        stream = b"".join(self.engine.get_archive(self.container, REPORT))
        with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
            member = tar.next()
            assert member is not None
            handle = tar.extractfile(member)
            assert handle is not None
            report = handle.read()
        return Run(exit_code=code, logs=logs, report=report, obs=read_report(report))


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
