"""A private dockerd with crun registered, for the runtime-set research and the crun test.

Registering a runtime needs a daemon restart; the shared engine must not be restarted, so this
starts a second dockerd of our own on its own socket, data root and exec root (no bridge, no
iptables), with crun as its default runtime, and stops it afterwards. Needs root and the
dockerd and crun binaries on this machine.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker

from slimmer.engine import Engine


class PrivateEngineUnavailable(RuntimeError):
    """dockerd or the runtime is missing, or the private daemon did not come up."""


@contextlib.contextmanager
def private_dockerd(runtime: str = "crun", wait: float = 60) -> Iterator[Engine]:
    """Run a private dockerd whose default runtime is ``runtime``; yields an Engine for it."""
    dockerd, runtime_path = shutil.which("dockerd"), shutil.which(runtime)
    if not dockerd or not runtime_path or not shutil.which("unshare"):
        raise PrivateEngineUnavailable(f"needs dockerd, unshare and {runtime} on PATH")
    # short paths: the containerd socket path must fit in sun_path
    base = Path(tempfile.mkdtemp(prefix="slimmer-dk-", dir="/tmp"))
    socket = base / "d.sock"
    config = {"runtimes": {runtime: {"path": runtime_path}}, "default-runtime": runtime}
    (base / "daemon.json").write_text(json.dumps(config))
    # The daemon runs in mount and network namespaces of its own, so the host is left untouched:
    # - a dockerd started with --bridge none deletes the host's docker0 interface (the shared
    #   engine's bridge) unless it has a network namespace of its own;
    # - crun refuses a hybrid cgroup layout whose v2 part has a controller (hugetlb on this
    #   machine): without the v2 mount in its namespace the runtimes see plain cgroup v1.
    command = [
        "unshare", "--mount", "--net", "--propagation", "private", "sh", "-c",
        'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', "sh",
        dockerd, "--config-file", str(base / "daemon.json"), "--host", f"unix://{socket}",
        "--data-root", str(base / "data"), "--exec-root", str(base / "exec"),
        "--pidfile", str(base / "d.pid"), "--bridge", "none", "--iptables=false",
        "--ip-masq=false", "--cgroup-parent", "slimmer-private", "--storage-driver", "overlay2",
    ]
    log = (base / "dockerd.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    engine = None
    try:
        deadline = time.monotonic() + wait
        while engine is None:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (base / "dockerd.log").read_text(errors="replace")[-800:]
                raise PrivateEngineUnavailable(f"private dockerd did not start: {tail}")
            with contextlib.suppress(docker.errors.DockerException, OSError):
                client = docker.DockerClient(base_url=f"unix://{socket}", version="auto",
                                             timeout=60)
                client.ping()
                engine = Engine(client)
            time.sleep(0.5)
        yield engine
    finally:
        if engine is not None:
            engine.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        _remove_tree(base)


def _remove_tree(base: Path) -> None:
    """Remove the daemon's directories (its mounts died with its mount namespace)."""
    shutil.rmtree(base, ignore_errors=True)
