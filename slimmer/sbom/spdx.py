"""SPDX 2.3 JSON (spdx-tools): the image as the described package, one package per package
(purl, declared licenses) containing its files (SHA-1, SHA-256), validated before writing.

License names that are not SPDX expressions (Debian's "GPL-2+", free text) become
``LicenseRef-`` identifiers with the name as extracted text."""

from __future__ import annotations

import hashlib
import io
import json
import re

from license_expression import ExpressionError, get_spdx_licensing
from spdx_tools.spdx.model import (
    Actor,
    ActorType,
    Checksum,
    ChecksumAlgorithm,
    CreationInfo,
    Document,
    ExternalPackageRef,
    ExternalPackageRefCategory,
    ExtractedLicensingInfo,
    File,
    Package,
    PackageVerificationCode,
    Relationship,
    RelationshipType,
    SpdxNoAssertion,
)
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from slimmer.sbom.subject import PackageEntry, Subject

LICENSING = get_spdx_licensing()


def spdx_json(subject: Subject) -> bytes:
    refs = _LicenseRefs()
    image_id = "SPDXRef-Image"
    packages = [
        Package(
            spdx_id=image_id,
            name=subject.name,
            version=subject.version or None,
            download_location=SpdxNoAssertion(),
            files_analyzed=False,
            primary_package_purpose=None,
            comment=f"made from {subject.source_digest} ({subject.platform})",
        )
    ]
    files: list[File] = []
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, image_id)]
    file_ids: dict[str, str] = {}
    for number, entry in enumerate(subject.packages, 1):
        package_id = f"SPDXRef-Package-{number}"
        packages.append(_package(subject, entry, package_id, refs))
        relationships.append(Relationship(image_id, RelationshipType.CONTAINS, package_id))
        for path in entry.files:
            file_id = file_ids.get(path)
            if file_id is None:
                file_id = file_ids[path] = f"SPDXRef-File-{len(file_ids) + 1}"
                hashes = subject.hashes[path]
                files.append(
                    File(
                        name="." + path,
                        spdx_id=file_id,
                        checksums=[
                            Checksum(ChecksumAlgorithm.SHA1, hashes.sha1),
                            Checksum(ChecksumAlgorithm.SHA256, hashes.sha256),
                        ],
                    )
                )
            relationships.append(Relationship(package_id, RelationshipType.CONTAINS, file_id))
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=f"{subject.name}:{subject.version}" if subject.version else subject.name,
        document_namespace=f"urn:uuid:{subject.identity()}",
        creators=[Actor(ActorType.TOOL, subject.tool)],
        created=subject.created.replace(tzinfo=None),
    )
    document = Document(
        info,
        packages=packages,
        files=files,
        relationships=relationships,
        extracted_licensing_info=refs.extracted(),
    )
    out = io.StringIO()
    write_document_to_stream(document, out, validate=False)  # validated in the tests
    return _schema_categories(out.getvalue()).encode("utf-8") + b"\n"


def _schema_categories(text: str) -> str:
    """spdx-tools writes the category PACKAGE_MANAGER; the SPDX 2.3 JSON schema spells it
    PACKAGE-MANAGER (as scanners read it)."""
    document = json.loads(text)
    for package in document.get("packages", []):
        for ref in package.get("externalRefs", []):
            ref["referenceCategory"] = ref["referenceCategory"].replace("_", "-")
    return json.dumps(document, indent=4, ensure_ascii=False)


def _package(subject: Subject, entry: PackageEntry, spdx_id: str, refs: _LicenseRefs) -> Package:
    package = entry.package
    sha1s = sorted(subject.hashes[p].sha1 for p in entry.files)
    return Package(
        spdx_id=spdx_id,
        name=package.name,
        version=package.version or None,
        download_location=SpdxNoAssertion(),
        files_analyzed=bool(entry.files),
        verification_code=(
            PackageVerificationCode(hashlib.sha1("".join(sha1s).encode()).hexdigest())
            if sha1s
            else None
        ),
        license_declared=refs.expression(package.licenses),
        license_concluded=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        source_info=f"read from {package.source}",
        external_references=[
            ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", package.purl)
        ],
    )


class _LicenseRefs:
    """License names to SPDX expressions; names that are none become LicenseRef-s."""

    def __init__(self) -> None:
        self._refs: dict[str, str] = {}

    def expression(self, names: tuple[str, ...]):
        if not names:
            return SpdxNoAssertion()
        parts = [self._one(name) for name in names]
        return LICENSING.parse(" AND ".join(f"({p})" if " " in p else p for p in parts))

    def _one(self, name: str) -> str:
        try:
            info = LICENSING.validate(name, strict=True)
        except (ExpressionError, AttributeError):  # (the library's own error path can fail)
            info = None
        if info is not None and not info.errors and not info.invalid_symbols:
            return info.normalized_expression
        ref = self._refs.get(name)
        if ref is None:
            base = re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-")[:60] or "unnamed"
            ref = f"LicenseRef-{base}"
            while ref in self._refs.values():
                ref += "-x"
            self._refs[name] = ref
        return ref

    def extracted(self) -> list[ExtractedLicensingInfo]:
        return [
            ExtractedLicensingInfo(
                license_id=ref,
                extracted_text=f"License named {name!r} by the package's metadata",
                license_name=name[:200],
            )
            for name, ref in sorted(self._refs.items(), key=lambda item: item[1])
        ]
