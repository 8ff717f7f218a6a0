"""The package database of a subset of an image (the slim image's kept paths): only the
packages that keep at least one file, their file lists and checksums cut to the kept files.

``plan_database(inventory, kept) -> DatabasePlan`` says which packages stay (whole or partial)
and which database paths the subset needs; ``trimmed_contents(fs, inventory, plan, kept)``
writes those files' new contents. dpkg (``status`` or ``status.d/``, ``info/*.list`` and
``*.md5sums``, Conffiles) and apk (``installed``) are trimmed; an rpm database is not carried
(its header blobs would need rewriting), which the plan says in ``notes``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from slimmer.imagefs.model import EntryType
from slimmer.inventory.apk import INSTALLED, stanzas
from slimmer.inventory.dpkg import (
    INFO,
    STATUS,
    STATUS_D,
    installed,
    md5sums_path,
    paragraphs,
)
from slimmer.inventory.files import DATABASE_LIMIT, Reader
from slimmer.inventory.model import Inventory, Package

TRIMMED = ("deb", "apk")
DPKG_FORMAT = f"{INFO}/format"


@dataclass(frozen=True)
class KeptPackage:
    package: Package
    kept_files: tuple[str, ...]  # the package's non-directory paths that are kept
    removed_files: int

    @property
    def state(self) -> str:
        return "whole" if not self.removed_files else "partial"


@dataclass
class DatabasePlan:
    kept: list[KeptPackage]
    removed: list[Package]  # packages none of whose files are kept
    paths: list[str]  # database files the subset carries (to keep, with new contents)
    notes: list[str] = field(default_factory=list)


def package_files(fs, package: Package) -> list[str]:
    """The package's paths that the image holds as something other than a directory (or a
    symlink to one: merged /usr turns the /lib a package lists as a directory into a link)."""
    found = []
    for path in package.files:
        entry = fs.lookup(path)
        if entry is None or entry.type is EntryType.DIR:
            continue
        if entry.type is EntryType.SYMLINK:
            target = fs.resolve(path).entry
            if target is not None and target.type is EntryType.DIR:
                continue
        found.append(path)
    return found


def plan_database(fs, inventory: Inventory, kept: Collection[str]) -> DatabasePlan:
    """Which packages the subset ``kept`` still carries and the database files it needs."""
    plan = DatabasePlan([], [], [])
    for package in inventory.packages:
        present = package_files(fs, package)
        still = tuple(p for p in present if p in kept)
        if still:
            plan.kept.append(KeptPackage(package, still, len(present) - len(still)))
        else:
            plan.removed.append(package)
    carried = [k.package for k in plan.kept if k.package.ecosystem in TRIMMED]
    if any(p.ecosystem == "deb" and p.source == STATUS for p in carried):
        plan.paths.append(STATUS)
        if fs.lookup(DPKG_FORMAT) is not None:
            plan.paths.append(DPKG_FORMAT)
    for package in carried:
        if package.ecosystem == "apk" and INSTALLED not in plan.paths:
            plan.paths.append(INSTALLED)
        plan.paths += [r for r in package.records if _carried_record(r)]
    if any(k.package.ecosystem == "rpm" for k in plan.kept):
        plan.notes.append("the rpm database is not carried into the slim image (not trimmed)")
    plan.paths = [p for p in dict.fromkeys(plan.paths) if fs.lookup(p) is not None]
    return plan


def _carried_record(path: str) -> bool:
    if path.startswith(STATUS_D + "/"):
        return True
    return path.endswith((".list", ".md5sums"))


def trimmed_contents(
    fs, inventory: Inventory, plan: DatabasePlan, kept: Collection[str]
) -> dict[str, bytes]:
    """The new content of every database file of the plan (format files unchanged)."""
    reader = Reader(fs)
    contents: dict[str, bytes] = {}
    keys = {(k.package.name, k.package.arch) for k in plan.kept if k.package.ecosystem == "deb"}
    apk_names = {k.package.name for k in plan.kept if k.package.ecosystem == "apk"}
    for path in plan.paths:
        data = reader.read(path, DATABASE_LIMIT)
        if data is None:
            continue
        status_d = path.startswith(STATUS_D + "/") and not path.endswith(".md5sums")
        if path == STATUS or status_d:
            contents[path] = _dpkg_status(data, keys, kept, reader)
        elif path == INSTALLED:
            contents[path] = _apk_installed(data, apk_names, kept, reader)
        elif path.endswith(".list"):
            contents[path] = _lines(data, kept, reader, lambda line: line)
        elif path.endswith(".md5sums"):
            contents[path] = _lines(data, kept, reader, md5sums_path)
        else:
            contents[path] = data
    return contents


def _dpkg_status(
    data: bytes, keys: set[tuple[str, str]], kept: Collection[str], reader: Reader
) -> bytes:
    """The stanzas of kept packages, their Conffiles cut to the kept ones, bytes otherwise as
    they were."""
    out = []
    for stanza in paragraphs(data):
        key = (stanza.get("Package", ""), stanza.get("Architecture", ""))
        if key not in keys or not installed(stanza):
            continue
        if "Conffiles" in stanza:
            lines = [
                line
                for line in stanza["Conffiles"].splitlines()
                if line.strip() and reader.canonical(line.split()[0]) in kept
            ]
            if lines:
                stanza["Conffiles"] = "\n" + "\n".join(lines)
            else:
                del stanza["Conffiles"]
        out.append(stanza.dump().encode("utf-8"))
    return b"\n".join(out)


def _lines(data: bytes, kept: Collection[str], reader: Reader, path_of) -> bytes:
    """The lines of a list or md5sums file whose path the subset keeps ("/." always)."""
    out = []
    for line in data.decode("utf-8", errors="surrogateescape").splitlines():
        path = path_of(line)
        if line == "/." or (path and reader.canonical(path) in kept):
            out.append(line + "\n")
    return "".join(out).encode("utf-8", errors="surrogateescape")


def _apk_installed(data: bytes, names: set[str], kept: Collection[str], reader: Reader) -> bytes:
    """Stanzas of kept packages; their R: lines (with the Z:/a: lines after them) and F:
    lines (with M:) cut to kept paths."""
    out = []
    for stanza in stanzas(data.decode("utf-8", errors="surrogateescape")):
        if dict(stanza).get("P") not in names:
            continue
        lines: list[str] = []
        keeping, directory = True, ""
        for key, value in stanza:
            if key == "F":
                directory = value.strip("/")
                keeping = reader.canonical("/" + directory) in kept
            elif key == "R":
                keeping = reader.canonical(f"/{directory}/{value}".replace("//", "/")) in kept
            elif key not in "ZaM":
                keeping = True
            if keeping:
                lines.append(f"{key}:{value}\n")
        out.append("".join(lines))
    return "\n".join(out).encode("utf-8", errors="surrogateescape")
