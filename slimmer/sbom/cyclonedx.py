"""CycloneDX 1.6 JSON (cyclonedx-python-lib): the image as the described container component,
the OS, one component per package (purl, licenses) with the package's files in the image as
its evidence occurrences (their hashes are in the SPDX document's files)."""

from __future__ import annotations

from cyclonedx.contrib.license.exceptions import InvalidSpdxLicenseException
from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from slimmer.sbom.subject import Subject

SOURCE_PROPERTY = "slimmer:source-digest"
PLATFORM_PROPERTY = "slimmer:platform"


def cyclonedx_json(subject: Subject) -> bytes:
    licenses = LicenseFactory()
    root = Component(
        type=ComponentType.CONTAINER,
        name=subject.name,
        version=subject.version or None,
        bom_ref="image",
        properties=[
            Property(name=SOURCE_PROPERTY, value=subject.source_digest),
            Property(name=PLATFORM_PROPERTY, value=subject.platform),
        ],
    )
    bom = Bom(serial_number=subject.identity())
    bom.metadata.timestamp = subject.created
    bom.metadata.component = root
    children: list[Component] = []
    if subject.os is not None and subject.os.id:
        children.append(
            Component(
                type=ComponentType.OPERATING_SYSTEM,
                name=subject.os.id,
                version=subject.os.version_id or None,
                description=subject.os.pretty_name or None,
                bom_ref=f"os:{subject.os.id}",
            )
        )
    used: set[str] = set()
    for entry in subject.packages:
        package = entry.package
        ref = _unique(package.purl, used)
        component = Component(
            type=ComponentType.LIBRARY,
            name=package.name,
            version=package.version or None,
            purl=PackageURL.from_string(package.purl),
            bom_ref=ref,
            licenses=_licenses(licenses, package.licenses),
            properties=[Property(name="slimmer:source", value=package.source)],
        )
        if entry.files:
            component.evidence = ComponentEvidence(
                occurrences=[  # (sorted by bom-ref: give them one in path order)
                    Occurrence(location=path, bom_ref=_unique(f"{ref}#file:{path}", used))
                    for path in entry.files
                ]
            )
        children.append(component)
    for child in children:
        bom.components.add(child)
    bom.register_dependency(root, children)
    return JsonV1Dot6(bom).output_as_string(indent=2).encode("utf-8") + b"\n"


def _licenses(factory: LicenseFactory, names: tuple[str, ...]) -> list:
    """One name: an SPDX id, expression or named license; several: ids or names (CycloneDX
    allows an expression only alone)."""
    if len(names) == 1:
        return [factory.make_from_string(names[0])]
    found = []
    for name in names:
        try:
            found.append(factory.make_with_id(name))
        except InvalidSpdxLicenseException:
            found.append(factory.make_with_name(name))
    return found


def _unique(ref: str, used: set[str]) -> str:
    candidate, number = ref, 1
    while candidate in used:
        number += 1
        candidate = f"{ref}#{number}"
    used.add(candidate)
    return candidate
