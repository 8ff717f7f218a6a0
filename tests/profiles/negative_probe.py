"""The ground-truth program in a one-file image whose normal run never calls personality(2).

``/groundtruth normal`` prints ``normal``; ``/groundtruth unusual`` also queries
personality(0xffffffff) and prints ``personality RESULT errno ERRNO``.
"""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

from fixtures.tools import compile_static
from slimmer.engine import Engine
from tests.profiles.runtime_probe import one_file_image

GROUNDTRUTH = Path(__file__).parents[2] / "fixtures" / "groundtruth" / "groundtruth.c"
REPO = "slimmer-test/personality"


def personality_image(engine: Engine) -> str:
    """The one-file image (once per engine and source version); CMD is the normal run."""
    digest = hashlib.sha256(GROUNDTRUTH.read_bytes()).hexdigest()[:12]
    return one_file_image(
        engine,
        f"{REPO}:{platform.machine()}-{digest}",
        "groundtruth",
        lambda tmp: compile_static([GROUNDTRUTH], tmp / "groundtruth").read_bytes(),
        ['CMD ["/groundtruth", "normal"]', "LABEL io.slimmer.test=personality"],
    )
