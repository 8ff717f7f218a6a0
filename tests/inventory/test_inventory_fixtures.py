"""The inventory of the Debian fixture images equals what dpkg-query says inside them."""

from __future__ import annotations

import uuid

import pytest

from slimmer.engine import Engine
from slimmer.imagefs import open_image
from slimmer.inventory import read_inventory

pytestmark = [pytest.mark.docker]

DEBIAN_FIXTURES = ("nginx", "python-app", "redis", "batch")
QUERY = "${Package}\\t${Version}\\t${Architecture}\\n"


def dpkg_query_inside(engine: Engine, ref: str) -> list[str]:
    """`dpkg-query -W` run by the image's own dpkg in a container of it (as root)."""
    session = f"inventory-test-{uuid.uuid4().hex[:12]}"
    container = engine.create_container(
        ref,
        session=session,
        entrypoint=["dpkg-query", "-W", "-f", QUERY],
        command=[],
        user="0",
        network_mode="none",
    )
    try:
        engine.start(container)
        assert engine.wait(container, timeout=60) == 0, engine.logs(container)
        return sorted(engine.stdout(container).decode().splitlines())
    finally:
        engine.remove_session(session)


@pytest.mark.parametrize("name", DEBIAN_FIXTURES)
def test_deb_inventory_equals_dpkg_query(name: str, engine: Engine, fixture_image, tmp_path):
    ref = fixture_image(name)
    with open_image(ref, tmp_path, engine=engine) as fs:
        inventory = read_inventory(fs)
        assert inventory.os is not None and inventory.os.id == "debian"
        ours = sorted(f"{p.name}\t{p.version}\t{p.arch}" for p in inventory.by_ecosystem("deb"))
        assert ours == dpkg_query_inside(engine, ref)
        assert inventory.warnings == []
        # the listed paths are where the inventory says the image holds them (merged /usr);
        # only what the recipe deleted after installing (apt caches) is missing
        listed = [path for p in inventory.by_ecosystem("deb") for path in p.files]
        missing = [path for path in listed if fs.lookup(path) is None]
        assert len(missing) < len(listed) / 100, missing[:20]
        assert inventory.owner("/usr/bin/dpkg-query").name == "dpkg"
