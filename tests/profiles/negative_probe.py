"""A static program whose normal run never calls personality(2), and an image of it.

``/probe`` prints ``normal``; ``/probe unusual`` also queries personality(0xffffffff) and prints
``personality RESULT errno ERRNO``. Both paths make the same calls apart from personality.
"""

from __future__ import annotations

import io
import platform
import subprocess
import tarfile
import tempfile
from pathlib import Path

from slimmer.engine import Engine
from slimmer.errors import SlimmerError

SOURCE = r"""
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "unusual") == 0) {
		errno = 0;
		int r = personality(0xffffffff);
		printf("personality %d errno %d\n", r, r == -1 ? errno : 0);
		return 0;
	}
	printf("normal\n");
	return 0;
}
"""
REPO = "slimmer-test/personality"


def personality_image(engine: Engine) -> str:
    """Import (once per engine) the one-file image; CMD is the normal run."""
    ref = f"{REPO}:{platform.machine()}"
    try:
        engine.inspect_image(ref)
        return ref
    except SlimmerError:
        pass
    with tempfile.TemporaryDirectory(prefix="slimmer-test-") as tmp:
        source, binary = Path(tmp) / "probe.c", Path(tmp) / "probe"
        source.write_text(SOURCE)
        subprocess.run(["gcc", "-static", "-O2", "-o", str(binary), str(source)], check=True,
                       capture_output=True)
        data = binary.read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("probe")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    engine.api.import_image_from_data(
        buffer.getvalue(), repository=REPO, tag=platform.machine(),
        changes=['CMD ["/probe"]', "LABEL io.slimmer.test=personality"],
    )
    return ref
