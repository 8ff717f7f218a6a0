"""xray's packages section against the real tool: the Debian fixtures' package lists equal what
`dpkg-query -W` prints inside each image; diff of an image and its slim build names the
packages removed and partially kept."""

from __future__ import annotations

import subprocess

import pytest

from tests.xray.helpers import xray_json

pytestmark = [pytest.mark.docker, pytest.mark.slow]
DEBIAN_FIXTURES = ("batch", "nginx", "python-app", "redis")
QUERY = "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"


def dpkg_query(ref: str) -> set[tuple[str, str, str]]:
    """Installed packages as dpkg itself lists them, run inside the image."""
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--user", "0", "--entrypoint",
         "dpkg-query", ref, "-W", "-f", QUERY],
        capture_output=True, text=True, timeout=300, check=True,
    )
    rows = [line.split("\t") for line in done.stdout.splitlines() if line.strip()]
    return {(name, version, arch) for status, name, version, arch in rows if status[:2] == "ii"}


@pytest.mark.parametrize("name", DEBIAN_FIXTURES)
def test_packages_equal_dpkg_query(name: str, fixture_image) -> None:
    ref = fixture_image(name)
    expected = dpkg_query(ref)
    packages = xray_json(ref)["packages"]
    found = {(p["name"], p["version"], p["arch"]) for p in packages["packages"]
             if p["ecosystem"] == "deb"}
    assert found == expected
    assert len(found) > 50  # a real Debian system, not an empty list that matches
    assert packages["by_ecosystem"]["deb"] == len(found)


def test_diff_of_a_build_names_packages_removed_and_partially_kept(
    engine, fixture_image, tmp_path
) -> None:
    """The slim python-app keeps python and libc but not perl: its packages section says so,
    checked against the slim archive's own member list read with tarfile."""
    import json
    import tarfile

    from tests.e2e.helpers import slimmer

    ref = fixture_image("python-app")
    tag = f"slimmer-e2e/python-app.slim:{tmp_path.name[-12:].lower()}"
    archive = tmp_path / "slim.tar"
    try:
        built = slimmer("build", ref, "--tag", tag, "--archive", str(archive), "--no-verify",
                        "--output-dir", str(tmp_path / "out"), tmpdir=tmp_path / "tmp")
        assert built.returncode == 0, built.stderr
    finally:
        engine.remove_image(tag)
    audit = json.loads((tmp_path / "out" / "diff.json").read_text())
    done = slimmer("diff", ref, str(archive), "--json")
    assert done.returncode == 0, done.stderr
    packages = json.loads(done.stdout)["packages"]
    assert packages == audit["packages"]  # build's audit and `slimmer diff` agree
    removed = {p["name"] for p in packages["removed"]}
    partial = {p["name"] for p in packages["partially_kept"]}
    assert "perl-base" in removed and "libc6" in partial | {p["name"] for p in packages["kept"]}
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        with tarfile.open(fileobj=outer.extractfile(manifest["Layers"][0])) as layer:
            slim_paths = {"/" + m.name.strip("./").rstrip("/") for m in layer}
    assert "/usr/bin/perl" not in slim_paths
    for item in packages["partially_kept"]:
        assert item["files_left"] < item["files"] and item["missing"]
        assert not set(item["missing"]) & slim_paths
