"""`slimmer sbom IMAGE`: the SBOM of any image, from the engine or from image files (a
docker-archive, an OCI layout directory or tar: no engine needed)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from slimmer.engine import Engine
from slimmer.imagefs import open_image
from slimmer.inventory import read_inventory
from slimmer.sbom.render import FILES, render, write_documents
from slimmer.sbom.subject import make_subject


def sbom_documents(spec: str, formats: list[str], workdir: Path | None = None) -> dict[str, bytes]:
    """{format: document} for the image ``spec`` (a file or directory, else an engine
    reference). Layer copies go to a ``slimmer-*`` temp directory removed before returning."""
    work = Path(tempfile.mkdtemp(prefix="slimmer-sbom-", dir=workdir))
    engine = None
    try:
        if not Path(spec).exists():
            engine = Engine.connect()
        with open_image(spec, work, engine=engine) as fs:
            inventory = read_inventory(fs)
            is_file = engine is None
            name = Path(spec).name if is_file else spec
            subject = make_subject(fs, inventory, name, fs.digest, tagged=not is_file)
            return render(subject, formats)
    finally:
        if engine is not None:
            engine.close()
        shutil.rmtree(work, ignore_errors=True)


def write_sbom(documents: dict[str, bytes], output: Path | None) -> list[Path]:
    """One document: to ``output`` (a file); several: into ``output`` (a directory) under
    their standard names. Returns what was written ([] when output is None: the caller prints)."""
    if output is None:
        return []
    if len(documents) == 1:
        (data,) = documents.values()
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
        return [output]
    return list(write_documents(documents, output).values())


__all__ = ["FILES", "sbom_documents", "write_sbom"]
