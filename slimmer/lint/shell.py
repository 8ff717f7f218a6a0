"""Split a RUN/CMD shell script into simple commands, pipelines and background jobs.

bashlex parses the script into a syntax tree; every simple command it finds (also inside
`if`/`for`/`while` bodies, `{ }` groups, subshells, functions, `$( )` substitutions and the
script of `sh -c '...'`) becomes a `Command` with its words unquoted. bashlex does not implement
arithmetic expansion, `case` and `[[ ]]`; for such scripts a `shlex` tokenizer splits the words
at the shell operators instead (`ShellScript.parsed` is then False).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

import bashlex

OPERATOR_CHARS = ";&|()<>\n"
KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time"}
)
HEADER_KEYWORDS = frozenset({"for", "case", "select", "esac", "in"})
# commands that run their arguments as another command: name -> options taking a value
WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-U"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "exec": frozenset({"-a"}),
    "nohup": frozenset(),
    "nice": frozenset({"-n"}),
    "command": frozenset(),
    "xargs": frozenset({"-I", "-L", "-n", "-P", "-d", "-E", "-s", "-a"}),
    "gosu": frozenset(),
    "su-exec": frozenset(),
    "tini": frozenset({"-s", "-e", "-p"}),
    "dumb-init": frozenset(),
}
USER_TAKING_WRAPPERS = frozenset({"gosu", "su-exec"})
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"})
MAX_DEPTH = 4


@dataclass(frozen=True)
class Command:
    """One simple command: its name (the first word after variable assignments) and arguments,
    with quotes removed. ``wrapped_by`` names the wrapper (sudo, env, ...) it was found inside."""

    name: str
    args: tuple[str, ...]
    assignments: tuple[str, ...] = ()
    wrapped_by: str = ""

    @property
    def basename(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def is_(self, *names: str) -> bool:
        return self.basename in names

    def has_arg(self, *values: str) -> bool:
        return any(arg in values for arg in self.args)

    def subcommand(self) -> str:
        """The first argument that is not an option (`install` in `apt-get -y install x`)."""
        return next((arg for arg in self.args if not arg.startswith("-")), "")

    def has_flag(self, short: str = "", long: str = "") -> bool:
        """True when the option is given: ``-x`` alone or combined (``-yq``), ``--long`` or
        ``--long=value``."""
        for arg in self.args:
            if long and (arg == f"--{long}" or arg.startswith(f"--{long}=")):
                return True
            if short and arg.startswith("-") and not arg.startswith("--") and short in arg[1:]:
                return True
        return False

    def __str__(self) -> str:
        return shlex.join([self.name, *self.args])


@dataclass
class ShellScript:
    """What a shell script runs."""

    source: str
    commands: list[Command] = field(default_factory=list)
    pipelines: list[list[Command]] = field(default_factory=list)  # those of 2 or more commands
    background: list[Command] = field(default_factory=list)  # commands started with `&`
    parsed: bool = True  # False: bashlex could not parse it, the shlex fallback split it

    def find(self, *names: str) -> list[Command]:
        return [command for command in self.commands if command.is_(*names)]

    def uses(self, *names: str) -> bool:
        return any(command.is_(*names) for command in self.commands)


def parse_shell(source: str, depth: int = 0) -> ShellScript:
    """Split ``source`` into commands; never raises on bad shell syntax."""
    script = ShellScript(source)
    try:
        trees = bashlex.parse(source)
    except Exception:  # bashlex raises several exception types for unsupported syntax
        _fallback_split(script)
    else:
        walker = _Walker(script, depth)
        for tree in trees:
            walker.visit(tree)
    return script


class _Walker:
    def __init__(self, script: ShellScript, depth: int) -> None:
        self.script = script
        self.depth = depth

    def visit(self, node: Any) -> list[Command]:
        """Visit a node; returns the top-level commands it runs (for pipelines and `&`)."""
        kind = node.kind
        if kind == "command":
            return self._command(node)
        if kind == "list":
            return self._list(node.parts)
        if kind == "pipeline":
            stages = [self.visit(part) for part in node.parts if part.kind not in ("pipe",)]
            stages = [stage for stage in stages if stage]
            if len(stages) > 1:
                self.script.pipelines.append([stage[0] for stage in stages])
            return [command for stage in stages for command in stage]
        if kind == "compound":
            return self._list(node.list)
        if kind in ("if", "for", "while", "until"):
            return self._list(node.parts)
        if kind == "function":
            self.visit(node.body)
            return []
        if kind in ("commandsubstitution", "processsubstitution"):
            self.visit(node.command)
            return []
        if kind in ("word", "assignment", "redirect"):
            self._nested(node)
        return []

    def _list(self, parts: list[Any]) -> list[Command]:
        found: list[Command] = []
        previous: list[Command] = []
        for part in parts:
            if part.kind == "operator":
                if part.op == "&":
                    self.script.background.extend(previous[:1])
                continue
            if part.kind == "reservedword":
                continue
            previous = self.visit(part)
            found.extend(previous)
        return found

    def _nested(self, node: Any) -> None:
        for part in getattr(node, "parts", []) or []:
            self.visit(part)
        output = getattr(node, "output", None)
        if output is not None and not isinstance(output, int):
            self.visit(output)

    def _command(self, node: Any) -> list[Command]:
        words: list[str] = []
        assignments: list[str] = []
        for part in node.parts:
            if part.kind == "word":
                words.append(part.word)
            elif part.kind == "assignment" and not words:
                assignments.append(part.word)
            elif part.kind == "assignment":
                words.append(part.word)
            self._nested(part)
        if not words:
            return []
        command = Command(words[0], tuple(words[1:]), tuple(assignments))
        self._add(command)
        return [command]

    def _add(self, command: Command) -> None:
        _add_command(self.script, command, self.depth)


def _add_command(script: ShellScript, command: Command, depth: int) -> None:
    """Record a command, what a wrapper runs, and the script of `sh -c SCRIPT`."""
    script.commands.append(command)
    inner = unwrap(command)
    if inner is not None:
        _add_command(script, inner, depth)
    if command.is_(*SHELLS) and depth < MAX_DEPTH:
        inline = shell_c_script(command)
        if inline is not None:
            nested = parse_shell(inline, depth + 1)
            script.commands.extend(nested.commands)
            script.pipelines.extend(nested.pipelines)
            script.background.extend(nested.background)


def shell_c_script(command: Command) -> str | None:
    """The SCRIPT of `sh -c SCRIPT` (options before -c allowed, e.g. `bash -euo pipefail -c`)."""
    args = list(command.args)
    for index, arg in enumerate(args):
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            rest = [a for a in args[index + 1 :] if a != "--"]
            return rest[0] if rest else None
        if not arg.startswith("-") and arg != "pipefail":
            return None
    return None


def unwrap(command: Command) -> Command | None:
    """The command a wrapper runs: `sudo -u app apt-get install x` -> `apt-get install x`."""
    valued = WRAPPERS.get(command.basename)
    if valued is None:
        return None
    args = list(command.args)
    index = 0
    if command.basename in USER_TAKING_WRAPPERS and args:
        index = 1  # gosu USER COMMAND...
    while index < len(args):
        arg = args[index]
        if arg == "--":
            index += 1
            break
        if arg in valued:
            index += 2
        elif arg.startswith("-") or (command.is_("env") and "=" in arg):
            index += 1
        else:
            break
    if index >= len(args):
        return None
    return Command(args[index], tuple(args[index + 1 :]), wrapped_by=command.basename)


def _fallback_split(script: ShellScript) -> None:
    """Split with shlex at the shell operators (for syntax bashlex does not implement)."""
    script.parsed = False
    lexer = shlex.shlex(script.source, posix=True, punctuation_chars=OPERATOR_CHARS)
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: split on whitespace only
        tokens = script.source.split()
    pipeline: list[Command] = []
    words: list[str] = []
    redirect_target = False
    substitution = 0  # depth inside $( ... ) or $(( ... )), kept as part of the word
    for token in [*tokens, ";"]:
        is_operator = bool(token) and all(char in OPERATOR_CHARS for char in token)
        if substitution or (is_operator and token[0] == "(" and words and words[-1].endswith("$")):
            substitution += token.count("(") - token.count(")") if is_operator else 0
            words[-1] += token
            continue
        if redirect_target and not is_operator:
            redirect_target = False
            continue
        if is_operator and ("<" in token or ">" in token) and set(token) <= set("<>&|"):
            if words and words[-1].isdigit():
                words.pop()  # the file descriptor of `2>&1`
            redirect_target = True
            continue
        if is_operator:
            command = _fallback_command(words)
            words = []
            if command is not None:
                _add_command(script, command, depth=MAX_DEPTH)
                pipeline.append(command)
                if token == "&":
                    script.background.append(command)
            if token != "|" and token != "|&":
                if len(pipeline) > 1:
                    script.pipelines.append(pipeline)
                pipeline = []
            continue
        words.append(token)


def _fallback_command(words: list[str]) -> Command | None:
    while words and words[0] in KEYWORDS:
        words = words[1:]
    if not words or words[0] in HEADER_KEYWORDS or words[0].endswith(")"):
        return None
    assignments = []
    while words and "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
        assignments.append(words[0])
        words = words[1:]
    if not words:
        return None
    return Command(words[0], tuple(words[1:]), tuple(assignments))
