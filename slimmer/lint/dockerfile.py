"""Parse a Dockerfile into instructions and stages, around `dockerfile-parse`.

dockerfile-parse splits the file into instructions (line continuations, the `escape` directive,
comments inside continuations, line numbers). Two gaps are filled around it without a second
parser: heredoc bodies (`RUN <<EOF` ... `EOF`), which it would read as instructions, are taken
out of the text (replaced by empty lines, so line numbers hold) and kept on their instruction;
an empty line inside a continuation, which BuildKit skips but dockerfile-parse takes as the end
of the instruction, is replaced by a lone escape character. The rest (flags, JSON or shell form,
`FROM image AS name`, build arguments, stages) is read from each instruction's value.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from dataclasses import dataclass, field
from functools import cached_property

from dockerfile_parse import DockerfileParser

from slimmer.lint.shell import SHELLS, ShellScript, parse_shell

KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)  # fmt: skip
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
HEREDOC_MARKER = re.compile(r"(?<!<)<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
ESCAPE_DIRECTIVE = re.compile(r"^\s*#\s*escape\s*=\s*([\\`])\s*$", re.I)
DIRECTIVE = re.compile(r"^\s*#\s*[a-z]+\s*=", re.I)
VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass(frozen=True)
class Heredoc:
    name: str
    body: str
    line: int  # 1-based line of the first body line


@dataclass
class Instruction:
    keyword: str  # upper case, e.g. RUN; for ONBUILD RUN x: RUN with onbuild=True
    value: str  # everything after the keyword, continuations joined
    line: int  # 1-based first line
    end_line: int
    heredocs: list[Heredoc] = field(default_factory=list)
    onbuild: bool = False
    shell: tuple[str, ...] = DEFAULT_SHELL  # the SHELL in force (for RUN, CMD, ENTRYPOINT)

    @cached_property
    def flags(self) -> dict[str, str]:
        """Leading `--name=value` options (`--from`, `--mount`, `--chown`, `--platform`...)."""
        return dict(_split_flags(self.value)[0])

    @cached_property
    def flag_list(self) -> list[tuple[str, str]]:
        return _split_flags(self.value)[0]

    @cached_property
    def rest(self) -> str:
        """The value without its leading options."""
        return _split_flags(self.value)[1]

    @cached_property
    def json_args(self) -> list[str] | None:
        """The exec-form arguments, or None for the shell form (also for broken JSON, which
        Docker runs as a shell command)."""
        text = self.rest.strip()
        if not text.startswith("["):
            return None
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
        return None

    @property
    def looks_like_json(self) -> bool:
        return self.rest.strip().startswith("[")

    @cached_property
    def script(self) -> ShellScript:
        """What a shell-form RUN/CMD/ENTRYPOINT runs: its text and its heredoc bodies. An
        exec form that starts a shell (`["sh", "-c", "..."]`) gives that shell's script."""
        args = self.json_args
        if args is not None:
            if args and args[0].rsplit("/", 1)[-1] in SHELLS and "-c" in args[1:-1]:
                return parse_shell(args[-1])
            return ShellScript(" ".join(args))
        parts = [self.rest]
        if self.keyword == "RUN" and self.heredocs:
            first = self.rest.split(None, 1)[0] if self.rest.strip() else ""
            if first.startswith("<<"):  # RUN <<EOF: the body is the script
                parts = [heredoc.body for heredoc in self.heredocs]
            elif first.rsplit("/", 1)[-1] in SHELLS:  # RUN bash <<EOF: so is it
                parts += [heredoc.body for heredoc in self.heredocs]
        return parse_shell("\n".join(parts))

    @cached_property
    def pairs(self) -> list[tuple[str, str | None]]:
        """The KEY=VALUE pairs of ENV, ARG and LABEL (value None: an ARG without default);
        the legacy `ENV KEY value words` form gives one pair."""
        try:
            words = shlex.split(self.rest)
        except ValueError:
            words = self.rest.split()
        if not words:
            return []
        if self.keyword == "ENV" and "=" not in words[0]:
            legacy = self.rest.split(None, 1)
            return [(words[0], legacy[1].strip() if len(legacy) > 1 else "")]
        pairs: list[tuple[str, str | None]] = []
        for word in words:
            key, equals, value = word.partition("=")
            pairs.append((key, value if equals else None))
        return pairs


@dataclass
class Stage:
    index: int
    image: str  # as written, build arguments substituted where they have a default
    name: str | None  # the AS name, lower case
    line: int
    platform: str = ""
    parent: Stage | None = None  # the earlier stage this one is built FROM
    shell: tuple[str, ...] = DEFAULT_SHELL  # the SHELL in force at its end
    instructions: list[Instruction] = field(default_factory=list)  # after its FROM

    @property
    def image_name(self) -> str:
        return split_image(self.image)[0]

    @property
    def tag(self) -> str | None:
        return split_image(self.image)[1]

    @property
    def digest(self) -> str | None:
        return split_image(self.image)[2]

    def lineage(self) -> list[Stage]:
        """This stage and the stages it is built FROM, nearest first."""
        chain: list[Stage] = []
        stage: Stage | None = self
        while stage is not None and stage not in chain:
            chain.append(stage)
            stage = stage.parent
        return chain


@dataclass
class Dockerfile:
    path: str
    text: str
    instructions: list[Instruction]  # in file order, ONBUILD content unwrapped
    stages: list[Stage]
    global_args: dict[str, str]
    comments: dict[int, str]  # 1-based line -> comment text (for inline suppressions)
    escape: str = "\\"

    @property
    def final_stage(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def stage_of(self, instruction: Instruction) -> Stage | None:
        for stage in self.stages:
            if instruction in stage.instructions:
                return stage
        return None

    def shipped_stages(self) -> list[Stage]:
        """The final stage and the stages it is built FROM: their files end up in the image."""
        final = self.final_stage
        return final.lineage() if final else []


def split_image(reference: str) -> tuple[str, str | None, str | None]:
    """`registry:5000/team/app:1.2@sha256:ab` -> ("registry:5000/team/app", "1.2", "sha256:ab")."""
    digest = None
    if "@" in reference:
        reference, digest = reference.split("@", 1)
    name, tag = reference, None
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        name, tag = reference[:colon], reference[colon + 1 :]
    return name, tag, digest


def substitute(text: str, variables: dict[str, str]) -> str:
    """Expand `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alternative}` like BuildKit does;
    unknown variables are left as written."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3) or ""
        value = variables.get(name)
        if operator in (":-", "-"):
            return value if value else word
        if operator in (":+", "+"):
            return word if value else ""
        return value if value is not None else match.group(0)

    return VARIABLE.sub(replace, text)


def parse_dockerfile(text: str, path: str = "Dockerfile") -> Dockerfile:
    lines = text.splitlines(keepends=True)
    escape = _escape_char(lines)
    prepared = _join_blank_continuations(list(lines), escape)
    structure, heredocs = _parse_with_heredocs(prepared, lines)
    comments = {
        entry["startline"] + 1: entry["value"]
        for entry in structure
        if entry["instruction"] == "COMMENT"
    }
    instructions = _instructions(structure, heredocs)
    stages, global_args = _stages(instructions)
    return Dockerfile(path, text, instructions, stages, global_args, comments, escape)


def _escape_char(lines: list[str]) -> str:
    for line in lines:
        match = ESCAPE_DIRECTIVE.match(line)
        if match:
            return match.group(1)
        if not DIRECTIVE.match(line):
            break
    return "\\"


def _join_blank_continuations(lines: list[str], escape: str) -> list[str]:
    """BuildKit skips empty lines inside a continuation; make them continue explicitly."""
    continuing = False
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            if continuing:
                lines[number] = escape + "\n"
            continue
        if stripped.startswith("#"):
            continue
        continuing = stripped.endswith(escape)
    return lines


def _parse_with_heredocs(
    prepared: list[str], original: list[str]
) -> tuple[list[dict], dict[int, list[Heredoc]]]:
    """Parse; take each heredoc body out (from the original lines), parse again."""
    heredocs: dict[int, list[Heredoc]] = {}
    while True:
        structure = _structure(prepared)
        pending = next(
            (
                entry
                for entry in structure
                if _heredoc_keyword(entry) in HEREDOC_INSTRUCTIONS
                and entry["startline"] not in heredocs
                and HEREDOC_MARKER.search(entry["value"])
            ),
            None,
        )
        if pending is None:
            return structure, heredocs
        bodies = []
        cursor = pending["endline"] + 1
        for match in HEREDOC_MARKER.finditer(pending["value"]):
            body, cursor = _take_heredoc(original, cursor, match.group(3), bool(match.group(1)))
            bodies.append(body)
        for number in range(pending["endline"] + 1, cursor):
            prepared[number] = "\n"
        heredocs[pending["startline"]] = bodies


def _heredoc_keyword(entry: dict) -> str:
    keyword = entry["instruction"]
    if keyword == "ONBUILD":
        return entry["value"].split(None, 1)[0].upper() if entry["value"].strip() else ""
    return keyword


def _take_heredoc(lines: list[str], start: int, name: str, strip_tabs: bool) -> tuple[Heredoc, int]:
    """The body from line index ``start`` to the line that is ``name``; returns the index after
    the terminator (the end of the file when there is none)."""
    body: list[str] = []
    for number in range(start, len(lines)):
        line = lines[number]
        check = line.lstrip("\t") if strip_tabs else line
        if check.rstrip("\r\n") == name:
            return Heredoc(name, "".join(body), start + 1), number + 1
        body.append(line.lstrip("\t") if strip_tabs else line)
    return Heredoc(name, "".join(body), start + 1), len(lines)


def _structure(lines: list[str]) -> list[dict]:
    parser = DockerfileParser(fileobj=io.BytesIO("".join(lines).encode("utf-8")))
    return parser.structure


def _instructions(structure: list[dict], heredocs: dict[int, list[Heredoc]]) -> list[Instruction]:
    instructions = []
    for entry in structure:
        keyword, value = entry["instruction"], entry["value"].strip()
        if keyword == "COMMENT":
            continue
        onbuild = False
        if keyword == "ONBUILD" and value:
            inner, _, value = value.partition(" ")
            keyword, value, onbuild = inner.upper(), value.strip(), True
        instructions.append(
            Instruction(
                keyword,
                value,
                entry["startline"] + 1,
                entry["endline"] + 1,
                heredocs.get(entry["startline"], []),
                onbuild,
            )
        )
    return instructions


def _stages(instructions: list[Instruction]) -> tuple[list[Stage], dict[str, str]]:
    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    shell: tuple[str, ...] = DEFAULT_SHELL
    for instruction in instructions:
        if instruction.keyword == "FROM" and not instruction.onbuild:
            stages.append(_from(instruction, stages, global_args))
            parent = stages[-1].parent  # a stage built FROM another keeps its SHELL
            shell = parent.shell if parent else DEFAULT_SHELL
            continue
        if not stages:
            if instruction.keyword == "ARG":
                global_args.update((k, v or "") for k, v in instruction.pairs)
            continue
        if instruction.keyword == "SHELL" and not instruction.onbuild and instruction.json_args:
            shell = tuple(instruction.json_args)
        instruction.shell = shell
        stages[-1].instructions.append(instruction)
        stages[-1].shell = shell
    return stages, global_args


def _from(instruction: Instruction, stages: list[Stage], args: dict[str, str]) -> Stage:
    words = instruction.rest.split()
    image = substitute(words[0], args) if words else ""
    name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
    parent = next((stage for stage in stages if stage.name == image.lower()), None)
    return Stage(
        index=len(stages),
        image=image,
        name=name,
        line=instruction.line,
        platform=instruction.flags.get("platform", ""),
        parent=parent,
    )


def _split_flags(value: str) -> tuple[list[tuple[str, str]], str]:
    flags: list[tuple[str, str]] = []
    rest = value.lstrip()
    while rest.startswith("--"):
        token, _, remainder = rest.partition(" ")
        name, _, flag_value = token[2:].partition("=")
        flags.append((name.lower(), flag_value))
        rest = remainder.lstrip()
    return flags, rest
