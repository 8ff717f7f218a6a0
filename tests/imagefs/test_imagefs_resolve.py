"""The in-image resolver: symlinks followed one component at a time, never on the host."""

from __future__ import annotations

import pytest

from slimmer.imagefs import ImageFs
from tests.imagefs.crafted import directory, file, layer, open_layers, symlink


@pytest.fixture(scope="module")
def fs(tmp_path_factory) -> ImageFs:
    chain = [symlink(f"chain/{i}", f"{i + 1}") for i in range(41)]
    data = layer(
        [
            directory("usr/lib/x86_64-linux-gnu/"),
            file("usr/lib/x86_64-linux-gnu/libc.so.6", b"libc"),
            symlink("lib", "usr/lib"),
            symlink("lib64", "/lib/x86_64-linux-gnu"),
            symlink("usr/lib/x86_64-linux-gnu/libc.so", "libc.so.6"),
            symlink("up", "../../../../usr"),
            symlink("etc-abs", "/etc"),  # must resolve in the image, where /etc is missing
            symlink("loop/a", "b"),
            symlink("loop/b", "a"),
            symlink("self", "self"),
            symlink("empty", ""),
            symlink("dot", "."),
            file("chain/41", b"end"),
            *chain,
            file("plain", b"p"),
        ]
    )
    made = open_layers(tmp_path_factory.mktemp("resolve"), data)
    yield made
    made.close()


def test_relative_and_absolute_links_are_followed_and_recorded(fs: ImageFs) -> None:
    found = fs.resolve("/lib64/libc.so")
    assert found.error is None
    assert found.path == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    assert found.links == ("/lib64", "/lib", "/usr/lib/x86_64-linux-gnu/libc.so")
    assert found.entry is fs.lookup("/usr/lib/x86_64-linux-gnu/libc.so.6")


def test_follow_last_false_stops_at_the_final_link(fs: ImageFs) -> None:
    found = fs.resolve("/lib/x86_64-linux-gnu/libc.so", follow_last=False)
    assert found.path == "/usr/lib/x86_64-linux-gnu/libc.so"
    assert found.links == ("/lib",)
    assert found.entry.linkname == "libc.so.6"


def test_dotdot_is_clamped_at_the_root(fs: ImageFs) -> None:
    assert fs.resolve("/up/lib").path == "/usr/lib"
    assert fs.resolve("/../../../plain").path == "/plain"
    assert fs.resolve("/lib/../plain").path == "/usr/plain"  # .. of the link's target
    assert fs.resolve("/lib/../plain").error == "ENOENT"


def test_absolute_targets_stay_inside_the_image(fs: ImageFs) -> None:
    found = fs.resolve("/etc-abs/passwd")  # the host has /etc/passwd; the image has no /etc
    assert (found.entry, found.error, found.path) == (None, "ENOENT", "/etc")
    assert found.links == ("/etc-abs",)


def test_loops_and_the_forty_link_limit(fs: ImageFs) -> None:
    looped = fs.resolve("/loop/a")
    assert (looped.entry, looped.error) == (None, "ELOOP")
    assert len(looped.links) == 40
    assert fs.resolve("/self").error == "ELOOP"
    forty = fs.resolve("/chain/1")  # 40 links: allowed, as by the kernel
    assert forty.error is None and forty.path == "/chain/41"
    assert fs.resolve("/chain/0").error == "ELOOP"  # 41 links


def test_missing_and_not_a_directory(fs: ImageFs) -> None:
    missing = fs.resolve("/lib/nope/deeper")
    assert (missing.entry, missing.error, missing.path) == (None, "ENOENT", "/usr/lib/nope")
    assert missing.links == ("/lib",)
    notdir = fs.resolve("/plain/x")
    assert (notdir.entry, notdir.error, notdir.path) == (None, "ENOTDIR", "/plain")
    assert fs.resolve("/empty").error == "ENOENT"


def test_trivial_paths(fs: ImageFs) -> None:
    assert fs.resolve("/").path == "/" and fs.resolve("/").entry is fs.lookup("/")
    assert fs.resolve("usr//lib/./").path == "/usr/lib"
    assert fs.resolve("/dot/plain").path == "/plain"
    assert fs.lookup("/usr/lib/../lib") is fs.lookup("/usr/lib")
    assert fs.lookup("/lib").type.value == "symlink"  # lookup never follows
