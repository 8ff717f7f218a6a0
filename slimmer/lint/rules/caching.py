"""SL5xxx: layer caching and image size."""

from __future__ import annotations

from collections.abc import Iterator

from slimmer.lint.context import LintContext, copy_sources
from slimmer.lint.dockerfile import Instruction, Stage
from slimmer.lint.model import Hit, Severity
from slimmer.lint.registry import rule
from slimmer.lint.rules.buildcontext import WHOLE_CONTEXT
from slimmer.lint.rules.common import (
    apk_packages,
    apt_packages,
    cache_mount_targets,
    is_apk_add,
    is_apt_install,
    is_pip_install,
    operands,
    short_list,
)
from slimmer.lint.shell import SHELLS, Command, unwrap

ARCHIVE_SUFFIXES = (
    ".tar", ".Z", ".bz2", ".gz", ".lz", ".lzma", ".tZ", ".tb2", ".tbz", ".tbz2", ".tgz",
    ".tlz", ".tpz", ".txz", ".xz", ".zst",
)  # fmt: skip
BUILD_TOOLS = frozenset(
    {"gcc", "g++", "gcc-c++", "make", "cmake", "build-essential", "build-base", "clang",
     "git", "autoconf", "automake", "libtool", "pkg-config", "pkgconf", "musl-dev",
     "linux-headers", "golang", "rustc", "cargo", "maven", "gradle"}
)  # fmt: skip
TOOLCHAIN_IMAGES = frozenset({"golang", "rust", "maven", "gradle", "sdk", "openjdk"})
COMPILE_COMMANDS = {
    "go": ("build", "install"),
    "cargo": ("build", "install"),
    "dotnet": ("publish", "build"),
}
REMOVERS = {"apt-get": ("purge", "remove", "autoremove"), "apk": ("del",), "dnf": ("remove",)}
MANIFESTS = {
    "pip": "requirements.txt (or pyproject.toml and the lock file)",
    "npm": "package.json package-lock.json",
    "yarn": "package.json yarn.lock",
    "pnpm": "package.json pnpm-lock.yaml",
    "bundle": "Gemfile Gemfile.lock",
    "composer": "composer.json composer.lock",
    "go": "go.mod go.sum",
    "mvn": "pom.xml",
    "gradle": "build.gradle settings.gradle",
    "cargo": "Cargo.toml Cargo.lock",
    "poetry": "pyproject.toml poetry.lock",
    "dotnet": "*.csproj",
}
DOWNLOADERS = ("curl", "wget")
STDIN_RUNNERS = SHELLS | {"python", "python3", "perl", "ruby", "node"}


def _dependency_tool(command: Command) -> str | None:
    """The package tool when ``command`` installs the project's dependencies from its
    manifests (not a list of named packages)."""
    name, sub = command.basename, command.subcommand()
    if is_pip_install(command):
        manifest = command.has_arg("-r", "--requirement", ".", "-e") or any(
            a.startswith("--requirement=") for a in command.args
        )
        return "pip" if manifest else None
    if name == "npm" and (sub == "ci" or (sub in ("install", "i") and len(operands(command)) == 1)):
        return "npm"
    if name in ("yarn", "pnpm") and sub in ("", "install"):
        return name
    simple = {"bundle": "install", "composer": "install", "poetry": "install", "dotnet": "restore"}
    if simple.get(name) == sub:
        return name
    if name == "go" and (command.args[:2] == ("mod", "download") or sub in ("build", "install")):
        return "go"
    if name in ("mvn", "mvnw", "gradle", "gradlew") and sub:
        return "gradle" if "gradle" in name else "mvn"
    if name == "cargo" and sub in ("build", "fetch", "install"):
        return "cargo"
    return None


def _installs(run: Instruction) -> Command | None:
    return next((c for c in run.script.commands if _dependency_tool(c)), None)


@rule("SL5001", Severity.WARNING, "whole context copied before the dependency install")
def copy_before_install(ctx: LintContext) -> Iterator[Hit]:
    for stage in ctx.dockerfile.stages:
        copy: Instruction | None = None
        for instruction in stage.instructions:
            if instruction.keyword == "RUN" and _installs(instruction):
                if copy is None:
                    break  # dependencies installed before the code is copied: good
                install = _installs(instruction)
                assert install is not None
                tool = _dependency_tool(install) or ""
                yield Hit(
                    copy.line,
                    f"Copy the dependency manifests ({MANIFESTS.get(tool, 'lock files')}) and "
                    f"install before COPY {_whole(copy)}: `{install}` (line {instruction.line}) "
                    "reruns on every code change",
                )
                break
            if instruction.keyword in ("COPY", "ADD") and copy is None and _whole(instruction):
                copy = instruction


def _whole(instruction: Instruction) -> str:
    if "from" in instruction.flags:
        return ""
    return next((s for s in copy_sources(instruction) if s in WHOLE_CONTEXT), "")


def _installed_packages(command: Command) -> list[str]:
    if is_apt_install(command):
        return apt_packages(command)
    if is_apk_add(command):
        return apk_packages(command)
    if command.is_("yum", "dnf", "microdnf") and "install" in command.args:
        return [a for a in operands(command) if a != "install"]
    return []


def _removes_packages(run: Instruction) -> bool:
    return any(
        command.basename in REMOVERS and command.subcommand() in REMOVERS[command.basename]
        for command in run.script.commands
    ) or (run.script.uses("yum") and "remove" in run.script.source)


@rule("SL5002", Severity.WARNING, "build tools in the final image")
def build_tools_shipped(ctx: LintContext) -> Iterator[Hit]:
    for stage, run in ctx.runs():
        if stage not in ctx.dockerfile.shipped_stages() or _removes_packages(run):
            continue
        names = [
            package.split("=")[0]
            for command in run.script.commands
            for package in _installed_packages(command)
        ]
        tools = [name for name in names if name in BUILD_TOOLS or name.endswith(("-dev", "-devel"))]
        if tools:
            yield Hit(
                run.line,
                f"Build tools stay in the final image ({short_list(tools)}): compile in a build "
                "stage and COPY --from it only the result, or remove them in the same RUN",
            )


def _compiles(stage: Stage) -> bool:
    for instruction in stage.instructions:
        if instruction.keyword != "RUN":
            continue
        for command in instruction.script.commands:
            if command.subcommand() in COMPILE_COMMANDS.get(command.basename, ()):
                return True
            if command.basename in ("mvn", "mvnw", "gradle", "gradlew", "javac"):
                return True
    return False


@rule("SL5003", Severity.WARNING, "final stage built on a compiler toolchain image")
def toolchain_final(ctx: LintContext) -> Iterator[Hit]:
    final = ctx.dockerfile.final_stage
    if final is None:
        return
    base = final.lineage()[-1]
    name = base.image_name.rsplit("/", 1)[-1]
    jdk = name in ("eclipse-temurin", "amazoncorretto") and "jdk" in (base.tag or "")
    if (name in TOOLCHAIN_IMAGES or jdk) and _compiles(final):
        yield Hit(
            final.line,
            f"The final stage runs on {base.image}, a compiler toolchain of hundreds of MB: "
            "build in a builder stage and COPY the result into a runtime image "
            "(distroless, a -jre or -slim image)",
        )


def _is_url(source: str) -> bool:
    return source.strip("\"'").startswith(("http://", "https://"))


@rule("SL5004", Severity.WARNING, "ADD where COPY does", hadolint=("DL3020",))
def add_local(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("ADD"):
        local = [
            s
            for s in copy_sources(instruction)
            if not _is_url(s) and not s.strip("\"'").endswith(ARCHIVE_SUFFIXES)
        ]
        if local:
            yield Hit(
                instruction.line,
                f"Use COPY for {local[0]}: ADD also unpacks archives and fetches URLs, COPY "
                "only copies",
            )


@rule("SL5005", Severity.WARNING, "ADD of a URL without a checksum")
def add_url_unchecked(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("ADD"):
        urls = [s for s in copy_sources(instruction) if _is_url(s) and not s.endswith(".git")]
        if urls and "checksum" not in instruction.flags:
            yield Hit(
                instruction.line,
                f"Verify what ADD downloads: ADD --checksum=sha256:<hash> {urls[0]} ... "
                "(or RUN curl -o and sha256sum -c)",
            )


def _runs_stdin(command: Command) -> bool:
    if not command.is_(*STDIN_RUNNERS):
        return False
    files = [arg for arg in operands(command) if arg != "-"]
    return not files or command.has_flag("s")


def _pipes_download_to_shell(run: Instruction) -> bool:
    for pipeline in run.script.pipelines:
        fetched = False
        for command in pipeline:
            inner = unwrap(command) or command
            if fetched and _runs_stdin(inner):
                return True
            fetched = fetched or command.is_(*DOWNLOADERS)
    source = run.script.source
    return any(
        command.is_(*SHELLS) and any(f"{o}{d}" in source for o in ("$(", "`") for d in DOWNLOADERS)
        for command in run.script.commands
    )


@rule("SL5006", Severity.WARNING, "download piped into a shell")
def curl_pipe_shell(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        if _pipes_download_to_shell(run):
            yield Hit(
                run.line,
                "Don't pipe a download into a shell (curl | sh): download to a file, check its "
                "sha256, then run it, or install a pinned package",
            )


def _run_groups(stage: Stage) -> list[list[Instruction]]:
    """Runs of consecutive RUN instructions with the same flags."""
    groups: list[list[Instruction]] = []
    previous: Instruction | None = None
    for instruction in stage.instructions:
        if instruction.keyword != "RUN" or instruction.onbuild:
            previous = None
            continue
        if previous is not None and instruction.flag_list == previous.flag_list:
            groups[-1].append(instruction)
        else:
            groups.append([instruction])
        previous = instruction
    return groups


@rule("SL5007", Severity.INFO, "many consecutive RUN layers")
def consecutive_runs(ctx: LintContext) -> Iterator[Hit]:
    for stage in ctx.dockerfile.stages:
        for group in _run_groups(stage):
            if len(group) >= 3:
                yield Hit(
                    group[0].line,
                    f"{len(group)} RUN instructions in a row (lines {group[0].line}-"
                    f"{group[-1].line}) make {len(group)} layers: join them with && or a heredoc",
                    end_line=group[-1].end_line,
                )


@rule("SL5008", Severity.INFO, "port exposed without HEALTHCHECK")
def no_healthcheck(ctx: LintContext) -> Iterator[Hit]:
    shipped = ctx.dockerfile.shipped_stages()
    instructions = [i for stage in shipped for i in stage.instructions if not i.onbuild]
    exposes = [i for i in instructions if i.keyword == "EXPOSE"]
    if exposes and not any(i.keyword == "HEALTHCHECK" for i in instructions):
        yield Hit(
            exposes[-1].line,
            'Add a HEALTHCHECK for the exposed port (HEALTHCHECK CMD ["/app", "health"]) so '
            "docker and compose see when the service stops answering",
        )


@rule("SL5009", Severity.INFO, "apk add keeps its cache", hadolint=("DL3019",))
def apk_cache(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        if any(t.startswith("/var/cache/apk") for t in cache_mount_targets(run)):
            continue
        if any(is_apk_add(c) and "--no-cache" not in c.args for c in run.script.commands):
            yield Hit(
                run.line,
                "Use apk add --no-cache: it needs no apk update and leaves no index in the layer",
            )
