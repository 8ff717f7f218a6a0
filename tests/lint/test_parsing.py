"""The Dockerfile model around dockerfile-parse, and the shell splitter."""

from __future__ import annotations

from slimmer.lint.dockerfile import parse_dockerfile, split_image, substitute
from slimmer.lint.shell import parse_shell


def test_heredocs_are_bodies_not_instructions() -> None:
    text = (
        "FROM debian:12\n"
        "RUN <<EOF\nset -e\napt-get update\nEOF\n"
        "COPY <<CONF /etc/app.ini\nEXPOSE = not an instruction\nCONF\n"
        "RUN python3 <<'PY'\nimport os\nPY\n"
        "USER app\n"
    )
    dockerfile = parse_dockerfile(text)
    keywords = [(i.keyword, i.line) for i in dockerfile.instructions]
    assert keywords == [("FROM", 1), ("RUN", 2), ("COPY", 6), ("RUN", 9), ("USER", 12)]
    run, copy, python = dockerfile.instructions[1:4]
    assert run.heredocs[0].body == "set -e\napt-get update\n"
    assert [str(c) for c in run.script.commands] == ["set -e", "apt-get update"]
    assert copy.heredocs[0].body == "EXPOSE = not an instruction\n"
    assert python.script.commands[0].name == "python3"  # a Python body is not shell
    assert len(python.script.commands) == 1


def test_escape_directive_continuations_and_blank_lines() -> None:
    text = (
        "# escape=`\n"
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
        "RUN a `\n"
        "\n"
        "    # a comment inside the continuation\n"
        "    b\n"
        "WORKDIR C:\\tool\n"
    )
    dockerfile = parse_dockerfile(text)
    assert dockerfile.escape == "`"
    run = dockerfile.instructions[1]
    assert (run.keyword, run.line, run.end_line) == ("RUN", 3, 6)
    assert run.value.split() == ["a", "b"]
    assert dockerfile.instructions[2].keyword == "WORKDIR"


def test_stages_aliases_arg_before_from_and_json_forms() -> None:
    text = (
        "ARG BASE=python\nARG TAG\n"
        "FROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-3.12} AS Build\n"
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
        "FROM build\n"
        "CMD [\"a\", 'b']\n"
        'ENTRYPOINT ["app", "--flag"]\n'
    )
    dockerfile = parse_dockerfile(text)
    first, second = dockerfile.stages
    assert dockerfile.global_args == {"BASE": "python", "TAG": ""}
    assert (first.image, first.name, first.platform) == ("python:3.12", "build", "$BUILDPLATFORM")
    assert second.parent is first and second.lineage() == [second, first]
    assert second.shell == ("/bin/bash", "-o", "pipefail", "-c")  # inherited from its parent
    cmd, entrypoint = second.instructions
    assert cmd.json_args is None and cmd.looks_like_json  # broken JSON runs as shell form
    assert entrypoint.json_args == ["app", "--flag"]


def test_image_references_and_variables() -> None:
    assert split_image("registry:5000/team/app:1.2@sha256:ab") == (
        "registry:5000/team/app",
        "1.2",
        "sha256:ab",
    )
    assert split_image("registry:5000/app") == ("registry:5000/app", None, None)
    assert substitute("${A:+x}-${B:-d}-$C-${D}", {"A": "1", "C": "c"}) == "x-d-c-${D}"


def test_env_and_arg_pairs() -> None:
    text = 'FROM a:1\nENV A=1 B="two words"\nENV LEGACY some value\nARG X Y=2\n'
    env, legacy, arg = parse_dockerfile(text).stages[0].instructions
    assert env.pairs == [("A", "1"), ("B", "two words")]
    assert legacy.pairs == [("LEGACY", "some value")]
    assert arg.pairs == [("X", None), ("Y", "2")]


def test_shell_commands_pipelines_and_background_jobs() -> None:
    script = parse_shell(
        "set -eux; apt-get update && apt-get install -y curl=7.88* "
        "&& curl -fsSL https://x | sh -s -- --yes || true; nginx & "
        'sudo -u app env A=1 npm install left-pad; bash -c "pip install flask | cat"'
    )
    names = [c.name for c in script.commands]
    assert names[:5] == ["set", "apt-get", "apt-get", "curl", "sh"]
    install = script.commands[2]
    assert install.args == ("install", "-y", "curl=7.88*")
    assert [[c.name for c in p] for p in script.pipelines] == [["curl", "sh"], ["pip", "cat"]]
    assert [c.name for c in script.background] == ["nginx"]
    # wrappers: sudo -u app env A=1 npm ... also yields env ... and npm ...
    assert "npm" in names and "env" in names and "sudo" in names
    assert script.parsed


def test_shell_fallback_for_syntax_bashlex_lacks() -> None:
    script = parse_shell(
        'case "$X" in a) apt-get install -y vim ;; esac; make -j$(( $(nproc) + 1 )) 2>&1 | tee log'
    )
    assert not script.parsed
    names = [c.name for c in script.commands]
    assert "apt-get" in names and "make" in names and "tee" in names
    assert "1" not in names and "log" not in names
    assert any([c.name for c in p] == ["make", "tee"] for p in script.pipelines)
