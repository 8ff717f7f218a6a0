"""slimmer diff on two docker-archive files written here (no engine): files added, removed and
changed (content digest, mode, owner, link target), config differences with secrets masked,
packages removed / kept / partially kept (inventories given here: the images have no package
database; the reader is tested on the Debian fixtures), and the HTML page in headless
Chromium."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fixtures.layers import directory, docker_archive, file, symlink
from slimmer.diff import compare
from slimmer.imagefs import open_image
from slimmer.inventory import Inventory, Package
from tests.xray.helpers import render_dom, slimmer

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
SECRET = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"


def _image(path: Path, members: list, config: dict) -> Path:
    with open(path, "wb") as out:
        docker_archive([members], config, f"{path.stem}:latest", out, "amd64")
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("diff")
    common = [directory("usr/bin"), symlink("bin", "usr/bin"), file("etc/keep.txt", "same\n")]
    a = _image(root / "a.tar", [
        *common,
        file("usr/bin/tool", "T" * 4000), file("usr/bin/helper", "H" * 300),
        file("usr/share/doc/tool/README", "docs\n"),
        file("etc/gone.txt", "bye\n"), file("etc/content.txt", "aaaa"),
        file("etc/mode.txt", "m", 0o644), file("etc/owner.txt", "o"),
        symlink("etc/link", "keep.txt"),
    ], {"Cmd": ["/usr/bin/tool"], "Env": ["A=1", f"GITHUB_TOKEN={SECRET}"]})
    b = _image(root / "b.tar", [
        *common,
        file("usr/bin/tool", "T" * 4000),
        file("etc/content.txt", "bbbb"), file("etc/mode.txt", "m", 0o600),
        file("etc/owner.txt", "o", uid=1000, gid=1000), symlink("etc/link", "gone.txt"),
        file("etc/new.txt", "new\n"),
    ], {"Cmd": ["/usr/bin/tool"], "Env": ["A=2", "GITHUB_TOKEN=changed-but-secret-too"],
        "User": "app", "Labels": {"tier": "slim"}})
    return a, b


def test_files_and_config(images, tmp_path: Path) -> None:
    a, b = images
    page = tmp_path / "diff.html"
    done = slimmer("diff", str(a), str(b), "--json", "--html", str(page), env=NO_ENGINE)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    files = report["files"]
    assert [r["path"] for r in files["removed"]] == [
        "/etc/gone.txt", "/usr/bin/helper", "/usr/share", "/usr/share/doc",
        "/usr/share/doc/tool", "/usr/share/doc/tool/README"]
    assert [r["path"] for r in files["added"]] == ["/etc/new.txt"]
    changed = {c["path"]: c["changes"] for c in files["changed"]}
    digest = {s: "sha256:" + hashlib.sha256(s.encode()).hexdigest() for s in ("aaaa", "bbbb")}
    assert changed == {
        "/etc/content.txt": {"content": [digest["aaaa"], digest["bbbb"]]},
        "/etc/link": {"target": ["keep.txt", "gone.txt"]},
        "/etc/mode.txt": {"mode": ["0644", "0600"]},
        "/etc/owner.txt": {"uid": [0, 1000], "gid": [0, 1000]},
    }
    assert files["counts"]["unchanged"] == 7  # /, /bin, /etc, /etc/keep.txt, /usr, bin, tool
    assert files["bytes"]["removed"] == 4 + 300 + 5
    config = {(c["field"], c.get("key")): (c["a"], c["b"]) for c in report["config"]}
    assert config[("user", None)] == ("", "app")
    assert config[("env", "A")] == ("1", "2")
    assert config[("env", "GITHUB_TOKEN")] == ("ghp_****(len=40)", "****(len=22)")
    assert config[("labels", "tier")] == (None, "slim")
    assert SECRET not in done.stdout and SECRET not in page.read_text()
    dom, console = render_dom(page)
    assert console == []
    assert "/usr/share/doc/tool/README" in dom


def _package(name: str, version: str, files: tuple[str, ...]) -> Package:
    return Package("deb", name, version, "amd64", (), f"pkg:deb/debian/{name}@{version}", files,
                   "/var/lib/dpkg/status")


def test_packages_removed_kept_partially_kept(images, tmp_path: Path, monkeypatch) -> None:
    a, b = images
    inventories = {
        "a": Inventory(None, [
            _package("tool", "1.0",
                     ("/usr", "/bin/tool", "/usr/share/doc/tool", "/usr/share/doc/tool/README")),
            _package("helper", "2.0", ("/usr/bin/helper",)),
            _package("base-files", "12", ("/etc/keep.txt",)),
            _package("meta", "1", ()),
        ]),
        "b": Inventory(None, [_package("base-files", "13", ("/etc/keep.txt",)),
                              _package("extra", "1", ("/etc/new.txt",))]),
    }
    with open_image(a, tmp_path) as fs_a, open_image(b, tmp_path) as fs_b:
        monkeypatch.setattr("slimmer.diff.inventory_of",
                            lambda fs: inventories["a" if fs is fs_a else "b"])
        packages = compare(fs_a, fs_b, "a", "b")["packages"]
    assert [p["name"] for p in packages["removed"]] == ["helper"]
    assert [p["name"] for p in packages["kept"]] == ["base-files"]
    partial = packages["partially_kept"]
    assert [(p["name"], p["files"], p["files_left"], p["missing"]) for p in partial] == [
        ("tool", 2, 1, ["/usr/share/doc/tool/README"])]  # /bin/tool found through /bin -> usr/bin
    assert [p["name"] for p in packages["without_files"]] == ["meta"]
    assert [p["name"] for p in packages["added"]] == ["extra"]
    assert packages["version_changed"] == [
        {"ecosystem": "deb", "name": "base-files", "a": "12", "b": "13"}]
