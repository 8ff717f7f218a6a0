"""The packages of a slim image: the trimmed package database's file contents, the SBOM
documents and their digest labels, and the report's "packages" section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slimmer.imagefs.model import EntryType
from slimmer.inventory import Inventory
from slimmer.inventory.trim import DatabasePlan, plan_database, trimmed_contents
from slimmer.sbom.render import attached, labels_of, render
from slimmer.sbom.subject import make_subject


@dataclass
class SlimPackages:
    contents: dict[str, bytes]  # image path -> content the rebuild writes
    labels: dict[str, str]
    documents: dict[str, bytes]  # SBOM format -> document
    report: dict[str, Any] = field(default_factory=dict)


def slim_packages(
    fs,
    inventory: Inventory,
    kept: dict[str, object],
    plan: DatabasePlan | None,
    ref: str,
    formats: list[str],
    attach: bool,
) -> SlimPackages:
    """Everything the rebuild and the report need about the slim image's packages. ``kept``:
    the selection's kept paths; ``plan``: its package database (None with --no-package-db)."""
    contents = trimmed_contents(fs, inventory, plan, kept) if plan is not None else {}
    subject = make_subject(fs, inventory, ref, fs.digest, kept=kept)
    documents = render(subject, formats)
    if attach:
        contents.update(attached(documents))
    packages = SlimPackages(contents, labels_of(documents), documents)
    packages.report = _report(fs, inventory, kept, plan, contents, attach)
    return packages


def _report(
    fs,
    inventory: Inventory,
    kept: dict[str, object],
    plan: DatabasePlan | None,
    contents: dict[str, bytes],
    attach: bool,
) -> dict[str, Any]:
    database_paths = plan.paths if plan is not None else []
    carried = plan is not None
    plan = plan or plan_database(fs, inventory, kept)  # what is kept and gone, all the same
    unowned = [
        path
        for path in sorted(kept)
        if path not in contents
        and inventory.owner(path) is None
        and (entry := fs.lookup(path)) is not None
        and entry.type is not EntryType.DIR
    ]
    section: dict[str, Any] = {
        "os": inventory.os.to_dict() if inventory.os else None,
        "database": "trimmed" if carried else "dropped",
        "database_files": len(database_paths),
        "database_bytes": sum(len(contents[p]) for p in database_paths if p in contents),
        "kept": [
            {
                **_identity(k.package),
                "state": k.state,
                "files_kept": len(k.kept_files),
                "files_removed": k.removed_files,
            }
            for k in plan.kept
        ],
        "removed": [_identity(p) for p in plan.removed],
        "unowned": unowned,
        "sbom_attached": attach,
        "notes": plan.notes if carried else [],
        "warnings": list(inventory.warnings),
    }
    return section


def _identity(package) -> dict[str, str]:
    return {
        "ecosystem": package.ecosystem,
        "name": package.name,
        "version": package.version,
        "arch": package.arch,
        "purl": package.purl,
    }
