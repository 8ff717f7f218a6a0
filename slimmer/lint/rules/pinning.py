"""SL1xxx: base images and packages pinned to versions; package-manager hygiene."""

from __future__ import annotations

from collections.abc import Iterator

from slimmer.lint.context import LintContext
from slimmer.lint.dockerfile import Stage
from slimmer.lint.model import Hit, Severity
from slimmer.lint.registry import rule
from slimmer.lint.rules.common import (
    GEM_VALUED,
    NPM_VALUED,
    after_subcommand,
    apk_packages,
    apt_packages,
    cache_mount_targets,
    is_apk_add,
    is_apt_install,
    is_pip_install,
    operands,
    pip_packages,
    pip_wrapper,
    short_list,
)

PIP_VERSION_SIGNS = ("==", ">=", "<=", ">", "<", "!=", "~=", "===")
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+", "git:", "svn:")
TRUTHY = frozenset({"1", "true", "on", "yes"})


def _external_images(ctx: LintContext) -> Iterator[Stage]:
    """Stages built on an image (not scratch, not an earlier stage, no unresolved variable)."""
    for stage in ctx.dockerfile.stages:
        if stage.parent is not None or stage.image.lower() == "scratch" or "$" in stage.image:
            continue
        if not stage.image:
            continue
        yield stage


@rule("SL1001", Severity.WARNING, "FROM without a tag", hadolint=("DL3006",))
def untagged_base(ctx: LintContext) -> Iterator[Hit]:
    for stage in _external_images(ctx):
        if stage.tag is None and stage.digest is None:
            yield Hit(
                stage.line,
                f"Pin a tag for {stage.image}: FROM {stage.image}:<version> "
                "(without one you get whatever `latest` is at build time)",
            )


@rule("SL1002", Severity.WARNING, "FROM with the latest tag", hadolint=("DL3007",))
def latest_base(ctx: LintContext) -> Iterator[Hit]:
    for stage in ctx.dockerfile.stages:
        if stage.tag == "latest" and "$" not in stage.image:
            yield Hit(
                stage.line,
                f"Replace {stage.image_name}:latest by a release tag "
                "(latest moves: rebuilds change silently)",
            )


@rule("SL1003", Severity.INFO, "FROM without a digest")
def undigested_base(ctx: LintContext) -> Iterator[Hit]:
    for stage in _external_images(ctx):
        if stage.digest is None:
            yield Hit(
                stage.line,
                f"Pin {stage.image} by digest too (FROM {stage.image}@sha256:...) so every "
                "rebuild starts from the same bytes; let a bot bump it",
            )


@rule("SL1004", Severity.WARNING, "apt-get install without versions", hadolint=("DL3008",))
def apt_unpinned(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        loose = [
            package
            for command in run.script.commands
            if is_apt_install(command)
            for package in apt_packages(command)
            if "=" not in package and "/" not in package and not package.endswith(".deb")
        ]
        if loose:
            yield Hit(
                run.line,
                f"Pin versions in apt-get install: {short_list(loose)} "
                f"(e.g. {loose[0]}=<version>) so a rebuild installs what was tested",
            )


@rule("SL1005", Severity.WARNING, "apk add without versions", hadolint=("DL3018",))
def apk_unpinned(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        loose = [
            package
            for command in run.script.commands
            if is_apk_add(command)
            for package in apk_packages(command)
            if "=" not in package and "~" not in package and not package.endswith(".apk")
        ]
        if loose:
            yield Hit(
                run.line,
                f"Pin versions in apk add: {short_list(loose)} (e.g. {loose[0]}=<version> "
                f"or {loose[0]}~<major.minor>)",
            )


def _pip_pinned(package: str) -> bool:
    if any(sign in package for sign in PIP_VERSION_SIGNS):
        return True
    if package.startswith(VCS_PREFIXES):
        return "@" in package.split("://", 1)[-1]
    return package.endswith((".whl", ".tar.gz", ".zip")) or "/" in package


@rule("SL1006", Severity.WARNING, "pip install without versions", hadolint=("DL3013",))
def pip_unpinned(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        loose: list[str] = []
        for command in run.script.commands:
            if not is_pip_install(command) or command.has_arg("-r", "--requirement", "."):
                continue
            if command.has_flag("c", "constraint") or any(
                arg.startswith("--requirement=") for arg in command.args
            ):
                continue
            loose += [p for p in pip_packages(command) if not _pip_pinned(p)]
        if loose:
            yield Hit(
                run.line,
                f"Pin versions in pip install: {short_list(loose)} (e.g. {loose[0]}==<version>), "
                "or install from a requirements or constraints file",
            )


def _npm_pinned(package: str) -> bool:
    if package.startswith(("git://", "git+ssh://", "git+http://", "git+https://")):
        return "#" in package
    if package.endswith((".tar", ".tar.gz", ".tgz")) or package.startswith(
        ("/", "./", "../", "~/")
    ):
        return True
    name = package.split("/", 1)[-1] if package.startswith("@") else package
    version = name.partition("@")[2]
    return bool(version) and version not in ("latest", "next")


@rule("SL1007", Severity.WARNING, "npm install without versions", hadolint=("DL3016",))
def npm_unpinned(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        loose = []
        for command in run.script.commands:
            words = operands(command, NPM_VALUED)
            if not command.is_("npm") or not words or words[0] not in ("install", "i", "add"):
                continue
            loose += [p for p in after_subcommand(words, words[0]) if not _npm_pinned(p)]
        if loose:
            yield Hit(
                run.line,
                f"Pin versions in npm install: {short_list(loose)} (e.g. {loose[0]}@<version>), "
                "or list them in package.json and run npm ci",
            )


@rule("SL1008", Severity.WARNING, "gem install without versions", hadolint=("DL3028",))
def gem_unpinned(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        loose = []
        for command in run.script.commands:
            if not command.is_("gem") or not command.has_arg("install", "i"):
                continue
            if command.has_arg("-v", "--version") or any(
                arg.startswith("--version=") for arg in command.args
            ):
                continue
            gems = after_subcommand(operands(command, GEM_VALUED), "install", "i")
            loose += [gem for gem in gems if ":" not in gem]
        if loose:
            yield Hit(
                run.line,
                f"Pin versions in gem install: {short_list(loose)} (e.g. {loose[0]}:<version> "
                "or -v <version>), or use a Gemfile.lock with bundle install",
            )


def _pip_cache_disabled_by_env(stage: Stage) -> bool:
    return any(
        instruction.keyword == "ENV"
        and key == "PIP_NO_CACHE_DIR"
        and (value or "").lower() in TRUTHY
        for ancestor in stage.lineage()
        for instruction in ancestor.instructions
        for key, value in instruction.pairs
    )


@rule("SL1009", Severity.WARNING, "pip install keeps its cache", hadolint=("DL3042",))
def pip_cache(ctx: LintContext) -> Iterator[Hit]:
    for stage, run in ctx.runs():
        if _pip_cache_disabled_by_env(stage) or any("pip" in t for t in cache_mount_targets(run)):
            continue
        text = run.script.source
        if any(f"PIP_NO_CACHE_DIR={value}" in text.lower() for value in TRUTHY):
            continue
        if any(
            is_pip_install(command)
            and not pip_wrapper(command)
            and "--no-cache-dir" not in command.args
            for command in run.script.commands
        ):
            yield Hit(
                run.line,
                "Add --no-cache-dir to pip install (or ENV PIP_NO_CACHE_DIR=1): the download "
                "cache stays in the layer",
            )


@rule("SL1010", Severity.INFO, "apt-get install with recommended packages", hadolint=("DL3015",))
def apt_recommends(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        if any(
            is_apt_install(command)
            and not command.has_flag(long="no-install-recommends")
            and not any("Install-Recommends=" in arg for arg in command.args)
            for command in run.script.commands
        ):
            yield Hit(
                run.line,
                "Add --no-install-recommends to apt-get install: recommended packages are "
                "rarely needed and often double the size",
            )


@rule("SL1011", Severity.WARNING, "apt-get update without install in the same RUN")
def apt_update_alone(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        apt = [c for c in run.script.commands if c.is_("apt-get", "apt")]
        updates = any(c.subcommand() == "update" for c in apt)
        installs = any(
            c.subcommand() in ("install", "upgrade", "dist-upgrade", "full-upgrade", "build-dep")
            for c in apt
        )
        if updates and not installs:
            yield Hit(
                run.line,
                "Run apt-get update and apt-get install in the same RUN: a cached update layer "
                "makes later installs use stale package lists",
            )


@rule("SL1012", Severity.WARNING, "apt lists left in the image", hadolint=("DL3009",))
def apt_lists_left(ctx: LintContext) -> Iterator[Hit]:
    shipped = ctx.dockerfile.shipped_stages()
    bases = {stage.parent.index for stage in ctx.dockerfile.stages if stage.parent}
    for stage, run in ctx.runs():
        if stage not in shipped and stage.index not in bases:
            continue
        if any(target.startswith("/var/lib/apt") for target in cache_mount_targets(run)):
            continue
        commands = run.script.commands
        updates = any(c.is_("apt-get", "apt") and c.subcommand() == "update" for c in commands)
        cleans = any(
            c.is_("rm") and any(arg.startswith("/var/lib/apt/lists") for arg in c.args)
            for c in commands
        )
        if updates and not cleans:
            yield Hit(
                run.line,
                "Remove the apt lists in the same RUN: && rm -rf /var/lib/apt/lists/* "
                "(they add tens of MB and go stale)",
            )


@rule("SL1013", Severity.WARNING, "apt-get upgrade in the Dockerfile")
def apt_upgrade(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        for command in run.script.commands:
            sub = command.subcommand()
            if command.is_("apt-get", "apt") and sub in ("upgrade", "dist-upgrade", "full-upgrade"):
                yield Hit(
                    run.line,
                    f"Don't run {command.basename} {sub}: use a newer base image tag instead "
                    "(an upgrade makes the build depend on the day it runs)",
                )
                break
