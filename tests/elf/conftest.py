"""Shared fixtures of the ELF tests: downloaded Debian packages, the crafted glibc scenario,
and a helper that imports a staged tree into the engine to ask the real loader."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from slimmer.engine import SESSION_LABEL, Engine
from tests.elf.debs import download
from tests.elf.scenario import Scenario, build
from tests.prereq import unavailable

SESSION = f"elftest-{uuid.uuid4().hex[:8]}"


def need_tool(tool: str, package: str) -> str:
    """The path of a host tool; fail in CI when it is missing, skip elsewhere."""
    found = shutil.which(tool)
    if found is None:
        unavailable(f"{tool} is missing (apt-get install {package})")
    return found


@pytest.fixture(scope="session")
def arm64_decoy(tmp_path_factory) -> Path:
    """A real aarch64 shared library (from Debian's arm64 libpcre2-8-0)."""
    where = tmp_path_factory.mktemp("decoy")
    deb = download("arm64", ["libpcre2-8-0"])[0]
    subprocess.run(["dpkg-deb", "-x", str(deb), str(where)], check=True)
    return next(p for p in where.rglob("libpcre2-8.so.0.*") if p.is_file())


@pytest.fixture(scope="session")
def scenario(tmp_path_factory, arm64_decoy) -> Scenario:
    need_tool("gcc", "gcc")
    return build(tmp_path_factory.mktemp("glibc-scenario"), arm64_decoy)


class ImportedImages:
    """Images imported from tars for one test session, all removed at its end."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.refs: list[str] = []

    def load(self, tar: Path, name: str) -> str:
        ref = f"slimmer-elftest/{name}:{SESSION}"
        repo, tag = ref.split(":")
        with tar.open("rb") as handle:
            self.engine.api.import_image_from_data(
                handle.read(), repository=repo, tag=tag,
                changes=[f"LABEL {SESSION_LABEL}={SESSION}"],
            )
        self.refs.append(ref)
        return ref

    def run(self, ref: str, command: list[str], env: list[str] | None = None) -> str:
        """Run ``command`` in a container of ``ref`` without network; its output (stdout and
        stderr)."""
        api = self.engine.api
        container = api.create_container(
            ref, entrypoint=command[:1], command=command[1:], environment=env or [],
            labels={SESSION_LABEL: SESSION},
            host_config=api.create_host_config(network_mode="none"),
        )["Id"]
        try:
            self.engine.start(container)
            status = self.engine.wait(container, timeout=120)
            assert status is not None, f"{command} did not finish"
            return self.engine.logs(container).decode("utf-8", "replace")
        finally:
            self.engine.remove_container(container)

    def close(self) -> None:
        self.engine.remove_session(SESSION)
        for ref in self.refs:
            self.engine.remove_image(ref)


@pytest.fixture(scope="session")
def images(engine: Engine):
    imported = ImportedImages(engine)
    yield imported
    imported.close()
