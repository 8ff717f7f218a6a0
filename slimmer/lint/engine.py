"""Run the rules over a Dockerfile (text, file, directory or stdin) and build the report."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import BinaryIO

from slimmer.errors import SlimmerError, UsageError
from slimmer.lint.config import LintConfig
from slimmer.lint.context import LintContext
from slimmer.lint.dockerfile import Dockerfile, parse_dockerfile
from slimmer.lint.dockerignore import parse_dockerignore
from slimmer.lint.model import Finding, LintReport
from slimmer.lint.rules import RULES

MAX_FILE_BYTES = 4 << 20
DOCKERFILE_NAMES = ("Dockerfile", "Containerfile", "dockerfile", "containerfile")
SUPPRESSION = re.compile(r"slimmer-lint\s+ignore\s*=\s*(\S+)", re.I)
STDIN_LABEL = "stdin"


def lint_text(
    text: str,
    path: str = "Dockerfile",
    config: LintConfig | None = None,
    context_dir: Path | None = None,
) -> LintReport:
    """Lint Dockerfile ``text`` shown as ``path``; ``context_dir`` adds the build-context
    checks (.dockerignore)."""
    config = config or LintConfig()
    dockerfile = parse_dockerfile(text, path)
    ctx = _context(dockerfile, path, context_dir)
    report = LintReport(
        path=path,
        disabled=tuple(sorted(config.disabled)),
        context=_display(context_dir) if context_dir else None,
    )
    for rule_id in sorted(RULES):
        rule = RULES[rule_id]
        if rule_id in config.disabled or rule.severity < config.min_severity:
            continue
        for hit in rule.check(ctx):
            target = hit.path or path
            if target == path and _suppressed(dockerfile, hit.line, rule_id):
                report.suppressed += 1
                continue
            report.findings.append(
                Finding(rule_id, rule.severity, target, hit.line, hit.message, hit.end_line)
            )
    report.findings.sort(key=lambda f: (f.path != path, f.path, f.line, f.rule))
    return report


def lint_file(
    path: str | Path, config: LintConfig | None = None, context_dir: Path | None = None
) -> LintReport:
    """Lint one Dockerfile, or a directory (its Dockerfile/Containerfile and .dockerignore).
    For other commands (`build --dockerfile`, `xray --dockerfile`) to attach findings."""
    target = Path(path)
    if target.is_dir():
        dockerfile = find_dockerfile(target)
        return lint_text(read_dockerfile(dockerfile), _display(dockerfile), config, target)
    return lint_text(read_dockerfile(target), _display(target), config, context_dir)


def lint_path(spec: str, config: LintConfig | None = None) -> LintReport:
    """What `slimmer lint SPEC` lints: `-` is stdin, a directory its Dockerfile and context."""
    if spec == "-":
        return lint_text(_read_limited(sys.stdin.buffer, STDIN_LABEL), STDIN_LABEL, config)
    return lint_file(spec, config)


def find_dockerfile(directory: Path) -> Path:
    for name in DOCKERFILE_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise UsageError(
        f"no Dockerfile or Containerfile in {directory}",
        "give the Dockerfile's path, e.g. slimmer lint path/to/app.Dockerfile",
    )


def read_dockerfile(path: Path) -> str:
    if not path.exists():
        raise UsageError(f"{path} does not exist", "give the path of a Dockerfile or directory")
    if not path.is_file():
        raise UsageError(f"{path} is not a file", "give the path of a Dockerfile or directory")
    try:
        with open(path, "rb") as handle:
            return _read_limited(handle, str(path))
    except OSError as exc:
        raise SlimmerError(
            f"cannot read {path}: {exc.strerror or exc}", "check its permissions"
        ) from None


def _read_limited(stream: BinaryIO, label: str) -> str:
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{label} is larger than 4 MiB", "is it a Dockerfile?")
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _context(dockerfile: Dockerfile, path: str, context_dir: Path | None) -> LintContext:
    ctx = LintContext(dockerfile, context_dir)
    if context_dir is None:
        return ctx
    # BuildKit prefers <Dockerfile name>.dockerignore next to the Dockerfile
    name = Path(path).name
    for candidate in (Path(path).parent / f"{name}.dockerignore", context_dir / ".dockerignore"):
        if candidate.is_file():
            ctx.ignore_path = candidate
            ctx.ignore_label = _display(candidate)
            with open(candidate, "rb") as handle:
                ctx.ignore_patterns = parse_dockerignore(_read_limited(handle, str(candidate)))
            break
    return ctx


def _suppressed(dockerfile: Dockerfile, line: int, rule_id: str) -> bool:
    """True when a comment right above ``line`` says `# slimmer-lint ignore=ID[,ID]`."""
    above = line - 1
    while above in dockerfile.comments:
        match = SUPPRESSION.search(dockerfile.comments[above])
        if match:
            ids = {part.strip().upper() for part in match.group(1).split(",")}
            if rule_id in ids or "ALL" in ids:
                return True
        above -= 1
    return False


def _display(path: Path) -> str:
    """A path as findings show it: relative to the working directory when under it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
