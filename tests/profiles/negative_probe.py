"""The ground-truth program in a one-file image whose normal run never calls personality(2).

``/groundtruth normal`` prints ``normal``; ``/groundtruth unusual`` also queries
personality(0xffffffff) and prints ``personality RESULT errno ERRNO``.
"""

from __future__ import annotations

import hashlib
import io
import platform
import tarfile
import tempfile
from pathlib import Path

from fixtures.tools import compile_static
from slimmer.engine import Engine
from slimmer.errors import SlimmerError

GROUNDTRUTH = Path(__file__).parents[2] / "fixtures" / "groundtruth" / "groundtruth.c"
REPO = "slimmer-test/personality"


def personality_image(engine: Engine) -> str:
    """Import (once per engine and source version) the one-file image; CMD is the normal run."""
    digest = hashlib.sha256(GROUNDTRUTH.read_bytes()).hexdigest()[:12]
    ref = f"{REPO}:{platform.machine()}-{digest}"
    try:
        engine.inspect_image(ref)
        return ref
    except SlimmerError:
        pass
    with tempfile.TemporaryDirectory(prefix="slimmer-test-") as tmp:
        data = compile_static([GROUNDTRUTH], Path(tmp) / "groundtruth").read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("groundtruth")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    repo, tag = ref.split(":")
    engine.api.import_image_from_data(
        buffer.getvalue(), repository=repo, tag=tag,
        changes=['CMD ["/groundtruth", "normal"]', "LABEL io.slimmer.test=personality"],
    )
    return ref
