"""Reading an image for a build without moving its layers' bytes.

Both ways start a fresh container of the image (never started, nothing of the image runs in
it) whose PID 1 is the sensor in ``--serve`` mode (sensors/WALK.md), and read file contents
from it on demand (``served``), so a build moves the bytes it reads and keeps, not the image:

- ``open_cached``: every layer's index is in the layer cache (``cache``): the merged tree is
  theirs, exactly what the layers say.
- ``open_walked``: the sensor walks the container's tree first (``walk``); what the engine
  hides or changed for the container is known (``ServedFs.hidden``/``uncertain``) and a build
  that needs it reads the layers instead (``ServedFs.inexact``).

``FastReadUnavailable`` says why neither applies; the build then reads the engine's save stream.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from slimmer import health
from slimmer.arch import sensor_arch
from slimmer.engine import Engine, ImageInfo
from slimmer.errors import SlimmerError
from slimmer.imagefs.cache import LayerCache
from slimmer.imagefs.index import CONTENT_TYPES
from slimmer.imagefs.merge import merge
from slimmer.imagefs.opener import remove_engine_paths
from slimmer.imagefs.served import Channel, RemoteContents, ServedFs
from slimmer.imagefs.tree import Tree
from slimmer.imagefs.walk import Content, WalkError, read_walk
from slimmer.sensor.assets import sensor_binary

# read the container's files: any owner's, with their trusted.* attributes
SERVE_CAPS = ["DAC_OVERRIDE", "DAC_READ_SEARCH", "SYS_ADMIN"]
WALK_SECONDS = 600  # a walk taking longer is abandoned (the layers are read instead)
# inode change times come from the kernel's coarse clock, up to a tick (at most 10 ms) behind
# the engine's creation time: entries changed within this margin before it count as changed
# for the container (a layer unpacked that late is read from the save stream instead)
TOUCH_MARGIN_NS = 50_000_000
# what a build reads first (the package inventory): fetched while the target is observed
PACKAGE_DATABASES = ("/var/lib/dpkg", "/lib/apk/db", "/var/lib/rpm", "/usr/lib/sysimage/rpm")
FIRST_READS = ("/etc/os-release", "/usr/lib/os-release")
LICENSES = "/usr/share/doc"  # dpkg packages' copyright files

class FastReadUnavailable(Exception):
    """Why the image is read from its layers (a sentence for the report)."""


def config_of(info: ImageInfo) -> dict[str, Any]:
    """The image config as the engine reports it (the fields builds use)."""
    config: dict[str, Any] = {
        "architecture": info.architecture,
        "os": info.os,
        "config": dict(info.config or {}),
        "rootfs": {"type": "layers", "diff_ids": list(info.diff_ids)},
    }
    if info.variant:
        config["variant"] = info.variant
    if info.created:
        config["created"] = info.created
    return config


def _start_server(
    engine: Engine, session_id: str, info: ImageInfo, walk: bool
) -> tuple[Channel, int]:
    """Create, fill and start the serving container; its output channel and creation time."""
    binary = sensor_binary(sensor_arch(info.architecture))
    directory = f"/.slimmer-{secrets.token_hex(16)}"
    options = ["--serve", "--skip", directory] + ([] if walk else ["--no-walk"])
    container = engine.create_container(
        info.id,
        session=session_id,
        entrypoint=[f"{directory}/sensor", *options],
        command=[],
        user="0:0",
        cap_add=SERVE_CAPS,
        healthcheck=health.DISABLED,
        isolated=True,
    )
    engine.put_file(container, "/", f"{directory[1:]}/sensor", binary, 0o755)
    stream = engine.attach(container)
    try:
        engine.start(container)
        created = engine.created_ns(container)
    except BaseException:
        stream.close()
        raise
    return Channel(stream), created


def open_walked(
    engine: Engine, session_id: str, info: ImageInfo, workdir: Path
) -> ServedFs:
    """The image's tree from a walk of a fresh container (module doc)."""
    reason = engine.walk_unsupported()
    if reason:
        raise FastReadUnavailable(reason)
    try:
        channel, created = _start_server(engine, session_id, info, walk=True)
    except SlimmerError as exc:
        raise FastReadUnavailable(f"the serving container did not start: {exc.message}") from None
    watchdog = threading.Timer(WALK_SECONDS, channel.stream.close)
    watchdog.start()
    try:
        walked = read_walk(channel.readline, created - TOUCH_MARGIN_NS)
    except (WalkError, OSError) as exc:
        channel.stream.close()
        detail = channel.stream.stderr.decode(errors="replace").strip()  # type: ignore[attr-defined]
        raise FastReadUnavailable(f"the walk failed: {exc} {detail[-200:]}".strip()) from None
    finally:
        watchdog.cancel()
    if walked.problems:
        channel.stream.close()
        raise FastReadUnavailable("the walk could not read " + "; ".join(walked.problems[:3]))
    return _served(info, walked.tree, walked.contents, channel, workdir, walked)


def open_cached(
    engine: Engine, session_id: str, info: ImageInfo, workdir: Path, cache: LayerCache
) -> ServedFs | None:
    """The image's tree from the cached indexes of all its layers (None when one is not
    cached), contents from a fresh container."""
    layers = []
    for diff_id in info.diff_ids:
        cached = cache.get(diff_id)
        if cached is None:
            return None
        layers.append(cached)
    if not layers:
        return None
    tree = merge([layer.diff for layer in layers])
    remove_engine_paths(tree)
    contents = _content_ids(tree)
    try:
        channel, _created = _start_server(engine, session_id, info, walk=False)
    except SlimmerError:
        return None
    if channel.readline(64) != b"slimmer-walk 1\n" or channel.readline(64) != b"end 0\n":
        channel.stream.close()  # the empty walk of --no-walk is missing: not this sensor
        return None
    return _served(info, tree, contents, channel, workdir, None)


def _content_ids(tree: Tree) -> list[Content]:
    """Number the contents of a merged tree (a hardlinked content once) and point its entries
    at them (``Entry.offset``), as a walk does; the container's inode is not known (0)."""
    ids: dict[tuple[int, int], int] = {}
    contents: list[Content] = []
    for path in sorted(tree.entries):
        entry = tree.entries[path]
        if entry is None or entry.type not in CONTENT_TYPES:
            continue
        key = (entry.layer, entry.offset)
        if key not in ids:
            ids[key] = len(contents)
            contents.append(Content(path, 0, entry.size))
        entry.layer, entry.offset = 0, ids[key]
    return contents


def _served(
    info: ImageInfo,
    tree: Tree,
    contents: list[Content],
    channel: Channel,
    workdir: Path,
    walked: Any,
) -> ServedFs:
    workdir.mkdir(parents=True, exist_ok=True)
    spool = Path(tempfile.mkdtemp(prefix="slimmer-imagefs-", dir=workdir))
    try:
        remote = RemoteContents(channel, contents, spool / "contents")
        fs = ServedFs(
            config=config_of(info),
            digest=info.id,
            diff_ids=list(info.diff_ids),
            tree=tree,
            contents=remote,
            hidden=walked.hidden if walked is not None else (),
            uncertain=walked.uncertain if walked is not None else (),
            owned=spool,
        )
        licenses = [f"{LICENSES}/{name}/copyright" for name in fs.listdir(LICENSES)]
        fs.prefetch_paths([*FIRST_READS, *licenses], PACKAGE_DATABASES)
        fs.tainted.clear()  # what was looked up for the prefetch was not the build's
        return fs
    except BaseException:
        channel.stream.close()
        shutil.rmtree(spool, ignore_errors=True)
        raise
