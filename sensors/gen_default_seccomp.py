"""Generate the sensor's tables of Docker's default seccomp profiles (default_seccomp_gen.h).

The sensor installs, for the target, a second seccomp filter that makes the target's syscalls
fail exactly as Docker's default profile makes them fail for the target's own capability set
(the profiling container has SYS_ADMIN and SYS_PTRACE, which widen the engine's filter). This
script turns the default profiles kept in ``slimmer/profiles/data/`` into C tables: per profile
and architecture, the rules that apply to the architecture (capability and kernel conditions stay
in the table: the sensor evaluates them at run time for the target's bounding set and kernel),
and the names the sensor decides: those of rules with capability conditions, except names an
unconditional allow rule has. Every other name the engine's own filter decides alike with and
without the sensor (its rules do not depend on capabilities), so the sensor leaves it alone.
Capability numbers come from the kernel's UAPI ``linux/capability.h`` (the headers shipped in the
``ziglang`` package by default).

Usage: python sensors/gen_default_seccomp.py [--include DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slimmer.profiles.docker_default import PROFILES, load_default  # noqa: E402
from slimmer.profiles.evaluate import ALLOW, ERRNO, NATIVE_ARCH, parse_rule  # noqa: E402

OUT = ROOT / "sensors" / "src" / "default_seccomp_gen.h"
# the tables of the machine the sensor is built for; host test drivers choose with
# SENSOR_TABLES_X86_64 / SENSOR_TABLES_AARCH64
ARCH_CONDITIONS = {
    "x86_64": "defined(SENSOR_TABLES_X86_64) || "
              "(defined(__x86_64__) && !defined(SENSOR_TABLES_AARCH64))",
    "aarch64": "defined(SENSOR_TABLES_AARCH64) || "
               "(defined(__aarch64__) && !defined(SENSOR_TABLES_X86_64))",
}
OPS = {
    "SCMP_CMP_NE": "DSC_NE", "SCMP_CMP_LT": "DSC_LT", "SCMP_CMP_LE": "DSC_LE",
    "SCMP_CMP_EQ": "DSC_EQ", "SCMP_CMP_GE": "DSC_GE", "SCMP_CMP_GT": "DSC_GT",
    "SCMP_CMP_MASKED_EQ": "DSC_MASKED_EQ",
}
ACTIONS = {ALLOW: "DSC_ALLOW", ERRNO: "DSC_ERRNO"}
CAP = re.compile(r"^#define\s+(CAP_\w+)\s+(\d+)\s*$")


def default_include() -> Path:
    import ziglang

    return Path(ziglang.__file__).parent / "lib" / "libc" / "include"


def capability_numbers(include: Path) -> dict[str, int]:
    """CAP_NAME -> number from linux/capability.h."""
    header = include / "any-linux-any" / "linux" / "capability.h"
    numbers = {}
    for line in header.read_text().splitlines():
        match = CAP.match(line.strip())
        if match:
            numbers[match.group(1)] = int(match.group(2))
    if len(numbers) < 38:
        raise SystemExit(f"only {len(numbers)} capabilities in {header}: wrong include dir?")
    return numbers


def _kernel(version: str | None) -> int:
    if not version:
        return 0
    major, _, minor = version.partition(".")
    return int(major) << 16 | int(minor or 0)


def _caps_mask(names: list[str] | None, caps: dict[str, int]) -> str:
    mask = 0
    for name in names or ():
        if name not in caps:
            raise SystemExit(f"unknown capability {name}")
        mask |= 1 << caps[name]
    return f"0x{mask:x}ull"


def _applies_to_arch(item: dict, arch: str) -> bool:
    native = NATIVE_ARCH[arch]
    includes, excludes = item.get("includes") or {}, item.get("excludes") or {}
    if native in (excludes.get("arches") or ()):
        return False
    return not includes.get("arches") or native in includes["arches"]


def _always_allowed(item: dict) -> bool:
    """An allow rule without argument, capability or kernel conditions: its names are allowed
    whatever the target's capabilities, so the table leaves them (and the rule) out."""
    includes, excludes = item.get("includes") or {}, item.get("excludes") or {}
    conditions = (includes.get("caps"), includes.get("minKernel"), excludes.get("caps"),
                  excludes.get("minKernel"), item.get("args"))
    return item["action"] == ALLOW and not any(conditions)


def _capability_dependent(item: dict) -> bool:
    includes, excludes = item.get("includes") or {}, item.get("excludes") or {}
    return bool(includes.get("caps") or excludes.get("caps"))


def _c_name(profile_id: str) -> str:
    return re.sub(r"\W", "_", profile_id)


def profile_tables(profile_id: str, arch: str, caps: dict[str, int]) -> tuple[list[str], str]:
    """C definitions for one profile on one architecture, and its dsc_profile initializer."""
    profile = load_default(profile_id)
    prefix = f"dsc_{_c_name(profile_id)}"
    lines: list[str] = []
    rules: list[str] = []
    items = [item for item in profile["syscalls"] if _applies_to_arch(item, arch)]
    always = {name for item in items if _always_allowed(item) for name in parse_rule(item).names}
    governed = {name for item in items if _capability_dependent(item)
                for name in parse_rule(item).names}
    for number, item in enumerate(items):
        rule = parse_rule(item)
        if _always_allowed(item):
            continue
        if rule.action not in ACTIONS:
            raise SystemExit(f"{profile_id}: action {rule.action} is not supported by the sensor")
        names = ", ".join(f'"{n}"' for n in sorted(rule.names))
        lines.append(f"static const char *const {prefix}_names_{number}[] = {{{names}, NULL}};")
        checks = "NULL"
        if rule.checks:
            checks = f"{prefix}_checks_{number}"
            body = ", ".join(
                f"{{{c.index}, {OPS[c.op]}, 0x{c.value:x}ull, 0x{c.value_two:x}ull}}"
                for c in rule.checks
            )
            lines.append(f"static const struct dsc_check {checks}[] = {{{body}}};")
        includes, excludes = item.get("includes") or {}, item.get("excludes") or {}
        errno = 0 if rule.errno is None else rule.errno
        rules.append(
            f"\t{{{prefix}_names_{number}, {ACTIONS[rule.action]}, {errno}, "
            f"{_caps_mask(includes.get('caps'), caps)}, {_caps_mask(excludes.get('caps'), caps)}, "
            f"0x{_kernel(includes.get('minKernel')):x}, 0x{_kernel(excludes.get('minKernel')):x}, "
            f"{len(rule.checks)}, {checks}}},"
        )
    lines.append(f"static const struct dsc_rule {prefix}_rules[] = {{")
    lines += rules
    lines.append("};")
    names = ", ".join(f'"{n}"' for n in sorted(governed - always))
    lines.append(f"static const char *const {prefix}_mentioned[] = {{{names}, NULL}};")
    default_errno = profile.get("defaultErrnoRet") or 1
    if profile["defaultAction"] != ERRNO:
        raise SystemExit(f"{profile_id}: the default action must be {ERRNO}")
    entry = (f'\t{{"{profile_id}", {default_errno}, {prefix}_rules, '
             f"sizeof {prefix}_rules / sizeof {prefix}_rules[0], {prefix}_mentioned}},")
    return lines, entry


def c_header(caps: dict[str, int]) -> str:
    out = [
        "/* Generated by sensors/gen_default_seccomp.py from the JSON profiles in",
        " * slimmer/profiles/data; do not edit. Included by deny.c (it defines the structures). */",
        "",
    ]
    for arch, condition in ARCH_CONDITIONS.items():
        out.append(f"#if {condition}")
        entries = []
        for profile_id in PROFILES:
            lines, entry = profile_tables(profile_id, arch, caps)
            out += lines
            entries.append(entry)
        out.append("/* the first one is the default */")
        out.append("static const struct dsc_profile dsc_profiles[] = {")
        out += entries
        out.append("};")
        out.append("#endif")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--include", type=Path, default=None, help="kernel UAPI include dir")
    args = parser.parse_args()
    OUT.write_text(c_header(capability_numbers(args.include or default_include())))
    print(f"wrote {OUT.relative_to(ROOT)} ({', '.join(PROFILES)})")


if __name__ == "__main__":
    main()
