"""What an SBOM describes: an image (the slim one or any), its OS, its packages with the files
of each that the image holds, and those files' hashes. Built once, rendered in each format."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from slimmer import __version__
from slimmer.imagefs.model import EntryType
from slimmer.inventory import Inventory, OsInfo, Package
from slimmer.inventory.trim import package_files

CHUNK = 1 << 20
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class FileHashes:
    sha1: str
    sha256: str


@dataclass(frozen=True)
class PackageEntry:
    package: Package
    files: tuple[str, ...]  # the package's regular files the image holds, sorted


@dataclass(frozen=True)
class Subject:
    """``name``/``version``: the image's repository and tag; ``source_digest`` the image it
    was made from (the image itself for ``slimmer sbom``); ``created`` the image's creation
    time (so equal inputs give equal documents: no clock, no random ids)."""

    name: str
    version: str
    source_digest: str
    platform: str
    created: datetime.datetime
    os: OsInfo | None
    packages: tuple[PackageEntry, ...]
    hashes: Mapping[str, FileHashes]

    @property
    def tool(self) -> str:
        return f"slimmer-{__version__}"

    def identity(self) -> uuid.UUID:
        """A UUID that is a function of everything the documents say."""
        summary = {
            "name": self.name,
            "version": self.version,
            "source": self.source_digest,
            "tool": self.tool,
            "packages": [[e.package.purl, e.package.source, list(e.files)] for e in self.packages],
            "hashes": sorted((p, h.sha256) for p, h in self.hashes.items()),
        }
        digest = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
        return uuid.uuid5(uuid.NAMESPACE_URL, f"slimmer:sbom:{digest}")


def make_subject(
    fs,
    inventory: Inventory,
    ref: str,
    source_digest: str,
    kept: Collection[str] | None = None,
    tagged: bool = True,
) -> Subject:
    """The subject for the image ``fs`` (``kept`` None: every package of the inventory) or for
    the subset ``kept`` of it (the slim image: the packages keeping at least one path, as its
    trimmed database does), with their regular files and those files' hashes. ``ref`` names
    the image ("repo:tag", or with ``tagged`` off a name that has no tag: a file's)."""
    entries = []
    for package in inventory.packages:
        present = package_files(fs, package)  # what the image holds, directories aside
        if kept is not None:
            present = [p for p in present if p in kept]
            if not present:
                continue  # the slim image carries none of it: not in its SBOM
        files = sorted(p for p in set(present) if _is_regular(fs, p))
        entries.append(PackageEntry(package, tuple(files)))
    hashes = file_hashes(fs, {p for e in entries for p in e.files})
    name, version = split_name(ref) if tagged else (ref, "")
    return Subject(
        name=name,
        version=version,
        source_digest=source_digest,
        platform=str(fs.platform),
        created=created_time(fs.config),
        os=inventory.os,
        packages=tuple(entries),
        hashes=hashes,
    )


def _is_regular(fs, path: str) -> bool:
    entry = fs.lookup(path)
    return entry is not None and entry.type in (EntryType.FILE, EntryType.HARDLINK)


def file_hashes(fs, paths: Collection[str]) -> dict[str, FileHashes]:
    """SHA-1 (SPDX requires it) and SHA-256 of each file's content, read from the layers."""
    found = {}
    for path in sorted(paths):
        sha1, sha256 = hashlib.sha1(), hashlib.sha256()
        with fs.open(fs.lookup(path)) as handle:
            while chunk := handle.read(CHUNK):
                sha1.update(chunk)
                sha256.update(chunk)
        found[path] = FileHashes(sha1.hexdigest(), sha256.hexdigest())
    return found


def split_name(ref: str) -> tuple[str, str]:
    """("repo", "tag") of a reference; a digest or id stays whole as the name."""
    if ref.startswith("sha256:") or "@" in ref:
        return ref, ""
    head, _, last = ref.rpartition("/")
    if ":" in last:
        base, _, tag = last.partition(":")
        return (f"{head}/{base}" if head else base), tag
    return ref, "latest"


def created_time(config: Mapping) -> datetime.datetime:
    """The image's creation time (nanoseconds cut to microseconds), UTC; the epoch if none."""
    text = str(config.get("created") or "").replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return EPOCH
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).replace(microsecond=0)
