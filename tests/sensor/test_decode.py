"""The sensor's shared C code (decoding, path joining, users, escaping) on the host, against the
x86_64 and the aarch64 syscall tables."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "sensors" / "src"
SHARED = ["decode.c", "path.c", "user.c", "util.c", "agg.c", "out.c"]


def _build(tmp: Path, arch: str) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.fail("no C compiler on the host (install gcc)")
    out = tmp / f"driver-{arch}"
    command = [compiler, "-O1", "-Wall", "-Wextra", "-Werror", "-DSENSOR_ALL_TABLES",
               f"-I{SRC}", "-o", str(out), str(Path(__file__).with_name("decode_driver.c"))]
    if arch == "aarch64":
        command[1:1] = ["-DDRIVER_AARCH64", "-DSENSOR_TABLES_AARCH64"]
    subprocess.run(command + [str(SRC / name) for name in SHARED], check=True)
    return out


@pytest.fixture(scope="module", params=["x86_64", "aarch64"])
def driver(request, tmp_path_factory):
    path = _build(tmp_path_factory.mktemp("driver"), request.param)

    def run(*args: str) -> str:
        done = subprocess.run([str(path), *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    run.arch = request.param  # type: ignore[attr-defined]
    return run


AT_FDCWD = str(2**64 - 100)  # -100 as the kernel passes it in a 64-bit register


def test_kinds_per_arch(driver):
    if driver.arch == "x86_64":
        assert driver("kind", "native", "open") == "2 open"
        assert driver("kind", "native", "openat") == "257 openat"
        assert driver("kind", "native", "newfstatat") == "262 fstatat"
        assert driver("kind", "compat", "stat64") == "195 stat"
        assert driver("kind", "compat", "open") == "5 open"
        assert driver("kind", "x32", "execve") == "520 execve"
    else:
        assert driver("kind", "native", "open") == "-1 none"  # aarch64 has only the *at calls
        assert driver("kind", "native", "openat") == "56 openat"
        assert driver("kind", "native", "newfstatat") == "79 fstatat"
        assert driver("kind", "native", "faccessat2") == "439 faccessat"
        assert driver("kind", "compat", "open") == "5 open"
    assert driver("kind", "native", "statx").endswith(" statx")
    assert driver("kind", "native", "fchmodat2").endswith(" fchmodat")
    assert driver("kind", "native", "read").endswith(" none")


@pytest.mark.parametrize(
    ("call", "args", "expected"),
    [
        ("openat", (AT_FDCWD, "4096", "0", "0"), "exit=1 exec=0 -100:4096:open_r"),
        ("openat", ("7", "4096", "01", "0"), "exit=1 exec=0 7:4096:open_w"),
        ("openat", ("7", "4096", "02", "0"), "exit=1 exec=0 7:4096:open_w"),
        ("openat", ("7", "4096", "0101", "0"), "exit=1 exec=0 7:4096:open_c"),
        ("openat", ("7", "4096", str(0o20200000), "0"), "exit=1 exec=0 7:4096:open_c"),  # TMPFILE
        ("openat2", ("3", "4096", "0100", "24"), "exit=1 exec=0 3:4096:open_c"),
        ("newfstatat", ("3", "4096", "0", "0"), "exit=1 exec=0 3:4096:stat"),
        ("newfstatat", ("3", "4096", "0", "256"), "exit=1 exec=0 3:4096:lstat"),
        ("newfstatat", ("3", "4096", "0", "4096"), "exit=1 exec=0 3:4096:stat:empty"),
        ("statx", ("3", "4096", "256", "0"), "exit=1 exec=0 3:4096:lstat"),
        ("faccessat2", (AT_FDCWD, "4096", "1", "0"), "exit=1 exec=0 -100:4096:access"),
        ("readlinkat", ("9", "4096", "0", "0"), "exit=1 exec=0 9:4096:readlink"),
        ("execveat", ("4", "4096", "8192", "0", "4096"),
         "exit=1 exec=1 4:4096:exec:empty argv=8192"),
        ("execve", ("4096", "8192", "0", "0"), "exit=1 exec=1 -100:4096:exec argv=8192"),
        ("unlinkat", ("3", "4096", "0", "0"), "exit=1 exec=0 3:4096:unlink"),
        ("unlinkat", ("3", "4096", "512", "0"), "exit=1 exec=0 3:4096:rmdir"),
        ("renameat2", ("3", "4096", "5", "8192", "1"),
         "exit=1 exec=0 3:4096:rename_from 5:8192:rename_to"),
        ("linkat", ("3", "4096", "5", "8192", "0"),
         "exit=1 exec=0 3:4096:link_from 5:8192:link_to"),
        ("symlinkat", ("4096", "6", "8192", "0"), "exit=1 exec=0 6:8192:symlink"),
        ("mkdirat", ("3", "4096", "0", "0"), "exit=1 exec=0 3:4096:mkdir"),
        ("mknodat", ("3", "4096", "0", "0"), "exit=1 exec=0 3:4096:mknod"),
        ("fchmodat", ("3", "4096", "0", "0"), "exit=1 exec=0 3:4096:chmod"),
        ("fchownat", ("3", "4096", "0", "0", "0"), "exit=1 exec=0 3:4096:chown"),
        ("utimensat", ("3", "4096", "0", "0"), "exit=1 exec=0 3:4096:utime"),
        ("utimensat", ("3", "0", "0", "0"), "exit=1 exec=0"),  # futimens: no path
        ("getxattr", ("4096", "0", "0", "0"), "exit=1 exec=0 -100:4096:xattr_r"),
        ("lremovexattr", ("4096", "0", "0", "0"), "exit=1 exec=0 -100:4096:xattr_w"),
        ("inotify_add_watch", ("3", "4096", "0", "0"), "exit=1 exec=0 -100:4096:inotify"),
        ("statfs", ("4096", "0", "0", "0"), "exit=1 exec=0 -100:4096:stat"),
        ("truncate", ("4096", "0", "0", "0"), "exit=1 exec=0 -100:4096:truncate"),
        ("chdir", ("4096", "0", "0", "0"), "exit=1 exec=0 -100:4096:chdir"),
        ("socket", ("10", "524289", "0", "0"), "exit=0 exec=0 socket=10/524289"),
        ("read", ("3", "4096", "10", "0"), "exit=0 exec=0"),
    ],
)
def test_decode_shared(driver, call, args, expected):
    padded = list(args) + ["0"] * (6 - len(args))
    assert driver("decode", "native", call, *padded) == expected


def test_decode_legacy_calls(driver):
    if driver.arch == "aarch64":  # no legacy path calls: "open" is not a syscall there
        assert driver("decode", "native", "open", "4096", "0", "0", "0", "0", "0") == (
            "exit=0 exec=0")
        return
    assert driver("decode", "native", "open", "4096", "0", "0", "0", "0", "0") == (
        "exit=1 exec=0 -100:4096:open_r")
    assert driver("decode", "native", "creat", "4096", "0", "0", "0", "0", "0") == (
        "exit=1 exec=0 -100:4096:open_c")
    assert driver("decode", "native", "rename", "4096", "8192", "0", "0", "0", "0") == (
        "exit=1 exec=0 -100:4096:rename_from -100:8192:rename_to")
    assert driver("decode", "native", "symlink", "4096", "8192", "0", "0", "0", "0") == (
        "exit=1 exec=0 -100:8192:symlink")
    assert driver("decode", "compat", "lstat64", "4096", "0", "0", "0", "0", "0") == (
        "exit=1 exec=0 -100:4096:lstat")


@pytest.mark.parametrize(
    ("base", "rel", "expected"),
    [
        ("/a/b", "c", "/a/b/c"),
        ("/a/b", "/x//y/", "/x/y"),
        ("/a/b", "../../../c/./d//", "/a/b/../../../c/d"),
        ("/", ".", "/"),
        ("/a", "..", "/a/.."),
        ("/a/b", "./c/../d", "/a/b/c/../d"),  # ".." kept: c may be a symlink
        ("/", "x" * 70, "<too long>"),
    ],
)
def test_path_join(driver, base, rel, expected):
    assert driver("join", base, rel) == expected


PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "alice:x:1500:1500::/home/alice:/bin/sh\n"
    "bob:x:1501:1501::/nonexistent:/bin/sh\n"
    "huge:x:4294967295:0::/:/bin/sh\n"
    "hugegid:x:1502:2147483648::/:/bin/sh\n"
)
GROUP = (
    "root:x:0:\nalice:x:1500:alice\ngrpa:x:2000:alice,bob\ngrpb:x:2001:bob,alice\n"
    "biggrp:x:3000000000:bob\n"
)
RANGE = "error uids and gids must be in range 0-2147483647"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", "0 0 /root 0"),
        ("alice", "1500 1500 /home/alice 1500 2000 2001"),
        ("1500", "1500 1500 /home/alice 1500 2000 2001"),
        ("1234", "1234 0 / 0"),
        ("1234:5678", "1234 5678 / 5678"),
        ("alice:grpb", "1500 2001 /home/alice 2001"),
        ("alice:4242", "1500 4242 /home/alice 4242"),
        ("bob", "1501 1501 /nonexistent 1501 2000 2001 3000000000"),
        # runc's limit: setresuid(-1, ...) would change nothing and leave the target root
        ("4294967295", RANGE),
        ("2147483648", RANGE),
        ("2147483647", "2147483647 0 / 0"),
        ("0:4294967295", RANGE),
        ("huge", RANGE),
        ("hugegid", RANGE),
        ("bob:biggrp", RANGE),
        ("nosuch", "error unable to find user nosuch: no matching entries in passwd file"),
        ("alice:nogrp", "error unable to find group nogrp: no matching entries in group file"),
    ],
)
def test_user_resolution(driver, spec, expected):
    assert driver("user", spec, PASSWD, GROUP) == expected


def test_escaping(driver):
    assert driver("esc", "a b\\c\tü") == "a\\x20b\\x5cc\\x09\\xc3\\xbc"
    assert driver("esc", "") == "\\-"


def test_ids_are_verified_after_the_switch(driver):
    """user_verify: real, effective and saved uid and gid and the groups must be the user's."""
    assert driver("verify", "0", "0", "0") == "ok"
    assert driver("verify", "1", "0", "0") == "mismatch"
    assert driver("verify", "0", "1", "0") == "mismatch"
    assert driver("verify", "0", "0", "1") == "mismatch"
