"""Package URLs (purl) of each ecosystem, built with packageurl-python."""

from __future__ import annotations

import re

from packageurl import PackageURL

from slimmer.inventory.model import OsInfo


def os_purl(
    kind: str,
    os: OsInfo | None,
    default_namespace: str,
    name: str,
    version: str,
    arch: str,
    **extra: str,
) -> str:
    """``pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12`` and the like for apk and
    rpm: the namespace is the distribution's ID (the default when the image has none)."""
    namespace = (os.id if os and os.id else default_namespace).lower()
    qualifiers = {k: v for k, v in extra.items() if v}
    if arch:
        qualifiers["arch"] = arch
    if os and os.id and os.version_id:
        qualifiers["distro"] = f"{os.id}-{os.version_id}"
    return PackageURL(kind, namespace, name, version or None, qualifiers or None).to_string()


def pypi_purl(name: str, version: str) -> str:
    """PyPI names are normalised: lower case, runs of -_. become one dash (PEP 503)."""
    normalised = re.sub(r"[-_.]+", "-", name).lower()
    return PackageURL("pypi", None, normalised, version or None).to_string()


def npm_purl(name: str, version: str) -> str:
    scope, _, bare = name.rpartition("/")
    return PackageURL("npm", scope or None, bare, version or None).to_string()


def gem_purl(name: str, version: str) -> str:
    return PackageURL("gem", None, name, version or None).to_string()


def maven_purl(group: str, artifact: str, version: str) -> str:
    return PackageURL("maven", group or None, artifact, version or None).to_string()
