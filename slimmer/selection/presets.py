"""Size presets: how far the selection rules widen what the run used.

A preset is data. Every rule in ``rules.py`` takes its choice from the ``Preset`` it is given, so
a preset never changes which rules run, only how much each keeps. ``default`` is what slimmer
always kept; ``safe`` keeps more where a rule guesses from one run what another run may need;
``lean`` keeps only what the run used where a rule would widen it. Each preset keeps a subset of
the next one's paths (lean within default within safe); ``--include-*`` and ``--exclude`` apply
on top of any. docs/presets.md says what each choice keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from slimmer.errors import UsageError
from slimmer.options import PRESET_NAMES

Extent = Literal["whole", "touched"]


@dataclass(frozen=True)
class Preset:
    name: str
    # a directory the run wrote into: its whole original contents, or itself (what the run
    # touched in it is kept by the trace)
    state_dirs: Extent
    # a VOLUME directory of the image: its whole original contents (they seed a new volume), or
    # itself
    volumes: Extent
    # when all of /usr/share/zoneinfo (right/ and posix/ included) is kept: "named" when TZ is
    # set or a zone was read by name, "used" also when only /etc/localtime was read, None never
    # (then: the zones read, TZ's zone and /etc/localtime with what it links to)
    zoneinfo_whole: Literal["named", "used"] | None
    # locales (/usr/lib/locale, /usr/share/i18n): "read" what the run read; "touched" each
    # tree whole once the run touched something in it; "all" both trees whole once the run
    # touched any locale data (/usr/share/locale's alias file and message catalogs included)
    locales: Literal["read", "touched", "all"]
    # gconv: "read" what the run read; "loaded" the configuration when read and every module
    # once one was loaded; "used" the whole directory once anything in it was touched
    gconv: Literal["read", "loaded", "used"]
    # a kept .pyc keeps its .py and a kept .py its __pycache__ .pyc files
    python_pairs: bool
    # a kept Python module keeps its whole top-level package directory
    python_packages: bool
    # CA certificates once TLS is used: "trees" the certificate directories whole, "bundles"
    # only the bundle files (and what they link to)
    certificates: Literal["trees", "bundles"]
    # NSS modules once NSS is used: "used" only those the run loaded, "named" those
    # nsswitch.conf names (plus files and dns) with the NSS files and libresolv, "all" every
    # libnss_* module with them
    nss_modules: Literal["used", "named", "all"]
    # an IPv4/IPv6 socket counts as using TLS and NSS (a later run may resolve or verify)
    network_implies_tls_and_nss: bool
    # the dynamic loader's files kept for any dynamically linked program (directories whole)
    loader_files: tuple[str, ...]
    # a shared object loaded from outside the system library directories keeps its whole
    # directory (plugins: Python's lib-dynload, PostgreSQL's lib/, a JVM's lib/, sasl2/...)
    plugin_dirs: bool


LOADER_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d")

# keeps more where a rule guesses from one run what another run may need
SAFE = Preset(
    name="safe",
    state_dirs="whole",
    volumes="whole",
    zoneinfo_whole="used",
    locales="all",
    gconv="used",
    python_pairs=True,
    python_packages=True,
    certificates="trees",
    nss_modules="all",
    network_implies_tls_and_nss=True,
    loader_files=LOADER_FILES,
    plugin_dirs=True,
)
# what slimmer keeps without --preset (and kept before presets existed)
DEFAULT = Preset(
    name="default",
    state_dirs="whole",
    volumes="whole",
    zoneinfo_whole="named",
    locales="touched",
    gconv="loaded",
    python_pairs=True,
    python_packages=False,
    certificates="trees",
    nss_modules="named",
    network_implies_tls_and_nss=False,
    loader_files=LOADER_FILES,
    plugin_dirs=False,
)
# keeps only what the run used where a rule would widen it
LEAN = Preset(
    name="lean",
    state_dirs="touched",
    volumes="touched",
    zoneinfo_whole=None,
    locales="read",
    gconv="read",
    python_pairs=False,
    python_packages=False,
    certificates="bundles",
    nss_modules="used",
    network_implies_tls_and_nss=False,
    loader_files=("/etc/ld.so.cache",),
    plugin_dirs=False,
)
PRESETS: dict[str, Preset] = {preset.name: preset for preset in (SAFE, DEFAULT, LEAN)}


def preset_named(name: str) -> Preset:
    """The preset called ``name`` (one of ``PRESET_NAMES``)."""
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}", f"use one of {', '.join(PRESET_NAMES)}")
    return PRESETS[name]
