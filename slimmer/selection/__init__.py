"""Selection: trace ∪ rules ∪ includes ∪ ELF closure − excludes, every path with its reason."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from slimmer.elf import elf_closure, elf_info, is_elf
from slimmer.imagefs.model import EntryType
from slimmer.inventory import Inventory
from slimmer.inventory.trim import DatabasePlan
from slimmer.observation import Observation, Op
from slimmer.options import SelectOptions
from slimmer.selection import rules
from slimmer.selection.includes import apply_excludes, keep_includes
from slimmer.selection.keeper import ELF, Keeper, Reason
from slimmer.selection.presets import preset_named
from slimmer.selection.trace import keep_traced, written_directories


@dataclass
class Selection:
    kept: dict[str, Reason]
    warnings: list[str] = field(default_factory=list)
    unresolved_libraries: list[tuple[str, str]] = field(default_factory=list)
    package_plan: DatabasePlan | None = None  # the package database the slim image carries


def select(
    fs,
    observation: Observation,
    options: SelectOptions,
    inventory: Inventory | None = None,
    config: dict | None = None,
) -> Selection:
    """Decide what the slim image keeps. ``fs`` is the image's ImageFs; with the image's
    ``inventory`` the OS identity and the (trimmed) package database are kept too; ``config``
    is the runtime config the slim image gets (default: the image's own).
    ``options.preset`` says how far the rules widen what the run used."""
    preset = preset_named(options.preset)
    if config is None:
        config = fs.config.get("config") or {}
    env = list(config.get("Env") or [])
    workdir = config.get("WorkingDir") or "/"
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    keeper = Keeper(fs)
    warnings: list[str] = []

    keep_traced(keeper, observation)
    rules.keep_basics(keeper, config, argv)
    written = written_directories(keeper, observation)
    warnings += rules.keep_state(keeper, config, written, preset)
    warnings += keep_includes(keeper, options, env, workdir)
    rules.keep_script_interpreters(keeper, env)
    analysed: set[str] = set()
    closure = _keep_elf_closure(keeper, env, analysed)
    rules.keep_certificates(keeper, observation, preset)
    rules.keep_nss(keeper, observation, preset)
    rules.keep_timezones(keeper, observation, config, preset)
    rules.keep_locales(keeper, observation, preset)
    rules.keep_plugin_dirs(keeper, observation, preset)
    rules.keep_python_packages(keeper, preset)
    rules.keep_python_pairs(keeper, preset)
    if closure.files:
        rules.keep_loader_config(keeper, preset)
    # rules may have added ELF files (NSS modules, tools in kept trees): close over them too
    late = _keep_elf_closure(keeper, env, analysed)
    dropped = apply_excludes(keeper, options.excludes)
    if dropped:
        warnings.append(f"--exclude removed {dropped} paths that would have been kept")
    mounted = apply_excludes(keeper, [f"{m.rstrip('/')}/*" for m in options.mount_points])
    if mounted:
        warnings.append(f"{mounted} paths under your mount points were left out of the image")
    plan = None
    if inventory is not None:
        plan = rules.keep_package_database(keeper, inventory, options.package_db)
    keeper.add_parents()
    unresolved = _not_seen_loaded(
        keeper, observation, sorted(set(closure.unresolved) | set(late.unresolved))
    )
    warnings += [f"library {name} needed by {by} not found in the image" for name, by in unresolved]
    return Selection(
        kept=keeper.kept, warnings=warnings, unresolved_libraries=unresolved, package_plan=plan
    )


def _keep_elf_closure(keeper: Keeper, env: list[str], analysed: set[str]):
    """Keep the libraries of every kept ELF file not analysed before; the closure found."""
    roots = [
        entry.path
        for entry in keeper.files()
        if entry.path not in analysed and is_elf(keeper.fs, entry)
    ]
    closure = elf_closure(keeper.fs, roots, env)
    for path, why in closure.files.items():
        keeper.add(path, Reason(ELF, why))
    analysed.update(roots, closure.files)
    return closure


def _not_seen_loaded(
    keeper: Keeper, observation: Observation, unresolved: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The unresolved names the run never had a file for. A library a process opened or mapped
    by its full path (a JVM's lib/server/libjvm.so, loaded by the launcher) satisfies every
    NEEDED of its SONAME without a search: the static closure cannot find it, yet it loads, and
    the trace kept it."""
    names = {name for name, _by in unresolved}
    if not names:
        return unresolved
    loaded: set[str] = set()
    for path in _opened_files(observation):
        entry = keeper.fs.resolve(path).entry
        if entry is None or entry.type not in (EntryType.FILE, EntryType.HARDLINK):
            continue
        info = elf_info(keeper.fs, entry) if is_elf(keeper.fs, entry) else None
        for name in (posixpath.basename(path), posixpath.basename(entry.path),
                     info.soname if info else None):
            if name in names:
                loaded.add(name)
    return [(name, by) for name, by in unresolved if name not in loaded]


def _opened_files(observation: Observation) -> set[str]:
    """Paths the run opened successfully (ptrace) or that fanotify saw opened, mapped or run."""
    paths = {a.path for a in observation.paths if a.op is Op.OPEN_READ and not a.errno}
    paths.update(event.path for event in observation.files if not event.is_dir)
    return paths
