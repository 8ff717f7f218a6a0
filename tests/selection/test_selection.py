"""Selection over a crafted image: trace, rules, includes and excludes, with their reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slimmer.imagefs import open_image
from slimmer.observation import FileEvent, FileEventKind, Observation, Op, PathAccess
from slimmer.options import SelectOptions
from slimmer.selection import select
from tests.imagefs.crafted import config, directory, docker_archive, file, layer, symlink

ITEMS = [
    directory("etc"),
    file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
    file("etc/group", b"root:x:0:\n"),
    file("etc/shadow", b"secret"),
    symlink("etc/localtime", "/usr/share/zoneinfo/Etc/UTC"),
    directory("tmp", mode=0o1777),
    directory("var"),
    directory("var/tmp", mode=0o1777),
    directory("usr"),
    directory("usr/bin"),
    directory("usr/lib"),
    symlink("lib", "usr/lib"),
    symlink("bin", "usr/bin"),
    file("usr/bin/app", b"#!/bin/sh -e\n", mode=0o755),
    file("usr/bin/dash", b"sh", mode=0o755),
    symlink("usr/bin/sh", "dash"),
    file("usr/bin/tool", b"#!/usr/bin/env  -S python3\n", mode=0o755),
    file("usr/bin/env", b"env", mode=0o755),
    file("usr/bin/python3", b"py", mode=0o755),
    file("usr/bin/ls", b"ls", mode=0o755),
    file("usr/bin/unused", b"u" * 5000, mode=0o755),
    file("usr/lib/libfoo.so.1", b"foo"),
    symlink("usr/lib/libfoo.so", "libfoo.so.1"),
    directory("usr/lib/x86_64-linux-gnu"),
    directory("usr/lib/x86_64-linux-gnu/gconv"),
    file("usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", b"cache"),
    file("usr/lib/x86_64-linux-gnu/gconv/UTF-16.so", b"utf16"),
    file("usr/lib/x86_64-linux-gnu/gconv/IBM850.so", b"ibm850"),
    directory("usr/share"),
    directory("usr/share/zoneinfo"),
    directory("usr/share/zoneinfo/Etc"),
    file("usr/share/zoneinfo/Etc/UTC", b"TZif-utc"),
    directory("usr/share/zoneinfo/Europe"),
    file("usr/share/zoneinfo/Europe/Paris", b"TZif-p"),
    directory("data"),
    directory("data/db"),
    file("data/db/a.rdb", b"A"),
    file("data/db/b.rdb", b"B"),
    directory("data/db/sub"),
    file("data/db/sub/c", b"C"),
    directory("vol"),
    file("vol/seed", b"seed"),
    directory("app"),
    file("app/main.py", b"print()"),
    directory("app/__pycache__"),
    file("app/__pycache__/main.cpython-311.pyc", b"pyc"),
    file("app/util.py", b"x = 1"),
    directory("app/__pycache__"),
    file("app/__pycache__/util.cpython-311.pyc", b"pyc2"),
    directory("app/static"),
    file("app/static/a.css", b"a"),
    file("app/static/b.css", b"b"),
    directory("usr/share/doc"),
    file("usr/share/doc/README", b"doc"),
]


def image(tmp_path: Path, **config_overrides: object):
    data = layer(ITEMS)
    base = json.loads(config([data]))
    base["config"].update(config_overrides)
    archive = docker_archive(tmp_path / "image.tar", [data], config_bytes=json.dumps(base).encode())
    return open_image(archive, tmp_path / "work")


def observed(*paths: PathAccess, files: tuple[str, ...] = ()) -> Observation:
    return Observation(
        arch="x86_64",
        paths=list(paths),
        files=[FileEvent(p, frozenset({FileEventKind.OPEN})) for p in files],
    )


def kept(
    tmp_path: Path,
    observation: Observation,
    options: SelectOptions | None = None,
    **config_overrides: object,
) -> dict[str, str]:
    defaults = {"Cmd": ["/usr/bin/app"], "WorkingDir": "/app"}
    defaults.update(config_overrides)
    with image(tmp_path, **defaults) as fs:
        selection = select(fs, observation, options or SelectOptions())
    return {path: str(reason) for path, reason in selection.kept.items()}


def test_traced_path_keeps_every_symlink_on_the_way(tmp_path: Path) -> None:
    result = kept(tmp_path, observed(PathAccess("/lib/libfoo.so", Op.OPEN_READ)))
    assert result["/lib"].startswith("trace: open_r")
    assert result["/usr/lib/libfoo.so"].startswith("trace: open_r")
    assert result["/usr/lib/libfoo.so.1"] == "trace: open_r"
    assert "/usr/bin/unused" not in result


def test_failed_lookup_keeps_links_on_the_way_but_adds_nothing(tmp_path: Path) -> None:
    result = kept(tmp_path, observed(PathAccess("/lib/missing.so", Op.OPEN_READ, errno=2)))
    assert "/lib" in result
    assert "/usr/lib/missing.so" not in result


def test_written_directory_keeps_its_original_contents_whole(tmp_path: Path) -> None:
    result = kept(
        tmp_path,
        observed(
            PathAccess("/data/db/a.rdb", Op.OPEN_READ),
            PathAccess("/data/db/new.tmp", Op.OPEN_CREATE),  # created by the run: not in the image
            PathAccess("/data/db/new.tmp", Op.RENAME_FROM),
        ),
    )
    for path in ("/data/db/b.rdb", "/data/db/sub", "/data/db/sub/c"):
        assert path in result, path
    assert "/data/db/new.tmp" not in result


def test_failed_writes_do_not_count_as_state(tmp_path: Path) -> None:
    result = kept(tmp_path, observed(PathAccess("/data/db/x", Op.OPEN_CREATE, errno=13)))
    assert "/data/db/b.rdb" not in result


def test_engine_paths_are_ignored(tmp_path: Path) -> None:
    result = kept(
        tmp_path,
        observed(
            PathAccess("/proc/self/status", Op.OPEN_READ),
            PathAccess("/dev/null", Op.OPEN_WRITE),
            PathAccess("/.slimmer/report.tmp", Op.OPEN_CREATE),
        ),
    )
    assert not any(p.startswith(("/proc", "/dev", "/.slimmer")) for p in result)


def test_basics_users_tmp_workdir_command_and_parents(tmp_path: Path) -> None:
    result = kept(tmp_path, observed())
    for path in ("/etc/passwd", "/etc/group", "/tmp", "/var/tmp", "/app", "/usr/bin/app"):
        assert path in result, path
    assert result["/var"] == "rule: parent directory"
    assert "/etc/shadow" not in result


def test_volumes_are_kept_whole(tmp_path: Path) -> None:
    result = kept(tmp_path, observed(), Volumes={"/vol": {}})
    assert result["/vol/seed"] == "rule: VOLUME"


def test_localtime_alone_keeps_only_its_zone(tmp_path: Path) -> None:
    result = kept(tmp_path, observed(PathAccess("/etc/localtime", Op.OPEN_READ)))
    assert "/usr/share/zoneinfo/Etc/UTC" in result
    assert "/usr/share/zoneinfo/Europe/Paris" not in result


@pytest.mark.parametrize(
    ("accesses", "env"),
    [
        ((PathAccess("/usr/share/zoneinfo/Europe/Paris", Op.OPEN_READ),), []),
        ((), ["TZ=Europe/Paris"]),
    ],
)
def test_zones_by_name_or_tz_keep_all_zones(tmp_path: Path, accesses, env) -> None:
    result = kept(tmp_path, observed(*accesses), Env=env)
    assert result["/usr/share/zoneinfo/Europe/Paris"].startswith(("rule: time zones", "trace"))
    assert "/usr/share/zoneinfo/Etc/UTC" in result


def test_failed_zone_lookup_does_not_keep_all_zones(tmp_path: Path) -> None:
    result = kept(tmp_path, observed(PathAccess("/usr/share/zoneinfo/UTC0", Op.OPEN_READ, 2)))
    assert "/usr/share/zoneinfo/Europe/Paris" not in result


def test_gconv_configuration_alone_or_all_modules_once_one_loaded(tmp_path: Path) -> None:
    gconv = "/usr/lib/x86_64-linux-gnu/gconv"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    read_config = PathAccess(f"{gconv}/gconv-modules.cache", Op.OPEN_READ)
    config_only = kept(tmp_path / "a", observed(read_config))
    assert f"{gconv}/gconv-modules.cache" in config_only
    assert f"{gconv}/IBM850.so" not in config_only
    loaded = kept(tmp_path / "b", observed(read_config, files=(f"{gconv}/UTF-16.so",)))
    assert loaded[f"{gconv}/IBM850.so"] == "rule: gconv modules"


def test_python_bytecode_keeps_source_and_source_keeps_bytecode(tmp_path: Path) -> None:
    result = kept(
        tmp_path,
        observed(
            PathAccess("/app/__pycache__/main.cpython-311.pyc", Op.OPEN_READ),
            PathAccess("/app/util.py", Op.STAT),
        ),
    )
    assert result["/app/main.py"] == "rule: Python source/bytecode pair"
    assert result["/app/__pycache__/util.cpython-311.pyc"] == "rule: Python source/bytecode pair"


def test_includes_and_excludes(tmp_path: Path) -> None:
    options = SelectOptions(
        include_paths=["/app/static", "/nope"],
        include_exes=["ls"],
        include_shell=False,
        excludes=["/app/static/b.css", "/usr/share/doc"],
    )
    with image(tmp_path, Cmd=["/usr/bin/app"], Env=["PATH=/usr/bin"]) as fs:
        selection = select(fs, observed(PathAccess("/usr/share/doc/README", Op.OPEN_READ)), options)
    result = {p: str(r) for p, r in selection.kept.items()}
    assert result["/app/static/a.css"] == "include: --include-path /app/static"
    assert "/app/static/b.css" not in result
    assert result["/usr/bin/ls"] == "include: --include-exe ls"
    assert "/usr/share/doc/README" not in result and "/usr/share/doc" not in result
    assert any("--include-path /nope" in w for w in selection.warnings)


def test_include_shell_keeps_a_shell_and_tools(tmp_path: Path) -> None:
    options = SelectOptions(include_shell=True)
    with image(tmp_path, Cmd=["/usr/bin/app"], Env=["PATH=/usr/bin"]) as fs:
        result = select(fs, observed(), options).kept
    assert "/usr/bin/sh" in result and "/usr/bin/ls" in result


def test_script_interpreters_are_kept_by_the_path_the_script_names(tmp_path: Path) -> None:
    result = kept(tmp_path, observed(PathAccess("/usr/bin/tool", Op.EXEC)), Env=["PATH=/usr/bin"])
    # /usr/bin/app (the CMD) names /bin/sh: the kernel resolves it, the trace never sees it
    assert result["/bin"].startswith("rule: interpreter of /usr/bin/app")
    assert result["/usr/bin/sh"].startswith("rule: interpreter of /usr/bin/app")
    assert result["/usr/bin/dash"] == "rule: interpreter of /usr/bin/app"
    assert result["/usr/bin/env"] == "rule: interpreter of /usr/bin/tool"
    assert result["/usr/bin/python3"] == "rule: interpreter of /usr/bin/tool"
