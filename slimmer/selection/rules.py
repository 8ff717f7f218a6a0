"""Selection rules: what a trace can miss but the program needs.

Each rule looks at the observation, the image config and what is kept so far, and keeps more.
They encode what breaks slim images in practice: users and groups, CA certificates, NSS modules
loaded by dlopen, time zones, locales and gconv, Python sources next to their bytecode, state
directories, volumes, /tmp, the working directory and the commands the engine runs. How far a rule
widens what the run used is its ``Preset``'s choice (presets.py), never a branch on a preset name.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from slimmer.imagefs.model import EntryType
from slimmer.inventory import Inventory
from slimmer.inventory.trim import DatabasePlan, plan_database
from slimmer.observation import Observation
from slimmer.selection.keeper import RULE, Keeper, Reason
from slimmer.selection.presets import Extent, Preset
from slimmer.selection.trace import ignored

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LIB_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")
CERT_DIRS = (
    "/etc/ssl",
    "/etc/pki",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/lib/ssl",
    "/usr/local/share/ca-certificates",
)
CERT_FILES = ("/etc/ca-certificates.conf",)
CA_BUNDLES = (  # where TLS libraries and runtimes look for one file of all trusted CAs
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL, CentOS
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # Alpine, LibreSSL
    "/usr/lib/ssl/cert.pem",  # OpenSSL's default CA file on Debian (a link to the first)
    "/etc/ssl/certs/java/cacerts",  # Java's keystore (ca-certificates-java)
)
NSS_FILES = (
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/gai.conf",
    "/etc/resolv.conf",
    "/etc/services",
    "/etc/protocols",
)
TZ_PATHS = ("/etc/localtime", "/etc/timezone")
LOCALE_TREES = ("/usr/lib/locale", "/usr/share/i18n")  # compiled locales, their sources
LOCALE_DATA = (*LOCALE_TREES, "/usr/share/locale")
ZONEINFO = "/usr/share/zoneinfo"
NETWORK_FAMILIES = ("inet", "inet6")
TLS_LIBRARY = re.compile(r"/lib(ssl|gnutls|mbedtls|wolfssl|nss3)[^/]*\.so")
PYC = re.compile(r"^(?P<dir>.*)/__pycache__/(?P<mod>[^/.]+)\.[^/]+\.pyc$")
SHARED_OBJECT = re.compile(r"\.so(\.[0-9]+)*$")


def env_value(env: list[str], name: str) -> str | None:
    for item in env:
        key, _, value = item.partition("=")
        if key == name:
            return value
    return None


def which(fs, name: str, env: list[str], workdir: str = "/") -> str | None:
    """Find a command as the engine would: a name with a slash is a path, else search PATH."""
    if "/" in name:
        return posixpath.join(workdir, name)
    for directory in (env_value(env, "PATH") or DEFAULT_PATH).split(":"):
        candidate = posixpath.join(directory or workdir, name)
        entry = fs.resolve(candidate).entry
        if entry is not None and entry.type is not EntryType.DIR:
            return candidate
    return None


def _touched(observation: Observation, succeeded: bool = False) -> Iterable[str]:
    """Paths the target used (only those whose access succeeded, when asked)."""
    for access in observation.paths:
        if not (succeeded and access.errno):
            yield access.path
    for event in observation.files:
        yield event.path


def _under(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def keep_basics(keeper: Keeper, config: dict, argv: list[str]) -> None:
    """Users and groups, /tmp, the working directory, the command and the healthcheck command."""
    env = list(config.get("Env") or [])
    workdir = config.get("WorkingDir") or "/"
    for path in ("/etc/passwd", "/etc/group"):
        keeper.keep(path, Reason(RULE, "users and groups"))
    for path in ("/tmp", "/var/tmp"):
        keeper.keep(path, Reason(RULE, "temporary directory"))
    keeper.keep(workdir, Reason(RULE, "working directory"))
    if argv:
        found = which(keeper.fs, argv[0], env, workdir)
        if found:
            keeper.keep(found, Reason(RULE, "entrypoint/cmd"))
    health = (config.get("Healthcheck") or {}).get("Test") or []
    if health and health[0] == "CMD" and len(health) > 1:
        found = which(keeper.fs, health[1], env, workdir)
        if found:
            keeper.keep(found, Reason(RULE, "healthcheck command"))
    elif health and health[0] == "CMD-SHELL":
        keeper.keep("/bin/sh", Reason(RULE, "healthcheck shell"))


def keep_script_interpreters(keeper: Keeper, env: list[str]) -> None:
    """The `#!` interpreter of every kept executable script, by the path the script names.

    The kernel resolves that path itself during exec, so the trace sees the interpreter's real
    file but not the symlinks on the way (/bin/sh -> dash); `#!/usr/bin/env NAME` also needs
    NAME through PATH.
    """
    seen: set[str] = set()
    pending = [e for e in keeper.files() if e.mode & 0o111]
    while pending:
        entry = pending.pop()
        if entry.path in seen:
            continue
        seen.add(entry.path)
        words = _shebang(keeper.fs, entry)
        if not words:
            continue
        reason = Reason(RULE, f"interpreter of {entry.path}")
        found = keeper.keep(words[0], reason)
        if posixpath.basename(words[0]) == "env" and len(words) > 1:
            name = next((w for w in words[1:] if not w.startswith("-")), None)
            path = which(keeper.fs, name, env) if name else None
            found = keeper.keep(path, reason) if path else found
        if found is not None and found.type is EntryType.FILE:
            pending.append(found)


def _shebang(fs, entry) -> list[str]:
    """The words of a script's `#!` line, or [] when the file is no script."""
    if entry.size < 3:
        return []
    with fs.open(entry) as handle:
        head = handle.read(256)
    if not head.startswith(b"#!"):
        return []
    line = head[2:].split(b"\n", 1)[0].decode("utf-8", errors="replace")
    return line.split()


def keep_state(keeper: Keeper, config: dict, written: set[str], preset: Preset) -> list[str]:
    """Directories written during the run and VOLUME directories keep their original contents
    (or only themselves, as the preset says: what the run touched in them is traced).

    Returns warnings (a write into "/" cannot keep the whole image).
    """
    warnings = []
    for directory in sorted(written):
        if directory == "/":
            warnings.append("the target wrote into / itself; its contents are not all kept")
            continue
        reason = Reason(RULE, "written during the run (state)")
        _keep_extent(keeper, directory, preset.state_dirs, reason)
    for volume in sorted(config.get("Volumes") or {}):
        _keep_extent(keeper, volume, preset.volumes, Reason(RULE, "VOLUME"))
    return warnings


def _keep_extent(keeper: Keeper, path: str, extent: Extent, reason: Reason) -> None:
    if extent == "whole":
        keeper.keep_tree(path, reason)
    else:
        keeper.keep(path, reason)


def keep_certificates(keeper: Keeper, observation: Observation, preset: Preset) -> None:
    """CA certificates when the target used a TLS library or read certificate paths (or, as the
    preset says, opened a network socket): the certificate directories whole, or the bundles."""
    used = (
        any(_under(p, CERT_DIRS) for p in _touched(observation))
        or any(TLS_LIBRARY.search(p) for p in keeper.kept)
        or (preset.network_implies_tls_and_nss and _used_network(observation))
    )
    if not used:
        return
    reason = Reason(RULE, "CA certificates")
    if preset.certificates == "bundles":
        for path in CA_BUNDLES:
            keeper.keep(path, reason)
        return
    for path in CERT_DIRS:
        keeper.keep_tree(path, reason)
    for path in CERT_FILES:
        keeper.keep(path, reason)


def _used_network(observation: Observation) -> bool:
    return any(socket.family in NETWORK_FAMILIES for socket in observation.sockets)


def keep_nss(keeper: Keeper, observation: Observation, preset: Preset) -> None:
    """NSS configuration, the modules nsswitch.conf names (or all, as the preset says) and the
    resolver, when NSS or DNS was used (glibc loads them with dlopen, so a different run may
    need modules this one did not)."""
    if preset.nss_modules == "used":
        return
    used = any(p in NSS_FILES or "/libnss_" in p for p in _touched(observation)) or (
        preset.network_implies_tls_and_nss and _used_network(observation)
    )
    if not used:
        return
    reason = Reason(RULE, "NSS and DNS resolution")
    for path in NSS_FILES:
        keeper.keep(path, reason)
    named = {"files", "dns"} | _nsswitch_services(keeper.fs)
    for directory in _library_dirs(keeper.fs):
        for name in keeper.fs.listdir(directory):
            module = re.match(r"libnss_([a-z0-9]+)[.-]", name)
            wanted = module and (preset.nss_modules == "all" or module.group(1) in named)
            if wanted or name.startswith("libresolv."):
                keeper.keep(posixpath.join(directory, name), reason)


def _nsswitch_services(fs) -> set[str]:
    entry = fs.resolve("/etc/nsswitch.conf").entry
    if entry is None or entry.type is not EntryType.FILE or entry.size > 1 << 16:
        return set()
    with fs.open(entry) as handle:
        text = handle.read().decode("utf-8", errors="replace")
    services = set()
    for line in text.splitlines():
        _, sep, rest = line.partition(":")
        if sep:
            services.update(w for w in rest.split() if re.fullmatch(r"[a-z0-9]+", w))
    return services


def _library_dirs(fs) -> list[str]:
    """Library directories of the image, multiarch ones included, each once after resolution."""
    found: dict[str, None] = {}
    for base in LIB_DIRS:
        resolution = fs.resolve(base)
        if resolution.entry is None or resolution.entry.type is not EntryType.DIR:
            continue
        found.setdefault(resolution.path)
        for name in fs.listdir(resolution.path):
            if re.fullmatch(r"[a-z0-9_]+-linux-gnu[a-z]*", name):
                sub = fs.resolve(posixpath.join(resolution.path, name))
                if sub.entry is not None and sub.entry.type is EntryType.DIR:
                    found.setdefault(sub.path)
    return list(found)


def keep_timezones(
    keeper: Keeper, observation: Observation, config: dict, preset: Preset
) -> None:
    """Time zone data when TZ is set or zones were looked up by name.

    Reading only /etc/localtime (what every glibc program's localtime() does) keeps that chain,
    which the trace already did; a zone read by name means any zone may be asked for next, so
    all of them are kept, unless the preset keeps only TZ's zone besides the zones read.
    """
    tz = env_value(list(config.get("Env") or []), "TZ")
    if tz is None and not _zones_used(keeper.fs, observation, preset):
        return
    reason = Reason(RULE, "time zones")
    for path in TZ_PATHS:
        keeper.keep(path, reason)
    if preset.zoneinfo_whole is not None:
        keeper.keep_tree(ZONEINFO, reason)
    elif tz is not None:
        _keep_tz_zone(keeper, tz, reason)


def _zones_used(fs, observation: Observation, preset: Preset) -> bool:
    """Whether the run read a zone by name, or any zone data (/etc/localtime too) when the
    preset keeps all zones then."""
    localtime = fs.resolve("/etc/localtime").path
    for path in _touched(observation, succeeded=True):
        if _under(path, (ZONEINFO,)) and path != localtime:
            return True
        if preset.zoneinfo_whole == "used" and (path == localtime or path in TZ_PATHS):
            return True
    return False


def _keep_tz_zone(keeper: Keeper, tz: str, reason: Reason) -> None:
    """The zone file TZ names (``Europe/Paris``, ``:Europe/Paris``), or the rules glibc applies
    to a POSIX TZ string without a file (``posixrules``). An absolute TZ is read when used."""
    name = tz.removeprefix(":")
    if not name or name.startswith("/") or ".." in name.split("/"):
        return
    if keeper.keep(posixpath.join(ZONEINFO, name), reason) is None:
        keeper.keep(posixpath.join(ZONEINFO, "posixrules"), reason)


def keep_locales(keeper: Keeper, observation: Observation, preset: Preset) -> None:
    """Locales whole when one was used; gconv's configuration when it was read, and all its
    modules once one was loaded (the program converts charsets, maybe others next time); or as
    the preset says."""
    touched = [p for p in _touched(observation) if not ignored(p)]
    if preset.locales != "read":
        any_locale = preset.locales == "all" and any(_under(p, LOCALE_DATA) for p in touched)
        for top in LOCALE_TREES:
            if any_locale or any(_under(p, (top,)) for p in touched):
                keeper.keep_tree(top, Reason(RULE, "locales"))
    if preset.gconv != "read":
        _keep_gconv(keeper, touched, preset)


def _keep_gconv(keeper: Keeper, touched: list[str], preset: Preset) -> None:
    for directory in sorted({_gconv_dir(p) for p in touched} - {None}):
        loaded = any(p.startswith(directory + "/") and p.endswith(".so") for p in touched)
        if loaded or preset.gconv == "used":
            keeper.keep_tree(directory, Reason(RULE, "gconv modules"))
            continue
        reason = Reason(RULE, "gconv configuration")
        for name in keeper.fs.listdir(directory):
            if name.startswith("gconv-modules"):
                keeper.keep_tree(posixpath.join(directory, name), reason)


def _gconv_dir(path: str) -> str | None:
    head, sep, _ = path.partition("/gconv/")
    return head + "/gconv" if sep else None


def keep_python_packages(keeper: Keeper, preset: Preset) -> None:
    """A kept Python module keeps its whole top-level package, when the preset says so (the
    modules a later run may import lazily, encodings.* for a charset not seen yet)."""
    if not preset.python_packages:
        return
    packages = {_top_package(keeper.fs, p) for p in keeper.kept if p.endswith((".py", ".pyc"))}
    for package in sorted(packages - {None}):
        keeper.keep_tree(package, Reason(RULE, "Python package"))


def _top_package(fs, module: str) -> str | None:
    """The outermost package directory (one with __init__.py) holding ``module``, if any."""
    directory = posixpath.dirname(module)
    if posixpath.basename(directory) == "__pycache__":
        directory = posixpath.dirname(directory)
    top = None
    while directory != "/" and fs.lookup(posixpath.join(directory, "__init__.py")) is not None:
        top = directory
        directory = posixpath.dirname(directory)
    return top


def keep_python_pairs(keeper: Keeper, preset: Preset) -> None:
    """A kept .pyc keeps its .py (tracebacks, stale checks) and a kept .py its cached .pyc,
    unless the preset says not to (the trace keeps the source Python checks and the bytecode it
    reads)."""
    if not preset.python_pairs:
        return
    reason = Reason(RULE, "Python source/bytecode pair")
    for path in list(keeper.kept):
        match = PYC.match(path)
        if match:
            keeper.keep(f"{match['dir']}/{match['mod']}.py", reason)
        elif path.endswith(".py"):
            directory, name = posixpath.split(path)
            cache = posixpath.join(directory, "__pycache__")
            prefix = name[:-3] + "."
            for cached in keeper.fs.listdir(cache) if keeper.fs.lookup(cache) else []:
                if cached.startswith(prefix) and cached.endswith(".pyc"):
                    keeper.keep(posixpath.join(cache, cached), reason)


def keep_plugin_dirs(keeper: Keeper, observation: Observation, preset: Preset) -> None:
    """Every directory outside the system library directories from which the run loaded a
    shared object, whole, when the preset says so: a program that dlopens one plugin (a Python
    extension module, a PostgreSQL library, a SASL mechanism) may load its siblings next.
    Never "/" (that would be the whole image)."""
    if not preset.plugin_dirs:
        return
    system = set(_library_dirs(keeper.fs))
    directories = set()
    for path in _touched(observation, succeeded=True):
        if ignored(path) or not SHARED_OBJECT.search(path):
            continue
        resolution = keeper.fs.resolve(path)
        if resolution.entry is not None and resolution.entry.type is not EntryType.DIR:
            directories.add(posixpath.dirname(resolution.path))
    for directory in sorted(directories - system - {"/"}):
        keeper.keep_tree(directory, Reason(RULE, "shared objects were loaded from here"))


def keep_loader_config(keeper: Keeper, preset: Preset) -> None:
    """The dynamic loader's cache and configuration (as the preset lists them), for every
    dynamically linked program."""
    reason = Reason(RULE, "dynamic loader configuration")
    for path in preset.loader_files:
        keeper.keep_tree(path, reason)


def keep_package_database(
    keeper: Keeper, inventory: Inventory, carry_database: bool
) -> DatabasePlan | None:
    """The OS identity files (os-release and what it links to, debian_version...) always, and
    unless ``carry_database`` is off the package database files of the packages that keep a
    file; the rebuild writes them trimmed to the kept files. Returns the database plan (None
    when the database is not carried)."""
    if inventory.os is not None:
        for path in inventory.os.files:
            keeper.keep(path, Reason(RULE, "OS identity"))
    if not carry_database:
        return None
    plan = plan_database(keeper.fs, inventory, keeper.kept)
    for path in plan.paths:
        keeper.keep(path, Reason(RULE, "package database (trimmed)"))
    return plan
