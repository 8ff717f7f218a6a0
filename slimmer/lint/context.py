"""What the rules look at: the parsed Dockerfile and, for a directory, its build context."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from slimmer.lint.dockerfile import Dockerfile, Instruction, Stage
from slimmer.lint.dockerignore import IgnorePattern


@dataclass
class LintContext:
    dockerfile: Dockerfile
    context_dir: Path | None = None  # set when a directory is linted
    ignore_path: Path | None = None  # its .dockerignore, when there is one
    ignore_patterns: list[IgnorePattern] | None = None
    ignore_label: str = ".dockerignore"  # how findings name the ignore file

    def instructions(self, *keywords: str) -> Iterator[tuple[Stage, Instruction]]:
        """Instructions of the stages (ONBUILD content included), with their stage."""
        for stage in self.dockerfile.stages:
            for instruction in stage.instructions:
                if not keywords or instruction.keyword in keywords:
                    yield stage, instruction

    def runs(self) -> Iterator[tuple[Stage, Instruction]]:
        """Shell RUN instructions (the exec form runs no shell unless it is `sh -c`)."""
        yield from self.instructions("RUN")

    def context_sources(self) -> Iterator[tuple[Stage, Instruction, list[str]]]:
        """COPY/ADD instructions that read the build context, with their source paths."""
        for stage, instruction in self.instructions("COPY", "ADD"):
            if "from" in instruction.flags:
                continue
            sources = copy_sources(instruction)
            local = [s for s in sources if "://" not in s and not s.startswith("git@")]
            if local:
                yield stage, instruction, local


def copy_sources(instruction: Instruction) -> list[str]:
    """The sources of a COPY/ADD (all arguments but the destination), unquoted; heredoc
    sources (`<<EOF`) are not files and are left out."""
    args = instruction.json_args
    if args is None:
        try:
            args = shlex.split(instruction.rest)
        except ValueError:
            args = instruction.rest.split()
    return [arg for arg in args[:-1] if not arg.startswith("<<")]
