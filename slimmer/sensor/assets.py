"""The static sensor binaries shipped next to the package (built by ``make sensor``)."""

from __future__ import annotations

from pathlib import Path

from slimmer.errors import SensorError

SENSOR_DIR = Path(__file__).resolve().parent.parent / "_sensors"
ARCHES = ("x86_64", "aarch64")


def sensor_path(arch: str) -> Path:
    """Where the sensor for ``arch`` (kernel name: x86_64 or aarch64) is expected."""
    if arch not in ARCHES:
        raise SensorError(
            f"no sensor for architecture {arch!r}", f"sensors exist for {', '.join(ARCHES)}"
        )
    return SENSOR_DIR / f"sensor-{arch}"


def sensor_binary(arch: str) -> bytes:
    """The static sensor executable for ``arch``."""
    path = sensor_path(arch)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SensorError(
            f"the {arch} sensor is not built ({path} is missing)",
            "run `make sensor` (or reinstall slimmer)",
        ) from None
