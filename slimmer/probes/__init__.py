"""Probes: exercise the target while the sensor watches it, replay them against the slim image.

See docs/probes.md for the behaviour and the probe file format.
"""

from slimmer.probes.compare import compare
from slimmer.probes.model import ProbeResult, ProbeSpec
from slimmer.probes.plan import (
    bind_specs,
    default_plan,
    load_probe_file,
    parse_probe_cmd,
    run_specs,
)
from slimmer.probes.wait import wait_for_port

__all__ = [
    "ProbeResult",
    "ProbeSpec",
    "bind_specs",
    "compare",
    "default_plan",
    "load_probe_file",
    "parse_probe_cmd",
    "run_specs",
    "wait_for_port",
]
