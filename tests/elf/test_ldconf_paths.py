from __future__ import annotations

from slimmer.elf.closure import env_value
from slimmer.elf.ldconf import ld_so_conf_dirs
from slimmer.elf.musl import is_musl_libc_name
from slimmer.elf.paths import expand_glibc, expand_musl, in_dir, split_glibc, split_musl
from tests.elf.memfs import MemFs


def test_ld_so_conf_follows_includes_in_order():
    fs = (MemFs()
          .file("/etc/ld.so.conf", b"# comment\ninclude /etc/ld.so.conf.d/*.conf\n/opt/last\n")
          .file("/etc/ld.so.conf.d/b.conf", b"/opt/b1 /opt/b2\t# trailing\n/opt/a1\n")
          .file("/etc/ld.so.conf.d/a.conf", b"/opt/a1/\nhwcap 0 nosegneg\ninclude more/x.conf\n")
          .file("/etc/ld.so.conf.d/more/x.conf", b"/opt/x,/opt/y:/opt/z\n")
          .file("/etc/ld.so.conf.d/.hidden.conf", b"/opt/hidden\n")
          .file("/etc/ld.so.conf.d/c.txt", b"/opt/ignored\n"))
    assert ld_so_conf_dirs(fs) == [
        "/opt/a1", "/opt/x", "/opt/y", "/opt/z", "/opt/b1", "/opt/b2", "/opt/last"]


def test_ld_so_conf_include_loops_and_missing_files_end():
    fs = (MemFs()
          .file("/etc/ld.so.conf", b"include /etc/ld.so.conf\ninclude /etc/nothere/*\n/opt/one\n")
          .symlink("/etc/ld.so.conf.d", "/etc/ld.so.conf.d"))
    assert ld_so_conf_dirs(fs) == ["/opt/one"]
    assert ld_so_conf_dirs(MemFs()) == []


def test_ld_so_conf_globs_through_image_symlinks_only():
    fs = (MemFs()
          .file("/etc/ld.so.conf", b"include /etc/conf.d/*.conf\n")
          .symlink("/etc/conf.d", "/../../real.d")
          .file("/real.d/one.conf", b"/opt/from-link\n"))
    assert ld_so_conf_dirs(fs) == ["/opt/from-link"]


def test_glibc_tokens():
    lib = ("lib/x86_64-linux-gnu", "lib64")
    assert expand_glibc("$ORIGIN/../lib", "/opt/app/bin", lib, ("x86_64",)) == [
        "/opt/app/bin/../lib"]
    assert expand_glibc("${ORIGIN}/x:$LIB", "/o", lib, ("x86_64",)) == [
        "/o/x:lib/x86_64-linux-gnu", "/o/x:lib64"]
    assert expand_glibc("/opt/$PLATFORM/$LIB", "/", ("lib",), ("i686", "i586")) == [
        "/opt/i686/lib", "/opt/i586/lib"]
    assert expand_glibc("/opt/$ORIGINAL/$UNKNOWN", "/o", lib, ()) == ["/opt/$ORIGINAL/$UNKNOWN"]


def test_musl_tokens_only_origin():
    assert expand_musl("$ORIGIN/../lib:${ORIGIN}", "/app") == "/app/../lib:/app"
    assert expand_musl("$ORIGIN/$LIB", "/app") is None


def test_search_lists():
    assert split_glibc("/a:;/b") == ["/a", "", "/b"]
    assert split_musl("/a::/b\n/c\n") == ["/a", "/b", "/c"]
    assert in_dir("", "libx.so", "/work") == "/work/libx.so"
    assert in_dir("/", "libx.so", "/") == "/libx.so"
    assert in_dir("rel//dir/", "libx.so", "/w") == "/w/rel/dir/libx.so"


def test_env_value_last_wins():
    env = ["PATH=/bin", "LD_LIBRARY_PATH=/one", "LD_LIBRARY_PATH=/two", "NOEQUALS"]
    assert env_value(env, "LD_LIBRARY_PATH") == "/two"
    assert env_value(env, "HOME") is None


def test_musl_treats_its_own_names_as_itself():
    for name in ("libc.so", "libc.musl-x86_64.so.1", "libpthread.so.0", "libm.so.6",
                 "libdl.so.2", "librt.so.1", "libutil.so", "libxnet.so"):
        assert is_musl_libc_name(name), name
    for name in ("libcrypto.so.3", "libz.so.1", "libmusl.so", "ld-musl-x86_64.so.1", "libc"):
        assert not is_musl_libc_name(name), name
