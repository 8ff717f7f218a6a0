"""The selection as it was before size presets (commit aed1d28): the oracle that `--preset
default` is checked against on every fixture (tests/e2e/test_presets.py) and on crafted images
(tests/selection/test_presets.py).

Only the parts that presets changed are copied here (select's sequence and the rules that read a
preset); everything else is the live code, so the comparison pins exactly what presets could
have changed. If a rule's default behaviour is changed on purpose, change it here too.
"""

from __future__ import annotations

import posixpath
import re

from slimmer.inventory import Inventory
from slimmer.observation import Observation
from slimmer.options import SelectOptions
from slimmer.selection import Selection, _keep_elf_closure, _not_seen_loaded
from slimmer.selection.includes import apply_excludes, keep_includes
from slimmer.selection.keeper import RULE, Keeper, Reason
from slimmer.selection.rules import (
    CERT_DIRS,
    CERT_FILES,
    NSS_FILES,
    PYC,
    TLS_LIBRARY,
    TZ_PATHS,
    _gconv_dir,
    _library_dirs,
    _nsswitch_services,
    _touched,
    _under,
    env_value,
    keep_basics,
    keep_package_database,
    keep_script_interpreters,
)
from slimmer.selection.trace import ignored, keep_traced, written_directories


def select_before_presets(
    fs, observation: Observation, options: SelectOptions, inventory: Inventory | None = None
) -> Selection:
    config = fs.config.get("config") or {}
    env = list(config.get("Env") or [])
    workdir = config.get("WorkingDir") or "/"
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    keeper = Keeper(fs)
    warnings: list[str] = []

    keep_traced(keeper, observation)
    keep_basics(keeper, config, argv)
    warnings += keep_state(keeper, config, written_directories(keeper, observation))
    warnings += keep_includes(keeper, options, env, workdir)
    keep_script_interpreters(keeper, env)
    analysed: set[str] = set()
    closure = _keep_elf_closure(keeper, env, analysed)
    keep_certificates(keeper, observation)
    keep_nss(keeper, observation)
    keep_timezones(keeper, observation, config)
    keep_locales(keeper, observation)
    keep_python_pairs(keeper)
    if closure.files:
        keep_loader_config(keeper)
    late = _keep_elf_closure(keeper, env, analysed)
    dropped = apply_excludes(keeper, options.excludes)
    if dropped:
        warnings.append(f"--exclude removed {dropped} paths that would have been kept")
    mounted = apply_excludes(keeper, [f"{m.rstrip('/')}/*" for m in options.mount_points])
    if mounted:
        warnings.append(f"{mounted} paths under your mount points were left out of the image")
    plan = None
    if inventory is not None:
        plan = keep_package_database(keeper, inventory, options.package_db)
    keeper.add_parents()
    unresolved = _not_seen_loaded(
        keeper, observation, sorted(set(closure.unresolved) | set(late.unresolved))
    )
    warnings += [f"library {name} needed by {by} not found in the image" for name, by in unresolved]
    return Selection(
        kept=keeper.kept, warnings=warnings, unresolved_libraries=unresolved, package_plan=plan
    )


def keep_state(keeper: Keeper, config: dict, written: set[str]) -> list[str]:
    warnings = []
    for directory in sorted(written):
        if directory == "/":
            warnings.append("the target wrote into / itself; its contents are not all kept")
            continue
        keeper.keep_tree(directory, Reason(RULE, "written during the run (state)"))
    for volume in sorted(config.get("Volumes") or {}):
        keeper.keep_tree(volume, Reason(RULE, "VOLUME"))
    return warnings


def keep_certificates(keeper: Keeper, observation: Observation) -> None:
    used = any(_under(p, CERT_DIRS) for p in _touched(observation)) or any(
        TLS_LIBRARY.search(p) for p in keeper.kept
    )
    if not used:
        return
    for path in CERT_DIRS:
        keeper.keep_tree(path, Reason(RULE, "CA certificates"))
    for path in CERT_FILES:
        keeper.keep(path, Reason(RULE, "CA certificates"))


def keep_nss(keeper: Keeper, observation: Observation) -> None:
    used = any(p in NSS_FILES or "/libnss_" in p for p in _touched(observation))
    if not used:
        return
    reason = Reason(RULE, "NSS and DNS resolution")
    for path in NSS_FILES:
        keeper.keep(path, reason)
    services = {"files", "dns"} | _nsswitch_services(keeper.fs)
    for directory in _library_dirs(keeper.fs):
        for name in keeper.fs.listdir(directory):
            module = re.match(r"libnss_([a-z0-9]+)[.-]", name)
            if (module and module.group(1) in services) or name.startswith("libresolv."):
                keeper.keep(posixpath.join(directory, name), reason)


def keep_timezones(keeper: Keeper, observation: Observation, config: dict) -> None:
    env = list(config.get("Env") or [])
    localtime = keeper.fs.resolve("/etc/localtime").path
    by_name = any(
        _under(p, ("/usr/share/zoneinfo",)) and p != localtime
        for p in _touched(observation, succeeded=True)
    )
    if env_value(env, "TZ") is None and not by_name:
        return
    reason = Reason(RULE, "time zones")
    for path in TZ_PATHS:
        keeper.keep(path, reason)
    keeper.keep_tree("/usr/share/zoneinfo", reason)


def keep_locales(keeper: Keeper, observation: Observation) -> None:
    touched = [p for p in _touched(observation) if not ignored(p)]
    for top in ("/usr/lib/locale", "/usr/share/i18n"):
        if any(_under(p, (top,)) for p in touched):
            keeper.keep_tree(top, Reason(RULE, "locales"))
    for directory in sorted({_gconv_dir(p) for p in touched} - {None}):
        loaded = any(p.startswith(directory + "/") and p.endswith(".so") for p in touched)
        if loaded:
            keeper.keep_tree(directory, Reason(RULE, "gconv modules"))
            continue
        reason = Reason(RULE, "gconv configuration")
        for name in keeper.fs.listdir(directory):
            if name.startswith("gconv-modules"):
                keeper.keep_tree(posixpath.join(directory, name), reason)


def keep_python_pairs(keeper: Keeper) -> None:
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


def keep_loader_config(keeper: Keeper) -> None:
    reason = Reason(RULE, "dynamic loader configuration")
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf"):
        keeper.keep(path, reason)
    keeper.keep_tree("/etc/ld.so.conf.d", reason)
