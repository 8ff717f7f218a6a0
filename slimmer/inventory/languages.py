"""Language packages found by their manifests in one pass over the tree: Python dist-info and
egg-info (METADATA/PKG-INFO, RECORD), node ``package.json`` under ``node_modules``, Ruby
``specifications/*.gemspec`` and Java archives' ``META-INF/MANIFEST.MF``/``pom.properties``."""

from __future__ import annotations

import csv
import email.parser
import io
import json
import posixpath
import re
import zipfile
from collections.abc import Iterator

from slimmer.imagefs.model import Entry, EntryType
from slimmer.inventory.files import MANIFEST_LIMIT, Reader
from slimmer.inventory.model import Package
from slimmer.inventory.purls import gem_purl, maven_purl, npm_purl, pypi_purl

NODE_MANIFEST = re.compile(r"^(?P<dir>.*/node_modules/(?:@[^/]+/)?[^/]+)/package\.json$")
GEMSPEC = re.compile(r"^(?P<root>.*)/specifications/(?P<stem>[^/]+)\.gemspec$")
JAR_SUFFIXES = (".jar", ".war", ".ear")
JAR_LIMIT = 1 << 30
MAX_JAR_MEMBERS = 200_000
SKIPPED_TREES = ("/proc/", "/sys/", "/dev/")


def read_languages(reader: Reader) -> list[Package]:
    packages: list[Package] = []
    for entry in reader.fs:
        path = entry.path
        if path.startswith(SKIPPED_TREES):
            continue
        found: Package | None = None
        try:
            if path.endswith(".dist-info") and entry.type is EntryType.DIR:
                found = _python(reader, path, "METADATA")
            elif path.endswith(".egg-info"):
                found = _python(reader, path, "PKG-INFO", entry)
            elif path.endswith("/package.json") and "/node_modules/" in path:
                found = _node(reader, path)
            elif path.endswith(".gemspec") and "/specifications/" in path:
                found = _gem(reader, path)
            elif path.endswith(JAR_SUFFIXES) and entry.type is EntryType.FILE:
                found = _java(reader, entry)
        except (ValueError, OSError, zipfile.BadZipFile, RecursionError, KeyError) as exc:
            reader.warn(f"{path}: unreadable package manifest ({type(exc).__name__}); skipped")
        if found is not None:
            packages.append(found)
    return packages


# ---- Python -----------------------------------------------------------------------------------


def _python(reader: Reader, path: str, name: str, entry: Entry | None = None) -> Package | None:
    is_dir = entry is None or entry.type is EntryType.DIR
    manifest = f"{path}/{name}" if is_dir else path
    text = reader.text(manifest)
    if text is None:
        return None
    metadata = email.parser.Parser().parsestr(text, headersonly=True)
    package, version = metadata.get("Name", "").strip(), metadata.get("Version", "").strip()
    if not package or not version:
        return None
    site = posixpath.dirname(path)
    files = [path] if not is_dir else _python_files(reader, path, site)
    return Package(
        ecosystem="pypi",
        name=package,
        version=version,
        arch="",
        licenses=python_licenses(metadata),
        purl=pypi_purl(package, version),
        files=tuple(dict.fromkeys(reader.canonical(f) for f in files)),
        source=manifest,
    )


def python_licenses(metadata: email.message.Message) -> tuple[str, ...]:
    """PEP 639's License-Expression, else a one-line License, else the license classifiers."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return (expression,)
    declared = (metadata.get("License") or "").strip()
    if declared and "\n" not in declared and len(declared) <= 100 and declared != "UNKNOWN":
        return (declared,)
    classifiers = [
        c.rsplit("::", 1)[1].strip()
        for c in metadata.get_all("Classifier") or []
        if c.startswith("License ::") and c.count("::") >= 2
    ]
    return tuple(dict.fromkeys(classifiers))


def _python_files(reader: Reader, info_dir: str, site: str) -> list[str]:
    """RECORD's paths (relative to the site directory) or egg-info's installed-files.txt."""
    record = reader.text(f"{info_dir}/RECORD", quiet=False)
    files = [info_dir]
    if record is not None:
        for row in csv.reader(io.StringIO(record)):
            if row and row[0]:
                files.append(posixpath.normpath(posixpath.join(site, row[0])))
        return files
    installed = reader.text(f"{info_dir}/installed-files.txt")
    for line in (installed or "").splitlines():
        if line.strip():
            files.append(posixpath.normpath(posixpath.join(info_dir, line.strip())))
    return files


# ---- node -------------------------------------------------------------------------------------


def _node(reader: Reader, path: str) -> Package | None:
    match = NODE_MANIFEST.match(path)
    if match is None:
        return None
    text = reader.text(path)
    document = json.loads(text) if text else None
    if not isinstance(document, dict):
        return None
    name, version = document.get("name"), document.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    directory = match["dir"]
    files = [e.path for e in _walk_package(reader, directory) if e.type is not EntryType.DIR]
    return Package(
        ecosystem="npm",
        name=name,
        version=version,
        arch="",
        licenses=_node_licenses(document),
        purl=npm_purl(name, version),
        files=tuple(files),
        source=path,
    )


def _walk_package(reader: Reader, directory: str) -> Iterator[Entry]:
    """A package directory's tree without its nested node_modules (other packages)."""
    nested = directory + "/node_modules"
    for entry in reader.fs.walk(directory):
        if entry.path != nested and not entry.path.startswith(nested + "/"):
            yield entry


def _node_licenses(document: dict) -> tuple[str, ...]:
    declared = document.get("license")
    if isinstance(declared, dict):
        declared = declared.get("type")
    if isinstance(declared, str) and declared.strip():
        return (declared.strip(),)
    legacy = document.get("licenses")
    if isinstance(legacy, list):
        names = [i.get("type") if isinstance(i, dict) else i for i in legacy]
        return tuple(n.strip() for n in names if isinstance(n, str) and n.strip())
    return ()


# ---- Ruby -------------------------------------------------------------------------------------

_GEM_FIELD = re.compile(r'^\s*s\.(?P<key>name|version)\s*=\s*"(?P<value>[^"]*)"', re.M)
_GEM_LICENSES = re.compile(r"^\s*s\.licenses?\s*=\s*\[?(?P<values>[^\]\n]*)", re.M)
_GEM_VERSION_CALL = re.compile(r'Gem::Version\.new\("(?P<value>[^"]*)"\)')


def _gem(reader: Reader, path: str) -> Package | None:
    match = GEMSPEC.match(path)
    text = reader.text(path) if match else None
    if match is None or text is None:
        return None
    fields = {m["key"]: m["value"] for m in _GEM_FIELD.finditer(text)}
    if "version" not in fields:
        called = _GEM_VERSION_CALL.search(text)
        if called:
            fields["version"] = called["value"]
    name, version = fields.get("name", ""), fields.get("version", "")
    if not name or not version:
        stem_name, _, stem_version = match["stem"].rpartition("-")
        name, version = name or stem_name, version or stem_version
    if not name or not version:
        return None
    licenses: list[str] = []
    for found in _GEM_LICENSES.finditer(text):
        licenses += re.findall(r'"([^"]+)"', found["values"])
    gem_dir = f"{match['root']}/gems/{match['stem']}"
    files = [path] + [e.path for e in reader.fs.walk(gem_dir) if e.type is not EntryType.DIR]
    return Package(
        ecosystem="gem",
        name=name,
        version=version,
        arch="",
        licenses=tuple(dict.fromkeys(licenses)),
        purl=gem_purl(name, version),
        files=tuple(files),
        source=path,
    )


# ---- Java -------------------------------------------------------------------------------------


def _java(reader: Reader, entry: Entry) -> Package | None:
    if entry.size > JAR_LIMIT or entry.size < 22:
        return None
    with reader.fs.open(entry) as handle, zipfile.ZipFile(handle) as archive:
        members = archive.infolist()
        if len(members) > MAX_JAR_MEMBERS:
            reader.warn(f"{entry.path}: {len(members)} archive members; not read")
            return None
        manifest = _member(archive, "META-INF/MANIFEST.MF")
        poms = [
            _properties(_member(archive, m.filename))
            for m in members
            if m.filename.startswith("META-INF/maven/") and m.filename.endswith("/pom.properties")
        ]
    attributes = parse_manifest(manifest)
    stem = posixpath.basename(entry.path).rsplit(".", 1)[0]
    pom = next((p for p in poms if p.get("artifactId") and stem.startswith(p["artifactId"])), None)
    pom = pom or (poms[0] if len(poms) == 1 else {})
    group = pom.get("groupId") or attributes.get("Implementation-Vendor-Id", "")
    artifact = (
        pom.get("artifactId")
        or attributes.get("Implementation-Title")
        or attributes.get("Bundle-SymbolicName", "").split(";")[0]
        or stem
    )
    version = (
        pom.get("version")
        or attributes.get("Implementation-Version")
        or attributes.get("Bundle-Version")
        or ""
    )
    if not version:
        return None
    license_ = attributes.get("Bundle-License", "").split(";")[0].strip()
    return Package(
        ecosystem="maven",
        name=f"{group}:{artifact}" if group else artifact,
        version=version,
        arch="",
        licenses=(license_,) if license_ else (),
        purl=maven_purl(group, artifact.replace(" ", "-"), version),
        files=(entry.path,),
        source=entry.path,
    )


def _member(archive: zipfile.ZipFile, name: str) -> str:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return ""
    if info.file_size > MANIFEST_LIMIT:
        return ""
    with archive.open(info) as member:
        return member.read(MANIFEST_LIMIT).decode("utf-8", errors="replace")


def parse_manifest(text: str) -> dict[str, str]:
    """The main section of a JAR manifest: "Key: value" lines, continuations start with a
    space."""
    attributes: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            break  # end of the main section
        if line.startswith(" ") and last:
            attributes[last] += line[1:]
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = key.strip()
            attributes[last] = value.strip()
    return attributes


def _properties(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
