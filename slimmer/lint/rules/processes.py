"""SL3xxx: what runs as PID 1, and whether it gets the signals meant for the app."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator

from slimmer.lint.context import LintContext
from slimmer.lint.dockerfile import Instruction, Stage
from slimmer.lint.model import Hit, Severity
from slimmer.lint.registry import rule
from slimmer.lint.shell import Command, ShellScript, parse_shell

INITS = frozenset(
    {
        "tini", "tini-static", "dumb-init", "init", "s6-svscan", "supervisord", "runsvdir",
        "catatonit", "pid1", "s6-init",
    }
)  # fmt: skip
DAEMONS = frozenset(
    {"nginx", "cron", "crond", "sshd", "redis-server", "mysqld", "mysqld_safe", "postgres",
     "httpd", "apache2ctl", "gunicorn", "uwsgi", "celery", "memcached", "rsyslogd", "dockerd"}
)  # fmt: skip
SHELL_OPERATORS = set("|&;<>()$`\\\"'*?[]{}~")


def _exec_form_suggestion(instruction: Instruction) -> str:
    try:
        words = shlex.split(instruction.rest)
    except ValueError:
        words = []
    if words and not any(set(word) & SHELL_OPERATORS for word in words):
        return f"{instruction.keyword} {json.dumps(words)}"
    return f'{instruction.keyword} ["/app/start"] (a script that ends with exec)'


@rule("SL3001", Severity.WARNING, "shell-form ENTRYPOINT or CMD", hadolint=("DL3025",))
def shell_form_entry(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("CMD", "ENTRYPOINT"):
        if instruction.json_args is None and instruction.rest.strip():
            yield Hit(
                instruction.line,
                f"Use the exec form: {_exec_form_suggestion(instruction)}; in the shell form "
                "PID 1 is /bin/sh, which does not pass SIGTERM on to the app",
            )


def _init_first(entry: Instruction | None) -> bool:
    if entry is None:
        return False
    args = entry.json_args
    words = args if args is not None else entry.rest.split()
    return bool(words) and words[0].rsplit("/", 1)[-1] in INITS


def _effective(stage: Stage, keyword: str) -> Instruction | None:
    for ancestor in stage.lineage():
        found = [i for i in ancestor.instructions if i.keyword == keyword and not i.onbuild]
        if found:
            return found[-1]
    return None


def _heredoc_files(stage: Stage) -> dict[str, str]:
    """Files the Dockerfile writes from heredocs (`COPY <<EOF /start.sh`): path -> body."""
    files = {}
    for ancestor in stage.lineage():
        for instruction in ancestor.instructions:
            words = instruction.rest.split()
            if instruction.keyword in ("COPY", "ADD") and instruction.heredocs and words:
                files[words[-1]] = instruction.heredocs[0].body
    return files


def _start_scripts(stage: Stage, entries: list[Instruction]) -> list[ShellScript]:
    scripts = [entry.script for entry in entries]
    files = _heredoc_files(stage)
    for entry in entries:
        words = entry.json_args or entry.rest.split()
        for word in words:
            if word in files:
                scripts.append(parse_shell(files[word]))
    return scripts


def _extra_processes(scripts: list[ShellScript]) -> list[str]:
    """What a start script runs beside its main process: background jobs, services, and
    daemons when there are two of them or one kept alive by `tail -f` / `sleep infinity`."""
    extra: list[str] = []
    for script in scripts:
        extra += [f"{command.name} &" for command in script.background]
        extra += [str(command) for command in script.commands if _starts_service(command)]
        daemons = [c.basename for c in script.commands if _is_daemon(c)]
        keepalive = any(_keeps_alive(command) for command in script.commands)
        if len(daemons) >= 2 or (daemons and keepalive):
            extra += daemons
    return extra


def _is_daemon(command: Command) -> bool:
    return command.basename in DAEMONS or command.basename.startswith("php-fpm")


def _keeps_alive(command: Command) -> bool:
    return (command.is_("tail") and command.has_flag("f")) or (
        command.is_("sleep") and command.has_arg("infinity")
    )


def _starts_service(command: Command) -> bool:
    if command.is_("service", "rc-service") and command.has_arg("start", "restart"):
        return True
    if command.is_("systemctl") and command.has_arg("start"):
        return True
    return command.name.startswith("/etc/init.d/") and command.has_arg("start", "restart")


@rule("SL3002", Severity.WARNING, "several processes started without an init")
def processes_without_init(ctx: LintContext) -> Iterator[Hit]:
    final = ctx.dockerfile.final_stage
    if final is None:
        return
    entrypoint, cmd = _effective(final, "ENTRYPOINT"), _effective(final, "CMD")
    if _init_first(entrypoint) or (entrypoint is None and _init_first(cmd)):
        return
    entries = [entry for entry in (entrypoint, cmd) if entry is not None]
    extra = _extra_processes(_start_scripts(final, entries))
    if entries and extra:
        yield Hit(
            entries[-1].line,
            f"The start command runs several processes ({', '.join(extra[:3])}) with no init: "
            'run one process per container, or start with an init (ENTRYPOINT ["tini", "--"], '
            "docker run --init) that reaps zombies and passes SIGTERM on",
        )


@rule("SL3003", Severity.WARNING, "CMD ignored by a shell-form ENTRYPOINT")
def cmd_after_shell_entrypoint(ctx: LintContext) -> Iterator[Hit]:
    for stage in ctx.dockerfile.stages:
        entrypoint = _effective(stage, "ENTRYPOINT")
        if entrypoint is None or entrypoint.json_args is not None:
            continue
        for instruction in stage.instructions:
            if instruction.keyword == "CMD" and not instruction.onbuild:
                yield Hit(
                    instruction.line,
                    f"This CMD is ignored: the shell-form ENTRYPOINT (line {entrypoint.line}) "
                    "takes no arguments; write the ENTRYPOINT in exec form so CMD becomes its "
                    "arguments",
                )


@rule(
    "SL3004",
    Severity.WARNING,
    "more than one CMD, ENTRYPOINT or HEALTHCHECK",
    hadolint=("DL4003", "DL4004", "DL3012"),
)
def repeated_entries(ctx: LintContext) -> Iterator[Hit]:
    for stage in ctx.dockerfile.stages:
        for keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
            found = [i for i in stage.instructions if i.keyword == keyword and not i.onbuild]
            for instruction in found[1:]:
                yield Hit(
                    instruction.line,
                    f"Keep one {keyword} per stage: only the last one counts, this one replaces "
                    f"line {found[0].line}",
                )


@rule("SL3005", Severity.INFO, "shell-form HEALTHCHECK", hadolint=("DL3025",))
def shell_form_healthcheck(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("HEALTHCHECK"):
        keyword, _, command = instruction.rest.partition(" ")
        if keyword.upper() != "CMD" or not command.strip():
            continue
        if not command.strip().startswith("[") or _bad_json(command):
            yield Hit(
                instruction.line,
                'Write the health check in exec form (HEALTHCHECK CMD ["/app/healthcheck"]): '
                "the shell form needs /bin/sh, which slim and distroless images lack",
            )


def _bad_json(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return True
    return not (isinstance(value, list) and all(isinstance(item, str) for item in value))
