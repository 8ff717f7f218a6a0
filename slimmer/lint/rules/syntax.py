"""SL6xxx: instructions Docker rejects or reads differently than written; shell pitfalls."""

from __future__ import annotations

from collections.abc import Iterator

from slimmer.lint.context import LintContext
from slimmer.lint.dockerfile import KNOWN_INSTRUCTIONS, Instruction, Stage
from slimmer.lint.model import Hit, Severity
from slimmer.lint.registry import rule

JSON_FORM_INSTRUCTIONS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "COPY", "ADD"})
PROTOCOLS = frozenset({"tcp", "udp", "sctp"})
NON_POSIX_SHELLS = ("pwsh", "powershell", "cmd")
PIPEFAIL_SHELLS = frozenset({"bash", "zsh", "ash", "ksh", "mksh"})


@rule("SL6001", Severity.ERROR, "unknown instruction")
def unknown_instruction(ctx: LintContext) -> Iterator[Hit]:
    for instruction in ctx.dockerfile.instructions:
        if instruction.keyword not in KNOWN_INSTRUCTIONS:
            yield Hit(
                instruction.line,
                f"Unknown instruction {instruction.keyword}: fix the spelling, or add the "
                "missing \\ at the end of the line before",
            )


@rule("SL6002", Severity.ERROR, "invalid JSON array")
def bad_json(ctx: LintContext) -> Iterator[Hit]:
    for instruction in ctx.dockerfile.instructions:
        text = instruction.rest.strip()
        if instruction.keyword == "HEALTHCHECK" and text.upper().startswith("CMD "):
            text = text[4:].strip()
        elif instruction.keyword not in JSON_FORM_INSTRUCTIONS:
            continue
        probe = Instruction(instruction.keyword, text, instruction.line, instruction.end_line)
        if text.startswith("[") and probe.json_args is None:
            yield Hit(
                instruction.line,
                "Fix the JSON array (double quotes, commas, no trailing comma): as written "
                "Docker runs it as a shell command",
            )
        elif instruction.keyword == "SHELL" and probe.json_args is None:
            yield Hit(instruction.line, 'Write SHELL as a JSON array: SHELL ["/bin/bash", "-c"]')


@rule("SL6003", Severity.ERROR, "relative WORKDIR", hadolint=("DL3000",))
def relative_workdir(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("WORKDIR"):
        path = instruction.rest.strip().strip("\"'")
        windows = len(path) > 1 and path[1] == ":"
        if path and not path.startswith(("/", "$")) and not windows:
            yield Hit(
                instruction.line,
                f"Make WORKDIR absolute (WORKDIR /{path}): a relative one depends on the "
                "WORKDIR the base image happens to set",
            )


@rule("SL6004", Severity.WARNING, "MAINTAINER is deprecated", hadolint=("DL4000",))
def maintainer(ctx: LintContext) -> Iterator[Hit]:
    for instruction in ctx.dockerfile.instructions:
        if instruction.keyword == "MAINTAINER":
            yield Hit(
                instruction.line,
                'Replace MAINTAINER (deprecated) by LABEL org.opencontainers.image.authors="..."',
            )


def _bad_port(spec: str) -> bool:
    port, _, protocol = spec.partition("/")
    if protocol and protocol.lower() not in PROTOCOLS:
        return True
    low, _, high = port.partition("-")
    numbers = [low, high] if high else [low]
    return not all(n.isdigit() and 0 < int(n) <= 65535 for n in numbers)


@rule("SL6005", Severity.ERROR, "invalid port in EXPOSE", hadolint=("DL3011",))
def invalid_port(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("EXPOSE"):
        bad = [s for s in instruction.rest.split() if "$" not in s and _bad_port(s.strip("\"'"))]
        if bad:
            yield Hit(
                instruction.line,
                f"Fix EXPOSE {bad[0]}: a port is 1-65535, optionally /tcp, /udp or /sctp",
            )


@rule("SL6006", Severity.ERROR, "FROM a stage that is not defined before")
def from_later_stage(ctx: LintContext) -> Iterator[Hit]:
    stages = ctx.dockerfile.stages
    for stage in stages:
        name = stage.image.lower()
        later = [s for s in stages[stage.index :] if s.name == name]
        if stage.parent is None and later:
            yield Hit(
                stage.line,
                f"FROM {stage.image} names a stage that is defined at line {later[0].line}, not "
                f"before: move that stage up (as written Docker pulls an image {stage.image})",
            )


def _stage_reference_problem(value: str, stage: Stage, stages: list[Stage]) -> str | None:
    """Why `--from=value` in ``stage`` names no earlier stage (None: it is fine)."""
    if not value or "$" in value or ":" in value or "@" in value:
        return None
    if value.isdigit():
        return None if int(value) < stage.index else f"stage {value} is not an earlier stage"
    name = value.lower()
    if name == stage.name:
        return f"{value} is this stage itself"
    if any(s.name == name for s in stages[: stage.index]):
        return None
    return f"no earlier stage is named {value} (an image needs a tag: {value}:<version>)"


@rule("SL6007", Severity.ERROR, "--from names no earlier stage", hadolint=("DL3022", "DL3023"))
def unknown_copy_from(ctx: LintContext) -> Iterator[Hit]:
    stages = ctx.dockerfile.stages
    for stage, instruction in ctx.instructions("COPY", "RUN"):
        values = [v for k, v in instruction.flag_list if k == "from"]
        for name, flag in instruction.flag_list:
            if name == "mount":
                options = dict(part.partition("=")[::2] for part in flag.split(","))
                values += [options["from"]] if "from" in options else []
        for value in values:
            problem = _stage_reference_problem(value, stage, stages)
            if problem:
                yield Hit(instruction.line, f"Fix --from={value}: {problem}")


@rule("SL6008", Severity.ERROR, "stage name used twice", hadolint=("DL3024",))
def duplicate_stage(ctx: LintContext) -> Iterator[Hit]:
    seen: dict[str, int] = {}
    for stage in ctx.dockerfile.stages:
        if stage.name and stage.name in seen:
            yield Hit(
                stage.line,
                f"Rename this stage: {stage.name} is already the name of the stage at line "
                f"{seen[stage.name]}",
            )
        elif stage.name:
            seen[stage.name] = stage.line


def _pipefail(shell: tuple[str, ...]) -> bool:
    name = shell[0].rsplit("/", 1)[-1] if shell else ""
    if name.lower().startswith(NON_POSIX_SHELLS):
        return True  # not a POSIX shell: the rule does not apply
    options = shell[1:]
    return (
        name in PIPEFAIL_SHELLS
        and "pipefail" in options
        and any(o.startswith("-") and "o" in o for o in options)
    )


@rule("SL6009", Severity.WARNING, "pipe in RUN without pipefail", hadolint=("DL4006",))
def pipe_without_pipefail(ctx: LintContext) -> Iterator[Hit]:
    for _, run in ctx.runs():
        if run.script.pipelines and not _pipefail(run.shell):
            yield Hit(
                run.line,
                'Set SHELL ["/bin/bash", "-o", "pipefail", "-c"] before this RUN (on Alpine: '
                '["/bin/ash", "-o", "pipefail", "-c"]): without it a failing command before a '
                "pipe does not fail the build",
            )


@rule("SL6010", Severity.ERROR, "instruction before the first FROM", hadolint=("DL3061",))
def before_from(ctx: LintContext) -> Iterator[Hit]:
    for instruction in ctx.dockerfile.instructions:
        if instruction.keyword == "FROM":
            return
        if instruction.keyword != "ARG":
            yield Hit(
                instruction.line,
                f"Move {instruction.keyword} after FROM: only ARG may come before the first FROM",
            )
            return
    yield Hit(1, "Add a FROM: a Dockerfile starts from a base image (FROM scratch for none)")
