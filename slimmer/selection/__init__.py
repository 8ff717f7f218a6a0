"""Selection: trace ∪ rules ∪ includes ∪ ELF closure − excludes, every path with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from slimmer.elf import elf_closure, is_elf
from slimmer.observation import Observation
from slimmer.options import SelectOptions
from slimmer.selection import rules
from slimmer.selection.includes import apply_excludes, keep_includes
from slimmer.selection.keeper import ELF, Keeper, Reason
from slimmer.selection.trace import keep_traced, written_directories


@dataclass
class Selection:
    kept: dict[str, Reason]
    warnings: list[str] = field(default_factory=list)
    unresolved_libraries: list[tuple[str, str]] = field(default_factory=list)


def select(fs, observation: Observation, options: SelectOptions) -> Selection:
    """Decide what the slim image keeps. ``fs`` is the image's ImageFs."""
    config = fs.config.get("config") or {}
    env = list(config.get("Env") or [])
    workdir = config.get("WorkingDir") or "/"
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    keeper = Keeper(fs)
    warnings: list[str] = []

    keep_traced(keeper, observation)
    rules.keep_basics(keeper, config, argv)
    warnings += rules.keep_state(keeper, config, written_directories(keeper, observation))
    warnings += keep_includes(keeper, options, env, workdir)
    rules.keep_script_interpreters(keeper, env)
    analysed: set[str] = set()
    closure = _keep_elf_closure(keeper, env, analysed)
    rules.keep_certificates(keeper, observation)
    rules.keep_nss(keeper, observation)
    rules.keep_timezones(keeper, observation, config)
    rules.keep_locales(keeper, observation)
    rules.keep_python_pairs(keeper)
    if closure.files:
        rules.keep_loader_config(keeper)
    # rules may have added ELF files (NSS modules, tools in kept trees): close over them too
    late = _keep_elf_closure(keeper, env, analysed)
    dropped = apply_excludes(keeper, options.excludes)
    if dropped:
        warnings.append(f"--exclude removed {dropped} paths that would have been kept")
    mounted = apply_excludes(keeper, [f"{m.rstrip('/')}/*" for m in options.mount_points])
    if mounted:
        warnings.append(f"{mounted} paths under your mount points were left out of the image")
    keeper.add_parents()
    unresolved = sorted(set(closure.unresolved) | set(late.unresolved))
    warnings += [f"library {name} needed by {by} not found in the image" for name, by in unresolved]
    return Selection(kept=keeper.kept, warnings=warnings, unresolved_libraries=unresolved)


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
