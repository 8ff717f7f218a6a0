"""Fixtures of the profile tests: apparmor_parser, a private crun engine, a pipeline runner."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.prereq import unavailable
from tests.profiles.private_engine import PrivateEngineUnavailable, private_dockerd


@pytest.fixture(scope="session")
def apparmor_parser() -> str:
    """The apparmor_parser binary (compile-only checks: this kernel may have no AppArmor)."""
    found = shutil.which("apparmor_parser") or (
        "/usr/sbin/apparmor_parser" if os.path.exists("/usr/sbin/apparmor_parser") else None
    )
    if found is None:
        unavailable("apparmor_parser is not installed (apt-get install apparmor)")
    return found


@pytest.fixture(scope="session")
def crun_engine(engine):
    """A private dockerd with crun as its default runtime (needs root, dockerd, crun)."""
    if os.geteuid() != 0:
        unavailable("the private crun engine needs root")
    try:
        with private_dockerd("crun") as private:
            yield private
    except PrivateEngineUnavailable as exc:
        unavailable(f"no private crun engine: {exc}")
