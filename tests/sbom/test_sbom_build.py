"""`slimmer build` on the Debian fixtures: the slim image's trimmed dpkg database is what the
report says (checked with the real dpkg-query), every kept file has an owner or is reported
unowned, the SBOMs validate and their digests are the image's labels, and the slim images
still work. Prints the bytes the trimmed database adds per fixture."""

from __future__ import annotations

import hashlib
import json
import posixpath
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from slimmer.engine import Engine
from slimmer.imagefs import open_image
from tests.checks import CHECKS
from tests.e2e.helpers import slimmer, summary
from tests.sbom.validate import assert_valid_cyclonedx, assert_valid_spdx

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DEBIAN_FIXTURES = ("nginx", "python-app", "redis", "batch")
ADMIN = "var/lib/dpkg"
QUERY = "${Package}\\t${Version}\\n"


def dpkg_query(admindir: Path) -> set[tuple[str, str]]:
    done = subprocess.run(
        ["dpkg-query", f"--admindir={admindir}", "-W", "-f", QUERY],
        capture_output=True,
        text=True,
        check=True,
    )
    return {tuple(line.split("\t")) for line in done.stdout.splitlines()}  # type: ignore[misc]


def slim_layer(archive: Path, into: Path) -> tuple[dict[str, tarfile.TarInfo], Path]:
    """The slim image's one layer: its members by path, and its dpkg admin directory written
    under ``into`` (only regular files under var/lib/dpkg are written)."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))
        (layer_name,) = manifest[0]["Layers"]
        with tarfile.open(fileobj=outer.extractfile(layer_name)) as layer:
            members = {"/" + m.name.strip("./").rstrip("/"): m for m in layer.getmembers()}
            for name, member in members.items():
                if name.startswith(f"/{ADMIN}/") and member.isreg():
                    target = into / name.lstrip("/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(layer.extractfile(member).read())
    return members, into / ADMIN


def archive_config(archive: Path) -> dict:
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))
        return json.load(outer.extractfile(manifest[0]["Config"]))


def original_admin(engine: Engine, ref: str, into: Path) -> Path:
    """The original image's dpkg status, read from its layers."""
    with (
        open_image(ref, into / "work", engine=engine) as fs,
        fs.open(fs.resolve(f"/{ADMIN}/status").entry) as handle,
    ):
        (into / "status").write_bytes(handle.read())
    return into


def canonical(path: str, members: dict[str, tarfile.TarInfo]) -> str:
    """A list's path as the slim image holds it (top-level merged-/usr links followed)."""
    top, _, rest = path.lstrip("/").partition("/")
    link = members.get("/" + top)
    if rest and link is not None and link.issym():
        return posixpath.normpath(posixpath.join("/", link.linkname, rest))
    return path


@pytest.mark.parametrize("name", DEBIAN_FIXTURES)
def test_slim_image_keeps_a_true_package_database(
    name: str, engine: Engine, fixture_image, tmp_path
) -> None:
    ref = fixture_image(name)
    tag = f"slimmer-e2e/{name}.slim:sbom-{tmp_path.name[-8:].lower()}"
    out, archive = tmp_path / "out", tmp_path / "slim.tar"
    try:
        done = slimmer(
            "build",
            ref,
            "--tag",
            tag,
            "--output-dir",
            str(out),
            "--archive",
            str(archive),
            "--json",
            tmpdir=tmp_path / "tmp",
        )
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed", done.stderr
        report = json.loads((out / "report.json").read_text())["packages"]
        members, admin = slim_layer(archive, tmp_path / "rootfs")

        # dpkg-query on the slim database lists exactly the kept packages, original versions
        kept = {(p["name"], p["version"]) for p in report["kept"] if p["ecosystem"] == "deb"}
        assert dpkg_query(admin) == kept
        assert kept <= dpkg_query(original_admin(engine, ref, tmp_path / "original"))
        removed = {(p["name"], p["version"]) for p in report["removed"]}
        assert removed and not removed & kept
        assert all(p["state"] in ("whole", "partial") for p in report["kept"])

        # every kept file belongs to a listed package, or is reported unowned
        owned = set()
        for listing in (admin / "info").glob("*.list"):
            owned |= {canonical(line, members) for line in listing.read_text().splitlines()}
        database = {f"/{ADMIN}/{p.relative_to(admin)}" for p in admin.rglob("*") if p.is_file()}
        files = {path for path, m in members.items() if not m.isdir()}
        orphans = files - owned - set(report["unowned"]) - database
        assert not orphans, sorted(orphans)[:20]
        assert report["database_bytes"] == sum(members[path].size for path in database)
        print(
            f"\n{name}: trimmed package database {report['database_bytes']} bytes "
            f"in {report['database_files']} files, {len(kept)} packages kept, "
            f"{len(removed)} removed"
        )

        # the SBOMs validate and the image carries their digests
        cdx, spdx = (out / "sbom.cdx.json").read_bytes(), (out / "sbom.spdx.json").read_bytes()
        document = assert_valid_cyclonedx(cdx)
        assert_valid_spdx(spdx)
        purls = {c.get("purl") for c in document["components"]}
        assert {p["purl"] for p in report["kept"]} <= purls
        labels = archive_config(archive)["config"]["Labels"]
        assert (
            labels["io.slimmer.sbom.cyclonedx.digest"]
            == "sha256:" + hashlib.sha256(cdx).hexdigest()
        )
        assert labels["io.slimmer.sbom.spdx.digest"] == "sha256:" + hashlib.sha256(spdx).hexdigest()

        CHECKS[name](engine, tag)
    finally:
        engine.remove_image(tag)
        shutil.rmtree(tmp_path / "rootfs", ignore_errors=True)


def test_attach_sbom_no_package_db_and_reproducible(engine: Engine, fixture_image, tmp_path):
    ref = fixture_image("batch")
    tags = [f"slimmer-e2e/batch.slim:attach-{tmp_path.name[-6:].lower()}"]
    try:
        ids = []
        for number, tag in enumerate(tags * 2):  # the same build twice
            out = tmp_path / f"out{number}"
            done = slimmer(
                "build",
                ref,
                "--tag",
                tag,
                "--output-dir",
                str(out),
                "--attach-sbom",
                "--sbom-format",
                "cyclonedx",
                "--no-verify",
                "--json",
                "--archive",
                str(tmp_path / f"slim{number}.tar"),
                tmpdir=tmp_path / "tmp",
            )
            assert done.returncode == 0, done.stderr
            ids.append(summary(done)["result"]["id"])
        assert ids[0] == ids[1]  # same input, same image
        assert not (tmp_path / "out0" / "sbom.spdx.json").exists()
        members, _ = slim_layer(tmp_path / "slim0.tar", tmp_path / "rootfs")
        with tarfile.open(tmp_path / "slim0.tar") as outer:
            (layer_name,) = json.load(outer.extractfile("manifest.json"))[0]["Layers"]
            with tarfile.open(fileobj=outer.extractfile(layer_name)) as layer:
                inside = layer.extractfile("usr/share/slimmer/sbom.cdx.json").read()
        assert inside == (tmp_path / "out0" / "sbom.cdx.json").read_bytes()
        CHECKS["batch"](engine, tags[0])

        tag = f"slimmer-e2e/batch.slim:nodb-{tmp_path.name[-6:].lower()}"
        tags.append(tag)
        out = tmp_path / "nodb"
        done = slimmer(
            "build",
            ref,
            "--tag",
            tag,
            "--output-dir",
            str(out),
            "--no-package-db",
            "--sbom-format",
            "none",
            "--no-verify",
            "--json",
            "--archive",
            str(tmp_path / "nodb.tar"),
            tmpdir=tmp_path / "tmp",
        )
        assert done.returncode == 0, done.stderr
        members, _ = slim_layer(tmp_path / "nodb.tar", tmp_path / "rootfs-nodb")
        assert not [p for p in members if p.startswith(f"/{ADMIN}/")]
        assert "/etc/os-release" in members  # the OS identity stays
        report = json.loads((out / "report.json").read_text())["packages"]
        assert report["database"] == "dropped" and report["kept"]
        assert not list(out.glob("sbom.*"))
    finally:
        for tag in tags:
            engine.remove_image(tag)
