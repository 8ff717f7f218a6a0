"""SBOMs of images (CycloneDX 1.6 and SPDX 2.3 JSON, through cyclonedx-python-lib and
spdx-tools) and the package side of a slim image (trimmed database, digest labels, report).

``make_subject(fs, inventory, ref, source_digest, kept=None)`` -> Subject;
``render(subject, formats)`` -> {format: bytes}; ``slim_packages(...)`` for ``build``;
``sbom_command(...)`` for ``slimmer sbom``.
"""

from slimmer.sbom.render import ATTACH_DIR, FILES, formats_of, labels_of, render, write_documents
from slimmer.sbom.slim import SlimPackages, slim_packages
from slimmer.sbom.subject import Subject, make_subject

__all__ = [
    "ATTACH_DIR",
    "FILES",
    "SlimPackages",
    "Subject",
    "formats_of",
    "labels_of",
    "make_subject",
    "render",
    "slim_packages",
    "write_documents",
]
