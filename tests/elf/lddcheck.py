"""Compare the static closure with what the image's own loader reports (ldd / ld.so --list)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slimmer.elf import elf_closure, elf_info

# "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
_ARROW = re.compile(r"^\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$")
_BARE = re.compile(r"^\s*(/\S+) \(0x[0-9a-f]+\)$")
# musl: "Error loading shared library libx.so: No such file or directory (needed by /app)"
_MUSL_MISSING = re.compile(r"^Error loading shared library (\S+): .*\(needed by (\S+)\)$")
VIRTUAL = ("linux-vdso.so.1", "linux-gate.so.1", "linux-vdso64.so.1")


@dataclass
class LddReport:
    paths: list[str] = field(default_factory=list)  # every path ldd printed
    missing: list[str] = field(default_factory=list)  # names ldd printed "not found" for


def parse_ldd(text: str) -> LddReport:
    report = LddReport()
    for line in text.splitlines():
        arrow = _ARROW.match(line)
        if arrow:
            name, where = arrow.groups()
            if where == "not found":
                report.missing.append(name)
            elif where.startswith("/"):
                report.paths.append(where)
            elif name.startswith("/"):  # "/lib/ld-linux-aarch64.so.1 => root/lib/..." (qemu -L)
                report.paths.append(name)
            continue
        musl_missing = _MUSL_MISSING.match(line)
        if musl_missing:
            report.missing.append(musl_missing.group(1))
            continue
        bare = _BARE.match(line)
        if bare and bare.group(1) not in VIRTUAL:
            report.paths.append(bare.group(1))
    return report


def parse_sections(text: str) -> dict[str, str]:
    """Split the output of `for f in ...; do echo "== $f"; ldd "$f"; done` per program."""
    sections: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("== "):
            current = line[3:].strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return sections


def compare(fs, root: str, ldd_text: str, env: list[str] | None = None,
            other_cpus: frozenset[str] = frozenset()) -> list[str]:
    """Differences between the closure of ``root`` and the ldd report, as readable lines (empty
    when they agree): the real files must be the same sets (beyond ldd's, the closure may hold
    only ``other_cpus``: files the loader picks on other CPUs), every symlink ldd's paths pass
    must be in the closure, and the names ldd could not find must be the unresolved ones."""
    report = parse_ldd(ldd_text)
    closure = elf_closure(fs, [root], env or [])
    resolved_root = fs.resolve(root)
    own = {resolved_root.path, *resolved_root.links}
    expected_real: set[str] = set()
    expected_links: set[str] = set()
    info = elf_info(fs, resolved_root.entry)
    if info is not None and info.interp:
        # the kernel maps the interpreter; ld.so omits it from the list when libc is missing
        report.paths.append(info.interp)
    for path in report.paths:
        resolution = fs.resolve(path)
        assert resolution.entry is not None, f"ldd printed {path}, which the index does not have"
        expected_real.add(resolution.path)
        expected_links.update(resolution.links)
    got_real = {
        path for path in closure.files
        if path not in own and fs.lookup(path) is not None
        and fs.lookup(path).type.value in ("file", "hardlink")
    }
    problems = []
    extra = got_real - expected_real - other_cpus
    if extra or expected_real - got_real:
        problems.append(f"{root}: files: extra {sorted(extra)}, "
                        f"missing {sorted(expected_real - got_real)}")
    lost_links = expected_links - set(closure.files) - own
    if lost_links:
        problems.append(f"{root}: symlinks ldd passed but not kept: {sorted(lost_links)}")
    unresolved = sorted({name for name, _by in closure.unresolved})
    if unresolved != sorted(set(report.missing)):
        problems.append(f"{root}: unresolved {unresolved}, ldd: {sorted(set(report.missing))}")
    return problems
