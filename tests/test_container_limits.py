"""Every container the target runs in has memory and process limits, and publishes its ports on
the loopback address of a local engine (the probes come from this host)."""

from __future__ import annotations

import pytest

from slimmer.engine import Engine
from slimmer.errors import UsageError
from slimmer.runsettings import DEFAULT_MEMORY, DEFAULT_PIDS_LIMIT, settings_from_options


def _host_config(engine: Engine, image: str, session: str, **settings: object) -> dict:
    container = engine.create_container(
        image, session=session, ports=["80/tcp"], run=settings_from_options(**settings)
    )
    engine.start(container)
    return engine.api.inspect_container(container)


@pytest.mark.docker
@pytest.mark.parametrize(("settings", "memory", "pids"), [
    ({}, DEFAULT_MEMORY, DEFAULT_PIDS_LIMIT),
    ({"memory": "512m", "pids_limit": 100}, 512 << 20, 100),
    ({"memory": "0", "pids_limit": 0}, 0, None),
])
def test_limits_and_loopback_ports(engine: Engine, fixture_image, settings, memory, pids) -> None:
    session = "slimmer-test-limits"
    try:
        inspected = _host_config(engine, fixture_image("nginx"), session, **settings)
        host = inspected["HostConfig"]
        assert host["Memory"] == memory and host["MemorySwap"] == memory
        assert host["PidsLimit"] in ((pids,) if pids else (None, 0, -1))
        bindings = inspected["NetworkSettings"]["Ports"]["80/tcp"]
        assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
    finally:
        engine.remove_session(session)


@pytest.mark.parametrize("value", ["lots", "-1g", ""])
def test_a_bad_memory_size_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError):
        settings_from_options(memory=value)
