"""Hatchling build hook: compile the static sensors so every wheel (and editable install) has them.

The sensors run inside target containers, not on the host, so the wheel stays pure Python.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SensorBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        subprocess.run(
            ["make", "-C", str(root / "sensors"), f"PYTHON={sys.executable}"],
            check=True,
        )
