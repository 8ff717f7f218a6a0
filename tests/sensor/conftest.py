"""Fixtures of the sensor tests."""

from __future__ import annotations

import pytest

from slimmer.sensor.assets import sensor_path


@pytest.fixture(scope="session")
def sensorlab(engine, fixture_image) -> str:
    """The sensorlab image (ground-truth program, non-root user); needs the built sensor."""
    if not sensor_path("x86_64").exists():
        pytest.fail("the sensor is not built: run `make sensor`")
    return fixture_image("sensorlab")
