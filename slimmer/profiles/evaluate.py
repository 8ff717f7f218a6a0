"""What a Docker/OCI seccomp profile decides: the rules that apply to one container, and the
action a syscall with given arguments gets.

``specialize`` follows moby's ``setupSeccomp`` (profiles/seccomp/seccomp_linux.go): a rule applies
when the container's architecture, capabilities (its bounding set) and kernel meet the rule's
``includes`` and ``excludes``. ``Filter.decide`` follows the filter libseccomp builds from the
applying rules: a rule matches when every argument comparison holds (64-bit comparisons on 64-bit
ABIs, the low 32 bits on 32-bit ones); when several match, the most restrictive action wins (the
kernel's precedence: kill, trap, errno, notify, trace, log, allow); when none does, the default
action. ``SCMP_ACT_ERRNO`` without ``errnoRet`` answers EPERM, as runc does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EPERM = 1
ALLOW = "SCMP_ACT_ALLOW"
ERRNO = "SCMP_ACT_ERRNO"
LOG = "SCMP_ACT_LOG"
# most restrictive first (the kernel's precedence between filter results)
PRECEDENCE = (
    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", ERRNO,
    "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", LOG, ALLOW,
)
ALLOWING = frozenset({ALLOW, LOG})
# moby's name for the architecture the engine runs on (Go's GOARCH mapped by goToNative)
NATIVE_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
COMPARISONS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})
ARGS = 6


@dataclass(frozen=True)
class ArgCheck:
    """One argument comparison of a rule (``op`` is a libseccomp ``SCMP_CMP_*`` name)."""

    index: int
    op: str
    value: int
    value_two: int = 0

    def holds(self, args: Sequence[int], word: int = 8) -> bool:
        mask = (1 << (8 * word)) - 1
        arg = (args[self.index] if self.index < len(args) else 0) & mask
        value, value_two = self.value & mask, self.value_two & mask
        if self.op == "SCMP_CMP_MASKED_EQ":
            return arg & value == value_two
        return {
            "SCMP_CMP_NE": arg != value, "SCMP_CMP_LT": arg < value, "SCMP_CMP_LE": arg <= value,
            "SCMP_CMP_EQ": arg == value, "SCMP_CMP_GE": arg >= value, "SCMP_CMP_GT": arg > value,
        }[self.op]

    def as_json(self) -> dict:
        item = {"index": self.index, "value": self.value, "op": self.op}
        if self.op == "SCMP_CMP_MASKED_EQ" or self.value_two:
            item["valueTwo"] = self.value_two
        return item


@dataclass(frozen=True)
class Rule:
    """An applying rule: names, action (with errno for SCMP_ACT_ERRNO), argument comparisons."""

    names: frozenset[str]
    action: str
    errno: int | None = None
    checks: tuple[ArgCheck, ...] = ()

    def matches(self, args: Sequence[int], word: int) -> bool:
        return all(check.holds(args, word) for check in self.checks)


@dataclass(frozen=True)
class Decision:
    action: str
    errno: int | None = None  # for SCMP_ACT_ERRNO

    @property
    def allows(self) -> bool:
        return self.action in ALLOWING


@dataclass(frozen=True)
class Filter:
    """A profile as it applies to one container."""

    default: Decision
    rules: tuple[Rule, ...]

    def rules_for(self, name: str) -> list[Rule]:
        return [rule for rule in self.rules if name in rule.names]

    def decide(self, name: str, args: Sequence[int] = (), word: int = 8) -> Decision:
        """The action syscall ``name`` gets with ``args`` on an ABI of ``word``-byte arguments."""
        matching = [rule for rule in self.rules_for(name) if rule.matches(args, word)]
        if not matching:
            return self.default
        rule = min(matching, key=lambda r: PRECEDENCE.index(r.action))
        return Decision(rule.action, (EPERM if rule.errno is None else rule.errno)
                        if rule.action == ERRNO else None)

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(rule.names for rule in self.rules))

    def allows_always(self, name: str) -> bool:
        """An applying allow rule without argument comparisons names ``name``."""
        return any(rule.action in ALLOWING and not rule.checks for rule in self.rules_for(name))

    def allowed_names(self) -> frozenset[str]:
        """Names some arguments are allowed for (always, or under argument comparisons)."""
        return frozenset(
            name for rule in self.rules if rule.action in ALLOWING for name in rule.names
            if any(self.decide(name, args).allows for args in argument_space([self], name))
        )


def parse_rule(item: dict) -> Rule:
    """A profile's syscall entry as a Rule (its includes/excludes are not looked at)."""
    names = item.get("names") or ([item["name"]] if item.get("name") else [])
    checks = tuple(
        ArgCheck(int(arg["index"]), arg["op"], int(arg["value"]), int(arg.get("valueTwo") or 0))
        for arg in item.get("args") or ()
    )
    for check in checks:
        if check.op not in COMPARISONS or not 0 <= check.index < ARGS:
            raise ValueError(f"unknown argument comparison {check}")
    errno = item.get("errnoRet")
    return Rule(frozenset(names), item["action"], None if errno is None else int(errno), checks)


def applies(item: dict, arch: str, caps: frozenset[str], kernel: tuple[int, int] | None) -> bool:
    """moby's setupSeccomp conditions. ``kernel`` None: a current kernel (minKernel holds)."""
    native = NATIVE_ARCH.get(arch, arch)
    includes, excludes = item.get("includes") or {}, item.get("excludes") or {}
    if native in (excludes.get("arches") or ()):
        return False
    if any(cap in caps for cap in excludes.get("caps") or ()):
        return False
    if excludes.get("minKernel") and _kernel_at_least(kernel, excludes["minKernel"]):
        return False
    if includes.get("arches") and native not in includes["arches"]:
        return False
    if not all(cap in caps for cap in includes.get("caps") or ()):
        return False
    return not includes.get("minKernel") or _kernel_at_least(kernel, includes["minKernel"])


def _kernel_at_least(kernel: tuple[int, int] | None, version: str) -> bool:
    if kernel is None:
        return True
    major, _, minor = version.partition(".")
    return kernel >= (int(major), int(minor or 0))


def specialize(
    profile: dict, arch: str, caps: Iterable[str], kernel: tuple[int, int] | None = None
) -> Filter:
    """The filter ``profile`` gives a container of ``arch`` (x86_64, aarch64) whose bounding
    set is ``caps`` (``CAP_*`` names) on ``kernel`` (major, minor)."""
    caps = frozenset(caps)
    default_errno = profile.get("defaultErrnoRet")
    action = profile["defaultAction"]
    default = Decision(action, (EPERM if default_errno is None else int(default_errno))
                       if action == ERRNO else None)
    rules = tuple(
        parse_rule(item) for item in profile.get("syscalls") or ()
        if applies(item, arch, caps, kernel)
    )
    return Filter(default, rules)


def argument_space(filters: Sequence[Filter], name: str, word: int = 8) -> list[tuple[int, ...]]:
    """Argument vectors that reach every decision the filters can make for ``name``: for each
    compared argument, the compared values, their neighbours, the mask bits and the extremes."""
    top = (1 << (8 * word)) - 1
    candidates: dict[int, set[int]] = {}
    for check in (c for f in filters for rule in f.rules_for(name) for c in rule.checks):
        values = candidates.setdefault(check.index, {0, 1, top, 0xFFFFFFFF & top})
        for value in (check.value, check.value_two):
            values.update({value, value - 1, value + 1})
        if check.op == "SCMP_CMP_MASKED_EQ":
            bits = [1 << b for b in range(8 * word) if check.value >> b & 1]
            values.update(bits)
            values.update(check.value_two | bit for bit in bits)
            values.add(check.value_two | (top & ~check.value))
    indexes = sorted(candidates)
    space = []
    for combination in itertools.product(*(sorted(v & top for v in candidates[i])
                                           for i in indexes)):
        args = [0] * ARGS
        for index, value in zip(indexes, combination, strict=True):
            args[index] = value
        space.append(tuple(args))
    return space or [(0,) * ARGS]


@dataclass(frozen=True)
class Difference:
    name: str
    args: tuple[int, ...]
    word: int
    candidate: Decision
    reference: Decision


def weaker_points(
    candidate: Filter, reference: Filter, names: Iterable[str], words: Sequence[int] = (8, 4)
) -> list[Difference]:
    """Where ``candidate`` allows what ``reference`` does not, or denies with another errno
    where ``reference`` names one explicitly, over the argument space that matters."""
    found = []
    for name in sorted(set(names)):
        for word in words:
            for args in argument_space([candidate, reference], name, word):
                ours = candidate.decide(name, args, word)
                theirs = reference.decide(name, args, word)
                explicit = any(r.action == ERRNO and r.matches(args, word)
                               for r in reference.rules_for(name))
                if (ours.allows and not theirs.allows) or (
                        explicit and not ours.allows and ours != theirs):
                    found.append(Difference(name, args, word, ours, theirs))
    return found
