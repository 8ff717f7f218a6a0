"""The seccomp profile evaluator: moby's rule conditions and libseccomp's argument comparisons."""

from __future__ import annotations

import pytest

from slimmer.profiles.docker_default import DOCKER_20_10, DOCKER_DEFAULT_CAPS, load_default
from slimmer.profiles.evaluate import (
    ArgCheck,
    Decision,
    argument_space,
    parse_rule,
    specialize,
    weaker_points,
)

EPERM = Decision("SCMP_ACT_ERRNO", 1)
ALLOW = Decision("SCMP_ACT_ALLOW")
ADMIN = DOCKER_DEFAULT_CAPS | {"CAP_SYS_ADMIN"}


@pytest.mark.parametrize(
    ("caps", "name", "args", "decision"),
    [
        (DOCKER_DEFAULT_CAPS, "unshare", (), EPERM),
        (ADMIN, "unshare", (), ALLOW),
        (DOCKER_DEFAULT_CAPS, "clone3", (), Decision("SCMP_ACT_ERRNO", 38)),
        (ADMIN, "clone3", (), ALLOW),
        (DOCKER_DEFAULT_CAPS, "clone", (0x11,), ALLOW),
        (DOCKER_DEFAULT_CAPS, "clone", (0x10000011,), EPERM),
        (ADMIN, "clone", (0x10000011,), ALLOW),
        (DOCKER_DEFAULT_CAPS, "personality", (0xFFFFFFFF,), ALLOW),
        (DOCKER_DEFAULT_CAPS, "personality", (6,), EPERM),
        (DOCKER_DEFAULT_CAPS, "kcmp", (), EPERM),
        (DOCKER_DEFAULT_CAPS | {"CAP_SYS_PTRACE"}, "kcmp", (), ALLOW),
        (DOCKER_DEFAULT_CAPS, "name_to_handle_at", (), EPERM),  # 20.10.24: SYS_ADMIN only
        (DOCKER_DEFAULT_CAPS, "socket", (40,), ALLOW),  # 20.10: every family
        (DOCKER_DEFAULT_CAPS, "read", (), ALLOW),
        (DOCKER_DEFAULT_CAPS, "no_such_call", (), EPERM),
    ],
)
def test_docker_20_10_decisions(caps, name, args, decision) -> None:
    filt = specialize(load_default(DOCKER_20_10), "x86_64", caps, (6, 1))
    assert filt.decide(name, args) == decision


def test_kernel_arch_and_exclusions() -> None:
    profile = load_default(DOCKER_20_10)
    assert specialize(profile, "x86_64", DOCKER_DEFAULT_CAPS, (4, 4)).decide("ptrace") == EPERM
    assert specialize(profile, "x86_64", DOCKER_DEFAULT_CAPS, (4, 8)).decide("ptrace") == ALLOW
    assert specialize(profile, "x86_64", DOCKER_DEFAULT_CAPS).decide("arch_prctl") == ALLOW
    assert specialize(profile, "aarch64", DOCKER_DEFAULT_CAPS).decide("arch_prctl") == EPERM
    custom = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["a"], "action": "SCMP_ACT_ERRNO", "excludes": {"minKernel": "5.0"}},
        {"names": ["b"], "action": "SCMP_ACT_ERRNO", "excludes": {"arches": ["amd64"]}},
    ]}
    assert specialize(custom, "x86_64", frozenset(), (4, 19)).decide("a") == EPERM
    assert specialize(custom, "x86_64", frozenset(), (5, 0)).decide("a") == ALLOW
    assert specialize(custom, "x86_64", frozenset()).decide("b") == ALLOW
    assert specialize(custom, "aarch64", frozenset()).decide("b") == EPERM


def test_comparisons_by_word_size() -> None:
    eq = ArgCheck(0, "SCMP_CMP_EQ", 0xFFFFFFFF)
    assert eq.holds((0xFFFFFFFF,)) and not eq.holds((0x1FFFFFFFF,))
    assert eq.holds((0x1FFFFFFFF,), word=4)  # 32-bit ABIs compare the low word
    masked = ArgCheck(0, "SCMP_CMP_MASKED_EQ", 0x7E020000, 0)
    assert masked.holds((0x11,)) and not masked.holds((0x20000,))
    greater = ArgCheck(1, "SCMP_CMP_GT", 5)
    assert greater.holds((0, 6)) and not greater.holds(())
    assert ArgCheck(0, "SCMP_CMP_LE", 5).holds((5,)) and ArgCheck(0, "SCMP_CMP_NE", 5).holds((4,))
    with pytest.raises(ValueError):
        parse_rule({"names": ["x"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]})


def test_most_restrictive_matching_rule_wins() -> None:
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["x"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["x"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
    ]}
    filt = specialize(profile, "x86_64", frozenset())
    assert filt.decide("x", (1,)) == Decision("SCMP_ACT_ERRNO", 13)
    assert filt.decide("x", (2,)) == ALLOW


def test_argument_space_reaches_every_branch() -> None:
    filt = specialize(load_default(DOCKER_20_10), "x86_64", DOCKER_DEFAULT_CAPS)
    space = argument_space([filt], "personality")
    assert {args[0] for args in space} >= {0, 8, 0x20000, 0x20008, 0xFFFFFFFF, 7, 2**64 - 1}
    decisions = {filt.decide("clone", args) for args in argument_space([filt], "clone")}
    assert decisions == {ALLOW, EPERM}


def test_weaker_points_names_the_argument() -> None:
    default = specialize(load_default(DOCKER_20_10), "x86_64", DOCKER_DEFAULT_CAPS)
    loose = specialize({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_LE"}]},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO"},
    ]}, "x86_64", frozenset())
    found = {(p.name, p.args[0]) for p in weaker_points(loose, default, ["personality", "clone3"])}
    assert ("personality", 7) in found and ("personality", 8) not in found
    assert ("clone3", 0) in found  # EPERM where the default answers ENOSYS
