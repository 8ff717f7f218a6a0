"""Crafted images with package databases and manifests of every kind the inventory reads.

Contents follow the real formats (dpkg status and info lists, distroless status.d, apk
installed, dist-info RECORD, package.json, gemspec, jar manifests); tests/inventory also checks
the real tools (dpkg-query, rpm) against real databases.
"""

from __future__ import annotations

import io
import zipfile

from tests.imagefs.crafted import directory, file, layer, symlink

DPKG_STATUS = b"""\
Package: libfoo1
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: foo (1.0-1)
Version: 1.0-1+b1
Conffiles:
 /etc/foo.conf 0123456789abcdef0123456789abcdef
Description: foo library

Package: foo-tools
Status: install ok installed
Architecture: all
Version: 2:3.4-5
Description: foo tools

Package: purged
Status: deinstall ok config-files
Architecture: amd64
Version: 0.1
Description: only its config is left

Status: install ok installed
Version: 9
Description: a stanza without a name
"""

FOO_LIST = (
    b"/.\n/etc\n/etc/foo.conf\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libfoo.so.1\n"
)
FOO_MD5 = b"0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libfoo.so.1\n"
TOOLS_LIST = b"/.\n/usr\n/usr/bin\n/usr/bin/foo\n/usr/share/doc/foo-tools/copyright\n"
DEP5 = b"""\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: foo

Files: *
Copyright: someone
License: GPL-2+
 long text

Files: contrib/*
Copyright: other
License: MIT

License: GPL-2+
 the text of the license
"""

APK_INSTALLED = b"""\
C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
L:MIT
o:musl
F:lib
R:ld-musl-x86_64.so.1
Z:Q1xyz=
R:libc.musl-x86_64.so.1

P:busybox
V:1.36.1-r5
A:x86_64
L:GPL-2.0-only
o:busybox
F:bin
R:busybox
F:etc
R:securetty

V:1
P:
"""

DISTROLESS_STATUS = b"""\
Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5
"""

METADATA = b"""\
Metadata-Version: 2.1
Name: Requests_Toolbelt
Version: 1.0.0
License: Apache 2.0
Classifier: License :: OSI Approved :: Apache Software License

long description
"""
RECORD = (
    b"requests_toolbelt/__init__.py,sha256=abc,100\n"
    b"requests_toolbelt-1.0.0.dist-info/METADATA,,\n"
    b"../../../bin/toolbelt,,\n"
)
PKG_INFO = (
    b"Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n"
    b"Classifier: License :: OSI Approved :: MIT License\n"
)
GEMSPEC = b"""\
# -*- encoding: utf-8 -*-
Gem::Specification.new do |s|
  s.name = "rake".freeze
  s.version = "13.0.6"
  s.licenses = ["MIT".freeze]
end
"""


def jar(manifest: str, poms: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", manifest)
        for name, text in poms.items():
            archive.writestr(name, text)
        archive.writestr("org/example/Main.class", b"\xca\xfe\xba\xbe")
    return buffer.getvalue()


JAR = jar(
    "Manifest-Version: 1.0\r\nImplementation-Title: commons-lang3\r\n"
    "Implementation-Version: 3.12.0\r\nBundle-License: https://www.apache.org/licenses/LICENSE-2.0"
    ".txt\r\n\r\nName: section\r\nImplementation-Version: wrong\r\n",
    {
        "META-INF/maven/org.apache.commons/commons-lang3/pom.properties": (
            "#Generated\ngroupId=org.apache.commons\nartifactId=commons-lang3\nversion=3.12.0\n"
        )
    },
)
MANIFEST_ONLY_JAR = jar(
    "Manifest-Version: 1.0\nImplementation-Title: tool\nImplementation-Vendor-Id: com.example\n"
    "Implementation-Version: 0.9\n",
    {},
)

SITE = "usr/local/lib/python3.11/site-packages"

DEBIAN = layer(
    [
        directory("etc/"),
        symlink("etc/os-release", "../usr/lib/os-release"),
        file("etc/debian_version", b"12.5\n"),
        file("etc/foo.conf", b"conf"),
        symlink("lib", "usr/lib"),
        directory("usr/"),
        directory("usr/bin/"),
        file("usr/bin/foo", b"\x7fELF"),
        directory("usr/lib/"),
        file(
            "usr/lib/os-release",
            b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
            b"VERSION_CODENAME=bookworm\nbroken line\nQUOTE='unterminated\n",
        ),
        directory("usr/lib/x86_64-linux-gnu/"),
        file("usr/lib/x86_64-linux-gnu/libfoo.so.1", b"\x7fELF"),
        file("usr/share/doc/foo-tools/copyright", DEP5),
        directory("var/lib/dpkg/info/"),
        file("var/lib/dpkg/status", DPKG_STATUS),
        file("var/lib/dpkg/info/format", b"1\n"),
        file("var/lib/dpkg/info/libfoo1:amd64.list", FOO_LIST),
        file("var/lib/dpkg/info/libfoo1:amd64.md5sums", FOO_MD5),
        file("var/lib/dpkg/info/libfoo1:amd64.postinst", b"#!/bin/sh\n"),
        file("var/lib/dpkg/info/foo-tools.list", TOOLS_LIST),
        file("var/lib/dpkg/info/foo-tools.md5sums", b"not a md5 line\n"),
        file(f"{SITE}/requests_toolbelt/__init__.py", b""),
        file(f"{SITE}/requests_toolbelt-1.0.0.dist-info/METADATA", METADATA),
        file(f"{SITE}/requests_toolbelt-1.0.0.dist-info/RECORD", RECORD),
        file("usr/local/bin/toolbelt", b"#!/usr/bin/python3\n"),
        file("usr/lib/python3/dist-packages/six-1.16.0.egg-info", PKG_INFO),
        file("usr/lib/python3/dist-packages/broken.dist-info/METADATA", b"Name: broken\n"),
    ]
)

APPS = layer(
    [
        file(
            "app/node_modules/left-pad/package.json",
            b'{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}',
        ),
        file("app/node_modules/left-pad/index.js", b""),
        file(
            "app/node_modules/left-pad/node_modules/inner/package.json",
            b'{"name": "inner", "version": "0.0.1", "licenses": [{"type": "MIT"}]}',
        ),
        file(
            "app/node_modules/@babel/core/package.json",
            b'{"name": "@babel/core", "version": "7.24.0", "license": {"type": "MIT"}}',
        ),
        file("app/node_modules/bad/package.json", b'{"name": '),
        file("app/node_modules/array/package.json", b"[1, 2]"),
        file("usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec", GEMSPEC),
        file("usr/lib/ruby/gems/3.1.0/gems/rake-13.0.6/lib/rake.rb", b""),
        file("opt/app/lib/commons-lang3-3.12.0.jar", JAR),
        file("opt/app/lib/tool.jar", MANIFEST_ONLY_JAR),
        file("opt/app/lib/broken.jar", b"PK\x03\x04 not really a zip archive at all"),
    ]
)

ALPINE = layer(
    [
        file("etc/alpine-release", b"3.19.1\n"),
        file("lib/apk/db/installed", APK_INSTALLED),
        file("lib/ld-musl-x86_64.so.1", b"\x7fELF"),
        file("bin/busybox", b"\x7fELF"),
    ]
)

DISTROLESS = layer(
    [
        file("etc/os-release", b'ID=debian\nVERSION_ID=12\nPRETTY_NAME="Distroless"\n'),
        file("var/lib/dpkg/status.d/base-files", DISTROLESS_STATUS),
        file(
            "var/lib/dpkg/status.d/base-files.md5sums",
            b"0123456789abcdef0123456789abcdef  etc/issue\n",
        ),
        file("etc/issue", b"Debian\n"),
    ]
)
