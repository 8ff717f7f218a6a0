"""SL4004-SL4005: what the build context sends into the image (directories only)."""

from __future__ import annotations

from collections.abc import Iterator

from slimmer.lint.context import LintContext
from slimmer.lint.dockerignore import is_excluded
from slimmer.lint.model import Hit, Severity
from slimmer.lint.registry import rule

WHOLE_CONTEXT = frozenset({".", "./", "*", "./*", "/"})
NODE_TOOLS = ("npm", "yarn", "pnpm", "node")


def _whole_context_copy(ctx: LintContext) -> tuple[int, str] | None:
    for _, instruction, sources in ctx.context_sources():
        whole = [source for source in sources if source in WHOLE_CONTEXT]
        if whole:
            return instruction.line, whole[0]
    return None


@rule("SL4004", Severity.WARNING, "build context without .dockerignore")
def no_dockerignore(ctx: LintContext) -> Iterator[Hit]:
    if ctx.context_dir is None or ctx.ignore_patterns is not None:
        return
    first = next(ctx.context_sources(), None)
    if first is not None:
        yield Hit(
            first[1].line,
            "Add a .dockerignore next to the Dockerfile (at least .git, .env*, node_modules, "
            "build output): COPY reads from a context that includes all of them",
        )


def _node_project(ctx: LintContext) -> bool:
    if ctx.context_dir is not None and (ctx.context_dir / "package.json").is_file():
        return True
    text = ctx.dockerfile.text
    return any(tool in text for tool in NODE_TOOLS)


@rule("SL4005", Severity.WARNING, ".dockerignore misses .git, .env or node_modules")
def dockerignore_gaps(ctx: LintContext) -> Iterator[Hit]:
    if ctx.context_dir is None or ctx.ignore_patterns is None:
        return
    copy = _whole_context_copy(ctx)
    if copy is None:
        return
    wanted = [".git", ".env"] + (["node_modules"] if _node_project(ctx) else [])
    missing = [path for path in wanted if not is_excluded(ctx.ignore_patterns, path)]
    if missing:
        present = [p for p in missing if (ctx.context_dir / p).exists()]
        note = f" ({', '.join(present)} exist here)" if present else ""
        yield Hit(
            1,
            f"Add {', '.join(missing)} to {ctx.ignore_label}: COPY {copy[1]} (Dockerfile line "
            f"{copy[0]}) sends them into the image{note}",
            path=ctx.ignore_label,
        )
