"""SL2xxx: who the container runs as and what it lets others do."""

from __future__ import annotations

import re
from collections.abc import Iterator

from slimmer.lint.context import LintContext
from slimmer.lint.model import Hit, Severity
from slimmer.lint.registry import rule
from slimmer.lint.rules.common import apk_packages, apt_packages, is_apk_add, is_apt_install

ROOT_USERS = frozenset({"root", "0"})
NON_ROOT_IMAGE_HINTS = ("nonroot", "non-root", "unprivileged", "rootless")
SSH_SERVERS = frozenset({"openssh-server", "dropbear", "openssh"})
# chmod modes that let everyone write: an octal mode whose last digit has the write bit, or
# a symbolic mode giving w to o (others) or a (all)
WORLD_WRITABLE_OCTAL = re.compile(r"^0*[0-7]{0,3}[2367]$")
WORLD_WRITABLE_SYMBOLIC = re.compile(r"(^|,)[ugo]*[ao][ugo]*[+=][rwxXst]*w")


def _is_root(user: str) -> bool:
    return user.split(":", 1)[0].strip("\"'") in ROOT_USERS


@rule("SL2001", Severity.WARNING, "last USER of a stage is root", hadolint=("DL3002",))
def last_user_root(ctx: LintContext) -> Iterator[Hit]:
    for stage in ctx.dockerfile.stages:
        users = [i for i in stage.instructions if i.keyword == "USER" and not i.onbuild]
        if users and _is_root(users[-1].rest):
            yield Hit(
                users[-1].line,
                "Switch to a non-root user after the root steps (USER app or USER 10001): "
                "this stage ends as root",
            )


@rule("SL2002", Severity.WARNING, "final stage runs as root (no USER)")
def no_user(ctx: LintContext) -> Iterator[Hit]:
    final = ctx.dockerfile.final_stage
    if final is None:
        return
    lineage = final.lineage()
    if any(i.keyword == "USER" and not i.onbuild for s in lineage for i in s.instructions):
        return
    base = lineage[-1].image.lower()
    if base == "scratch" and not any(s.instructions for s in lineage):
        return
    if any(hint in base for hint in NON_ROOT_IMAGE_HINTS):
        return
    yield Hit(
        final.line,
        "Add a USER with a non-root user to the final stage (e.g. RUN useradd -r -u 10001 app "
        "and USER 10001): without one the container runs as root",
    )


@rule("SL2003", Severity.ERROR, "sudo in RUN", hadolint=("DL3004",))
def sudo(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        if run.script.uses("sudo"):
            yield Hit(
                run.line,
                "Remove sudo: RUN already runs as the current USER; switch with USER root ... "
                "USER app, or use gosu/su-exec in an entrypoint",
            )


def _world_writable(mode: str) -> bool:
    digits = mode.lstrip("0")
    if len(digits) == 4 and digits.isdigit() and int(digits[0]) & 1:
        return False  # sticky bit: a shared temp directory like /tmp (1777)
    return bool(WORLD_WRITABLE_OCTAL.match(mode) or WORLD_WRITABLE_SYMBOLIC.search(mode))


@rule("SL2004", Severity.WARNING, "world-writable chmod (777)")
def chmod_world_writable(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        for command in run.script.find("chmod"):
            modes = [arg for arg in command.args if not arg.startswith("-") or arg[1:2] in "rwx"]
            if modes and _world_writable(modes[0]):
                yield Hit(
                    run.line,
                    f"Don't make files world-writable (chmod {modes[0]}): give the app user "
                    "ownership (COPY --chown, chown) and use 755/644",
                )
                break


@rule("SL2005", Severity.WARNING, "SSH server in the image")
def ssh_server(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("EXPOSE"):
        if any(port.split("/")[0] == "22" for port in instruction.rest.split()):
            yield Hit(
                instruction.line,
                "Don't expose SSH (port 22): use docker exec / kubectl exec to get a shell",
            )
    for _, run in ctx.runs():
        installed = [
            package.split("=")[0]
            for command in run.script.commands
            for package in (
                apt_packages(command)
                if is_apt_install(command)
                else apk_packages(command)
                if is_apk_add(command)
                else []
            )
        ]
        servers = [name for name in installed if name in SSH_SERVERS]
        if servers:
            yield Hit(
                run.line,
                f"Don't install an SSH server ({servers[0]}): use docker exec / kubectl exec; "
                "an sshd in a container is one more way in and one more process to manage",
            )
