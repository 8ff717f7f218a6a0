"""The package inventory's data model: the OS identity, packages and who owns which path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ECOSYSTEMS = ("deb", "apk", "rpm", "pypi", "npm", "gem", "maven")
OS_ECOSYSTEMS = ("deb", "apk", "rpm")


@dataclass(frozen=True)
class OsInfo:
    """The distribution the image says it is, and the files that say it."""

    id: str
    version_id: str
    pretty_name: str
    files: tuple[str, ...]
    version_codename: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version_id": self.version_id,
            "pretty_name": self.pretty_name,
            "version_codename": self.version_codename,
            "files": list(self.files),
        }


@dataclass(frozen=True)
class Package:
    """One installed package.

    ``files`` are the image paths it owns as the image resolves them (a dpkg list's
    "/lib/x86_64-linux-gnu/libc.so.6" is "/usr/lib/x86_64-linux-gnu/libc.so.6" in a merged-/usr
    image), directories included, in database order. ``source`` is the database or manifest it
    was read from; ``records`` are the package's own database files (dpkg ``info/NAME.*``,
    distroless ``status.d/NAME*``), which the package database of a slim image carries.
    """

    ecosystem: str  # "deb" | "apk" | "rpm" | "pypi" | "npm" | "gem" | "maven"
    name: str
    version: str
    arch: str  # "" where the ecosystem has none
    licenses: tuple[str, ...]
    purl: str
    files: tuple[str, ...]
    source: str
    records: tuple[str, ...] = ()
    source_package: str = ""  # the source package (deb Source:, rpm SOURCERPM, apk o:)

    @property
    def key(self) -> str:
        """Unique within an inventory: ecosystem, name, arch and the record it came from."""
        return f"{self.ecosystem}:{self.name}:{self.arch}:{self.source}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ecosystem": self.ecosystem,
            "name": self.name,
            "version": self.version,
            "arch": self.arch,
            "licenses": list(self.licenses),
            "purl": self.purl,
            "source": self.source,
            "files": len(self.files),
        }


@dataclass
class Inventory:
    """Everything the image's package databases and manifests say. ``owner(path)`` answers
    with the OS package owning a path first, then a language package; ``databases`` are the
    image paths of the package databases read (not the per-package ``records``)."""

    os: OsInfo | None
    packages: list[Package]
    warnings: list[str] = field(default_factory=list)
    databases: tuple[str, ...] = ()
    _owners: dict[str, Package] | None = field(default=None, repr=False, compare=False)

    def owner(self, path: str) -> Package | None:
        if self._owners is None:
            self._owners = _owners(self.packages)
        return self._owners.get(path)

    def by_ecosystem(self, ecosystem: str) -> list[Package]:
        return [p for p in self.packages if p.ecosystem == ecosystem]

    def to_dict(self) -> dict[str, Any]:
        return {
            "os": self.os.to_dict() if self.os else None,
            "databases": list(self.databases),
            "packages": [p.to_dict() for p in self.packages],
            "warnings": list(self.warnings),
        }


def _owners(packages: list[Package]) -> dict[str, Package]:
    """Path -> package: OS packages first (in database order), then language packages."""
    owners: dict[str, Package] = {}
    ordered = sorted(packages, key=lambda p: p.ecosystem not in OS_ECOSYSTEMS)
    for package in ordered:
        for path in package.files:
            owners.setdefault(path, package)
    return owners
