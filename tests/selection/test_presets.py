"""Size presets on a crafted image: each rule's choice per preset, default against the selection
before presets, each preset within the next, and --include-*/--exclude on top."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.bench_presets import DEFAULT as BENCH_FIXTURES
from bench.bench_presets import DOCUMENTS, render
from bench.results import load
from slimmer.cli import cli
from slimmer.errors import UsageError
from slimmer.imagefs import open_image
from slimmer.observation import (
    FileEvent,
    FileEventKind,
    Observation,
    Op,
    PathAccess,
    SocketUse,
)
from slimmer.options import PRESET_NAMES, SelectOptions
from slimmer.selection import select
from slimmer.selection.presets import PRESETS, preset_named
from tests.elf.build import program, shared_lib
from tests.imagefs.crafted import Item, config, directory, docker_archive, file, layer, symlink
from tests.selection.before_presets import select_before_presets

MULTIARCH = "usr/lib/x86_64-linux-gnu"
GCONV = f"/{MULTIARCH}/gconv"
PY = "usr/lib/python3"
NSSWITCH = b"passwd: files ldap\ngroup: files\nhosts: files dns\n"

ITEMS = [
    file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
    file("etc/group", b"root:x:0:\n"),
    directory("tmp", mode=0o1777),
    directory("var/tmp", mode=0o1777),
    symlink("lib", "usr/lib"),
    file("usr/bin/app", b"#!/usr/bin/app-shell\n", mode=0o755),
    file("usr/bin/app-shell", b"not elf", mode=0o755),
    # time zones: zones, their right/ and posix/ copies, the index, posixrules
    symlink("etc/localtime", "/usr/share/zoneinfo/Etc/UTC"),
    file("etc/timezone", b"Etc/UTC\n"),
    file("usr/share/zoneinfo/Etc/UTC", b"TZif-utc"),
    file("usr/share/zoneinfo/Europe/Paris", b"TZif-paris"),
    file("usr/share/zoneinfo/Asia/Tokyo", b"TZif-tokyo"),
    file("usr/share/zoneinfo/posixrules", b"TZif-rules"),
    file("usr/share/zoneinfo/tzdata.zi", b"# zones"),
    file("usr/share/zoneinfo/right/Europe/Paris", b"TZif-right-paris"),
    file("usr/share/zoneinfo/posix/Europe/Paris", b"TZif-posix-paris"),
    # locales, their sources and message catalogs
    file("usr/lib/locale/C.utf8/LC_CTYPE", b"ctype"),
    file("usr/lib/locale/C.utf8/LC_TIME", b"time"),
    file("usr/lib/locale/fr_FR.utf8/LC_CTYPE", b"fr-ctype"),
    file("usr/share/i18n/charmaps/UTF-8.gz", b"charmap"),
    file("usr/share/locale/locale.alias", b"french fr_FR.ISO-8859-1\n"),
    file("usr/share/locale/fr/LC_MESSAGES/app.mo", b"mo"),
    # gconv
    file(f"{GCONV[1:]}/gconv-modules.cache", b"cache"),
    file(f"{GCONV[1:]}/gconv-modules", b"modules"),
    file(f"{GCONV[1:]}/gconv-modules.d/extra.conf", b"extra"),
    file(f"{GCONV[1:]}/UTF-16.so", b"utf16"),
    file(f"{GCONV[1:]}/IBM850.so", b"ibm850"),
    # Python: a package with a subpackage, a plain module, their bytecode
    file(f"{PY}/os.py", b"# os"),
    file(f"{PY}/__pycache__/os.cpython-311.pyc", b"pyc-os"),
    file(f"{PY}/pkg/__init__.py", b""),
    file(f"{PY}/pkg/__pycache__/__init__.cpython-311.pyc", b"pyc-init"),
    file(f"{PY}/pkg/used.py", b"x = 1"),
    file(f"{PY}/pkg/__pycache__/used.cpython-311.pyc", b"pyc-used"),
    file(f"{PY}/pkg/lazy.py", b"y = 2"),
    file(f"{PY}/pkg/__pycache__/lazy.cpython-311.pyc", b"pyc-lazy"),
    file(f"{PY}/pkg/sub/__init__.py", b""),
    file(f"{PY}/pkg/sub/deep.py", b"z = 3"),
    file(f"{PY}/other/__init__.py", b""),
    # CA certificates
    file("etc/ssl/certs/ca-certificates.crt", b"-----BEGIN CERTIFICATE-----"),
    symlink("etc/ssl/certs/4042bcee.0", "/usr/share/ca-certificates/mozilla/ISRG.crt"),
    file("etc/ssl/private/ssl-cert-snakeoil.key", b"key", mode=0o640),
    file("usr/share/ca-certificates/mozilla/ISRG.crt", b"isrg"),
    symlink("usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt"),
    file("usr/lib/ssl/misc/CA.pl", b"#!/usr/bin/perl", mode=0o755),
    file("etc/ca-certificates.conf", b"mozilla/ISRG.crt\n"),
    file(f"{MULTIARCH}/libssl.so.3", b"ssl"),
    # NSS
    file("etc/nsswitch.conf", NSSWITCH),
    file("etc/hosts", b"127.0.0.1 localhost\n"),
    file("etc/services", b"http 80/tcp\n"),
    file(f"{MULTIARCH}/libnss_files.so.2", b"files"),
    file(f"{MULTIARCH}/libnss_ldap.so.2", b"ldap"),
    file(f"{MULTIARCH}/libnss_mdns4.so.2", b"mdns"),
    file(f"{MULTIARCH}/libresolv.so.2", b"resolv"),
    # the loader's configuration
    file("etc/ld.so.cache", b"cache"),
    file("etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n"),
    file("etc/ld.so.conf.d/x86_64-linux-gnu.conf", b"/usr/lib/x86_64-linux-gnu\n"),
    # plugins beside a system library
    file("usr/lib/plugins/alpha.so", b"alpha"),
    file("usr/lib/plugins/beta.so", b"beta"),
    file("usr/lib/plugins/README", b"plugins"),
    file("top.so", b"at the root"),
    file(f"{MULTIARCH}/libfoo.so.1", b"foo"),
    file(f"{MULTIARCH}/libbar.so.1", b"bar"),
    # state and a volume
    file("data/db/a.rdb", b"A"),
    file("data/db/b.rdb", b"B"),
    file("data/db/sub/c", b"C"),
    file("vol/seed", b"seed"),
    file("usr/share/doc/app/README", b"doc"),
    file("usr/share/man/man1/app.1.gz", b"man"),
]


def with_parents(items: list[Item]) -> list[Item]:
    """``items`` with a directory entry before each one's missing parents."""
    seen: set[str] = {i.name for i in items}
    out: list[Item] = []
    for item in items:
        parts = item.name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            parent = "/".join(parts[:depth])
            if parent not in seen:
                seen.add(parent)
                out.append(directory(parent))
        out.append(item)
    return out


def open_crafted(tmp_path: Path, items: list[Item], **config_overrides: object):
    data = layer(with_parents(items))
    base = json.loads(config([data]))
    base["config"].update({"Cmd": ["/usr/bin/app"], "WorkingDir": "/", **config_overrides})
    archive = docker_archive(tmp_path / "image.tar", [data], config_bytes=json.dumps(base).encode())
    return open_image(archive, tmp_path / "work")


def observed(
    *paths: PathAccess, files: tuple[str, ...] = (), sockets: tuple[str, ...] = ()
) -> Observation:
    return Observation(
        arch="x86_64",
        paths=list(paths),
        files=[FileEvent(p, frozenset({FileEventKind.OPEN})) for p in files],
        sockets=[SocketUse(family, "stream") for family in sockets],
    )


def read(*paths: str) -> tuple[PathAccess, ...]:
    return tuple(PathAccess(p, Op.OPEN_READ) for p in paths)


@pytest.fixture
def keeps(tmp_path: Path):
    """keeps(observation, **config) -> {preset name: set of kept paths}, one image per call."""
    calls = iter(range(1000))

    def run(observation: Observation, items=ITEMS, **overrides: object) -> dict[str, set[str]]:
        where = tmp_path / str(next(calls))
        where.mkdir()
        with open_crafted(where, items, **overrides) as fs:
            return {
                name: set(select(fs, observation, SelectOptions(preset=name)).kept)
                for name in PRESET_NAMES
            }

    return run


def test_presets_are_the_option_names_and_an_unknown_one_is_a_usage_error(tmp_path) -> None:
    assert tuple(PRESETS) == PRESET_NAMES
    assert [preset_named(name).name for name in PRESET_NAMES] == list(PRESET_NAMES)
    with pytest.raises(UsageError, match="unknown preset 'tiny'") as raised:
        preset_named("tiny")
    assert "safe, default, lean" in raised.value.hint
    with open_crafted(tmp_path, ITEMS) as fs, pytest.raises(UsageError):
        select(fs, observed(), SelectOptions(preset="tiny"))


# ---- state directories and volumes ---------------------------------------------------------


def test_written_directory_whole_or_only_what_was_touched(keeps) -> None:
    run = observed(
        PathAccess("/data/db/a.rdb", Op.OPEN_READ), PathAccess("/data/db/new", Op.OPEN_CREATE)
    )
    kept = keeps(run)
    for name in ("safe", "default"):
        assert {"/data/db/b.rdb", "/data/db/sub/c"} <= kept[name], name
    assert {"/data/db", "/data/db/a.rdb"} <= kept["lean"]
    assert not {"/data/db/b.rdb", "/data/db/sub", "/data/db/sub/c"} & kept["lean"]


def test_volume_whole_or_the_directory_alone(keeps) -> None:
    kept = keeps(observed(), Volumes={"/vol": {}})
    assert "/vol/seed" in kept["safe"] and "/vol/seed" in kept["default"]
    assert "/vol" in kept["lean"] and "/vol/seed" not in kept["lean"]


# ---- time zones ----------------------------------------------------------------------------

ALL_ZONES = {
    "/usr/share/zoneinfo/Asia/Tokyo",
    "/usr/share/zoneinfo/right/Europe/Paris",
    "/usr/share/zoneinfo/posix/Europe/Paris",
    "/usr/share/zoneinfo/tzdata.zi",
}


def test_zone_read_by_name_keeps_all_zones_or_the_zones_read(keeps) -> None:
    kept = keeps(observed(*read("/usr/share/zoneinfo/Europe/Paris")))
    for name in ("safe", "default"):
        assert kept[name] >= ALL_ZONES, name
    lean = kept["lean"]
    assert {"/usr/share/zoneinfo/Europe/Paris", "/etc/localtime", "/etc/timezone"} <= lean
    assert "/usr/share/zoneinfo/Etc/UTC" in lean  # what /etc/localtime links to
    assert not ALL_ZONES & lean  # no other zone, no right/ or posix/ copy, no index


def test_tz_keeps_all_zones_or_the_zone_it_names(keeps) -> None:
    kept = keeps(observed(), Env=["TZ=:Asia/Tokyo"])
    assert kept["default"] >= ALL_ZONES and kept["safe"] >= ALL_ZONES
    assert {"/usr/share/zoneinfo/Asia/Tokyo", "/usr/share/zoneinfo/Etc/UTC"} <= kept["lean"]
    assert "/usr/share/zoneinfo/Europe/Paris" not in kept["lean"]


def test_tz_posix_string_keeps_posixrules_when_lean(keeps) -> None:
    lean = keeps(observed(), Env=["TZ=CET-1CEST"])["lean"]
    assert "/usr/share/zoneinfo/posixrules" in lean
    assert not ALL_ZONES & lean


def test_localtime_alone_keeps_its_zone_unless_safe(keeps) -> None:
    kept = keeps(observed(*read("/etc/localtime")))
    for name in ("default", "lean"):
        assert "/usr/share/zoneinfo/Etc/UTC" in kept[name]
        assert not ALL_ZONES & kept[name], name
    assert kept["safe"] >= ALL_ZONES


# ---- locales and gconv ---------------------------------------------------------------------


def test_locales_tree_touched_both_trees_or_what_was_read(keeps) -> None:
    kept = keeps(observed(*read("/usr/lib/locale/C.utf8/LC_CTYPE")))
    assert "/usr/lib/locale/fr_FR.utf8/LC_CTYPE" in kept["default"]
    assert "/usr/share/i18n/charmaps/UTF-8.gz" not in kept["default"]
    assert {"/usr/lib/locale/fr_FR.utf8/LC_CTYPE", "/usr/share/i18n/charmaps/UTF-8.gz"} <= kept[
        "safe"
    ]
    assert "/usr/lib/locale/C.utf8/LC_CTYPE" in kept["lean"]
    assert "/usr/lib/locale/C.utf8/LC_TIME" not in kept["lean"]
    for name in PRESET_NAMES:  # message catalogs are kept only when read
        assert "/usr/share/locale/fr/LC_MESSAGES/app.mo" not in kept[name]


def test_locale_alias_alone_keeps_the_locales_only_when_safe(keeps) -> None:
    kept = keeps(observed(*read("/usr/share/locale/locale.alias")))
    assert "/usr/lib/locale/C.utf8/LC_CTYPE" in kept["safe"]
    for name in ("default", "lean"):
        assert "/usr/lib/locale/C.utf8/LC_CTYPE" not in kept[name], name


def test_gconv_configuration_read(keeps) -> None:
    kept = keeps(observed(*read(f"{GCONV}/gconv-modules.cache")))
    configuration = {f"{GCONV}/gconv-modules", f"{GCONV}/gconv-modules.d/extra.conf"}
    assert configuration <= kept["default"]
    assert f"{GCONV}/IBM850.so" not in kept["default"]
    assert f"{GCONV}/IBM850.so" in kept["safe"]
    assert f"{GCONV}/gconv-modules.cache" in kept["lean"]
    assert not configuration & kept["lean"]


def test_gconv_module_loaded(keeps) -> None:
    kept = keeps(observed(*read(f"{GCONV}/gconv-modules.cache"), files=(f"{GCONV}/UTF-16.so",)))
    assert f"{GCONV}/IBM850.so" in kept["default"] and f"{GCONV}/IBM850.so" in kept["safe"]
    assert f"{GCONV}/UTF-16.so" in kept["lean"] and f"{GCONV}/IBM850.so" not in kept["lean"]


# ---- Python --------------------------------------------------------------------------------


def test_python_pairs_and_packages(keeps) -> None:
    kept = keeps(
        observed(
            PathAccess(f"/{PY}/os.py", Op.STAT),
            PathAccess(f"/{PY}/pkg/used.py", Op.STAT),
            *read(f"/{PY}/pkg/__pycache__/used.cpython-311.pyc"),
        )
    )
    os_pyc = f"/{PY}/__pycache__/os.cpython-311.pyc"
    package = {f"/{PY}/pkg/lazy.py", f"/{PY}/pkg/__pycache__/lazy.cpython-311.pyc",
               f"/{PY}/pkg/sub/deep.py", f"/{PY}/pkg/__init__.py"}  # fmt: skip
    assert os_pyc in kept["default"] and os_pyc in kept["safe"]  # the .py's bytecode
    assert os_pyc not in kept["lean"]
    assert {f"/{PY}/pkg/used.py", f"/{PY}/pkg/__pycache__/used.cpython-311.pyc"} <= kept["lean"]
    assert package <= kept["safe"]
    assert not package & kept["default"]
    for name in PRESET_NAMES:  # a package is kept, not its siblings
        assert f"/{PY}/other/__init__.py" not in kept[name]


def test_python_bytecode_read_keeps_its_source_unless_lean(keeps) -> None:
    kept = keeps(
        observed(*read(f"/{PY}/pkg/sub/__init__.py", f"/{PY}/__pycache__/os.cpython-311.pyc"))
    )
    assert f"/{PY}/os.py" in kept["default"] and f"/{PY}/os.py" not in kept["lean"]
    assert f"/{PY}/pkg/lazy.py" in kept["safe"]  # pkg/sub is inside the top-level package pkg


# ---- CA certificates and NSS ---------------------------------------------------------------

CERT_TREES = {
    "/etc/ssl/private/ssl-cert-snakeoil.key",
    "/usr/share/ca-certificates/mozilla/ISRG.crt",
    "/etc/ssl/certs/4042bcee.0",
    "/usr/lib/ssl/misc/CA.pl",
    "/etc/ca-certificates.conf",
}
BUNDLE = {"/etc/ssl/certs/ca-certificates.crt", "/usr/lib/ssl/cert.pem"}


def test_certificates_trees_or_bundles_once_tls_is_used(keeps) -> None:
    kept = keeps(observed(*read(f"/{MULTIARCH}/libssl.so.3")))
    for name in ("safe", "default"):
        assert kept[name] >= CERT_TREES | BUNDLE, name
    assert kept["lean"] >= BUNDLE
    assert not CERT_TREES & kept["lean"]


def test_a_network_socket_keeps_certificates_and_nss_only_when_safe(keeps) -> None:
    kept = keeps(observed(sockets=("inet6",)))
    assert kept["safe"] >= CERT_TREES
    assert {"/etc/nsswitch.conf", f"/{MULTIARCH}/libnss_mdns4.so.2"} <= kept["safe"]
    for name in ("default", "lean"):
        assert not (CERT_TREES | BUNDLE) & kept[name], name
        assert "/etc/nsswitch.conf" not in kept[name], name
    assert "/etc/nsswitch.conf" not in keeps(observed(sockets=("unix",)))["safe"]


def test_nss_modules_named_all_or_used(keeps) -> None:
    kept = keeps(observed(*read("/etc/nsswitch.conf")))
    named = {f"/{MULTIARCH}/libnss_files.so.2", f"/{MULTIARCH}/libnss_ldap.so.2",
             f"/{MULTIARCH}/libresolv.so.2", "/etc/hosts", "/etc/services"}  # fmt: skip
    mdns = f"/{MULTIARCH}/libnss_mdns4.so.2"
    assert named <= kept["default"] and mdns not in kept["default"]
    assert named | {mdns} <= kept["safe"]
    assert "/etc/nsswitch.conf" in kept["lean"]
    assert not (named | {mdns}) & kept["lean"]


# ---- the loader's configuration and plugins ------------------------------------------------


@pytest.fixture(scope="module")
def elf_items(tmp_path_factory) -> list[Item]:
    """ITEMS with a real program needing a real library: the ELF closure finds something."""
    where = tmp_path_factory.mktemp("elf")
    lib = shared_lib(where / "libreal.so.1", "libreal.so.1")
    binary = program(where / "real", [lib], "-nostdlib", "-e", "main")
    return [
        *ITEMS,
        file("usr/bin/real", binary.read_bytes(), mode=0o755),
        file("usr/lib/libreal.so.1", lib.read_bytes(), mode=0o755),
    ]


def test_loader_configuration_whole_or_the_cache(keeps, elf_items) -> None:
    kept = keeps(observed(PathAccess("/usr/bin/real", Op.EXEC)), items=elf_items)
    configuration = {"/etc/ld.so.conf", "/etc/ld.so.conf.d/x86_64-linux-gnu.conf"}
    for name in ("safe", "default"):
        assert configuration | {"/etc/ld.so.cache"} <= kept[name], name
    assert "/etc/ld.so.cache" in kept["lean"]
    assert not configuration & kept["lean"]


def test_plugin_directory_whole_only_when_safe(keeps) -> None:
    kept = keeps(
        observed(*read(f"/{MULTIARCH}/libfoo.so.1", "/top.so"), files=("/lib/plugins/alpha.so",))
    )
    for name in PRESET_NAMES:
        assert {"/usr/lib/plugins/alpha.so", f"/{MULTIARCH}/libfoo.so.1"} <= kept[name], name
        assert f"/{MULTIARCH}/libbar.so.1" not in kept[name]  # a system library directory
    assert {"/usr/lib/plugins/beta.so", "/usr/lib/plugins/README"} <= kept["safe"]
    assert "/top.so" in kept["safe"] and "/vol/seed" not in kept["safe"]  # never "/" whole
    assert "/usr/lib/plugins/beta.so" not in kept["default"]
    assert "/usr/lib/plugins/beta.so" not in kept["lean"]


# ---- all rules at once ---------------------------------------------------------------------

EVERYTHING = observed(
    *read(
        "/etc/localtime", "/usr/share/zoneinfo/Europe/Paris", "/usr/lib/locale/C.utf8/LC_CTYPE",
        f"{GCONV}/gconv-modules.cache", f"/{PY}/pkg/__pycache__/used.cpython-311.pyc",
        f"/{MULTIARCH}/libssl.so.3", "/etc/nsswitch.conf", "/lib/plugins/alpha.so",
        "/data/db/a.rdb",
    ),
    PathAccess(f"/{PY}/pkg/used.py", Op.STAT),
    PathAccess("/data/db/tmp", Op.OPEN_CREATE),
    files=(f"{GCONV}/UTF-16.so",),
    sockets=("inet",),
)  # fmt: skip


SOME = observed(
    *read("/etc/localtime", f"{GCONV}/gconv-modules.cache", "/usr/share/locale/locale.alias"),
    PathAccess(f"/{PY}/os.py", Op.STAT),
    PathAccess("/usr/bin/real", Op.EXEC),
    sockets=("inet",),
)


@pytest.mark.parametrize("env", [[], ["TZ=Asia/Tokyo"]], ids=["no-tz", "tz"])
@pytest.mark.parametrize(
    "observation", [observed(), EVERYTHING, SOME], ids=["nothing", "everything", "some"]
)
def test_default_is_the_selection_before_presets(
    tmp_path: Path, elf_items, observation, env
) -> None:
    options = SelectOptions(include_paths=["/usr/share/doc"], excludes=["/usr/share/doc/app"])
    with open_crafted(tmp_path, elf_items, Env=env, Volumes={"/vol": {}}) as fs:
        now = select(fs, observation, options)
        before = select_before_presets(fs, observation, options)
    assert now.kept == before.kept  # paths and reasons
    assert now.warnings == before.warnings


def test_each_preset_keeps_within_the_next(keeps) -> None:
    kept = keeps(EVERYTHING, Volumes={"/vol": {}})
    assert kept["lean"] < kept["default"] < kept["safe"]


def test_includes_and_excludes_apply_on_top_of_any_preset(tmp_path: Path) -> None:
    options = SelectOptions(
        include_paths=["/usr/share/doc"], excludes=["/usr/share/zoneinfo/right", "/data/db/a.rdb"]
    )
    with open_crafted(tmp_path, ITEMS) as fs:
        for name in PRESET_NAMES:
            kept = select(fs, EVERYTHING, replace(options, preset=name)).kept
            readme = str(kept["/usr/share/doc/app/README"])
            assert readme == "include: --include-path /usr/share/doc"
            assert "/usr/share/zoneinfo/right/Europe/Paris" not in kept, name
            assert "/data/db/a.rdb" not in kept, name
            assert "/usr/share/man/man1/app.1.gz" not in kept, name  # never read, never kept


def test_build_passes_the_preset_to_the_selection(monkeypatch) -> None:
    seen = []

    def fake_build(options):
        seen.append(options.select)
        raise SystemExit(0)

    monkeypatch.setattr("slimmer.pipeline.run_build", fake_build)
    for args, want in (([], "default"), (["--preset", "lean"], "lean")):
        result = CliRunner().invoke(cli, ["build", "img:1", *args])
        assert result.exit_code == 0, result.output
        assert seen[-1].preset == want
    result = CliRunner().invoke(cli, ["build", "img:1", "--preset", "tiny"])
    assert result.exit_code == 2
    assert "'tiny' is not one of 'safe', 'default', 'lean'" in result.output


# ---- the measured sizes in the documents ---------------------------------------------------


def test_documented_sizes_are_the_measured_ones_and_every_build_passed() -> None:
    figures = load("presets")
    for path in DOCUMENTS:
        text = path.read_text()
        assert render(text, figures) == text, (
            f"{path.name}'s preset sizes differ from bench/out/presets.json: "
            "run python bench/bench_presets.py --docs"
        )
    assert {row["name"] for row in figures["rows"]} == set(BENCH_FIXTURES)
    for row in figures["rows"]:
        size = {name: row["presets"][name]["slim_bytes"] for name in PRESET_NAMES}
        assert size["lean"] <= size["default"] <= size["safe"], row["name"]
        for name in PRESET_NAMES:
            runs = row["presets"][name]["verification"]
            assert runs == {"slim image": "passed", "slim image under seccomp.json": "passed"}
