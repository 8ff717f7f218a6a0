"""A Dockerfile reverse-engineered from the image history (classic builder, BuildKit, import
and commit forms), each line marked with what could not be recovered. Values that look like
secrets are masked."""

from __future__ import annotations

import json
import re
from typing import Any

from slimmer.xray.secrets import redact

NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
SHELL_FORM = re.compile(r"^(?P<shell>/bin/(?:ba|da|a)?sh) -c (?P<cmd>.*)$", re.S)
BUILD_ARG_COUNT = re.compile(r"^\|(?P<count>[0-9]{1,4}) ")
BUILDKIT_SUFFIX = " # buildkit"
COPY_SOURCE = re.compile(r"^(?P<op>ADD|COPY) (?P<src>(?:file|dir|multi):[0-9a-f]+) in (?P<dst>.+)$")
EXPOSE_MAP = re.compile(r"^EXPOSE map\[(?P<ports>[^\]]*)\]$")
INSTRUCTIONS = (
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
)


def history_layers(config: dict[str, Any], layer_count: int) -> list[dict[str, Any]]:
    """The history entries, each with the layer it made (None for empty layers)."""
    history = [h for h in config.get("history") or [] if isinstance(h, dict)]
    made = sum(1 for h in history if not h.get("empty_layer"))
    layer = 0 if made == layer_count else None  # a history that does not match is not mapped
    out = []
    for item in history:
        empty = bool(item.get("empty_layer"))
        out.append(
            {
                "created": str(item.get("created") or ""),
                "created_by": redact(str(item.get("created_by") or "")),
                "comment": redact(str(item.get("comment") or "")),
                "empty_layer": empty,
                "layer": None if empty or layer is None else layer,
            }
        )
        if not empty and layer is not None:
            layer += 1
    return out


def reverse_dockerfile(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per history entry: ``instruction`` (Dockerfile text) and ``lost`` (what the
    history does not tell, empty when the line is complete)."""
    lines = [
        {
            "instruction": "FROM <unknown base>",
            "lost": "the base image's name is not recorded; its layers are the first ones",
            "layer": None,
        }
    ]
    for item in history:
        instruction, lost = _instruction(item["created_by"], item["comment"])
        lines.append({"instruction": instruction, "lost": lost, "layer": item["layer"]})
    return lines


def dockerfile_text(lines: list[dict[str, Any]]) -> str:
    out = []
    for line in lines:
        if line["lost"]:
            out.append(f"# not recoverable: {line['lost']}")
        out.append(line["instruction"])
    return "\n".join(out) + "\n"


def _instruction(created_by: str, comment: str) -> tuple[str, str]:
    text = created_by.strip()
    if not text:
        if comment:
            return f"# {comment}", "no command recorded (imported or committed layer)"
        return "# (no command recorded)", "the layer has no history entry text"
    if text.endswith(BUILDKIT_SUFFIX):
        text = text[: -len(BUILDKIT_SUFFIX)].rstrip()
    nop = NOP.match(text)
    if nop:
        return _config_instruction(text[nop.end() :].strip())
    if text.split(" ", 1)[0] in INSTRUCTIONS:
        if text.startswith("RUN "):
            return _run(text[4:])
        return _config_instruction(text)
    if text.startswith(("/", "|")):
        return _run(text)
    return f"# {text}", "made by a tool that records no Dockerfile instruction"


def _run(command: str) -> tuple[str, str]:
    """``|N K=V ... CMD`` (build arguments the classic builder records) then the command:
    ``/bin/sh -c SCRIPT`` (shell form) or the program and its arguments (exec form)."""
    lost = ""
    prefix = ""
    counted = BUILD_ARG_COUNT.match(command)
    if counted:
        words = command[counted.end() :].split(" ")
        count = int(counted["count"])
        names = [w.split("=", 1)[0] for w in words[:count]]
        command = " ".join(words[count:])
        prefix = "".join(f"ARG {n}\n" for n in names)
        lost = "build arguments used: " + ", ".join(names) + " (values masked if secret)"
    shell = SHELL_FORM.match(command)
    if shell:
        return f"{prefix}RUN {shell['cmd']}", lost
    exec_form = json.dumps(command.split(" "))
    note = "exec form: arguments with spaces cannot be told apart"
    return f"{prefix}RUN {exec_form}", f"{lost}; {note}" if lost else note


def _config_instruction(text: str) -> tuple[str, str]:
    copy = COPY_SOURCE.match(text)
    if copy:
        return (
            f"{copy['op']} <{copy['src'][:19]}…> {copy['dst'].strip()}",
            "the sources of ADD/COPY are recorded only as a content hash",
        )
    expose = EXPOSE_MAP.match(text)
    if expose:
        ports = [p.split(":", 1)[0] for p in expose["ports"].split() if p]
        return "EXPOSE " + " ".join(ports), ""
    if text.startswith(("COPY --from", "COPY --link --from")):
        return text, "the build stage COPY --from names is not in the image"
    if text.startswith("HEALTHCHECK &{"):
        return _healthcheck(text), "the health check is shown as the builder recorded it"
    if text.startswith("ARG ") and "=" not in text:
        return text, "no default value; the value passed at build time is not recorded"
    return text, ""


def _healthcheck(text: str) -> str:
    inner = text[len("HEALTHCHECK &{") :].rstrip("}")
    match = re.match(r"\[(?P<test>.*?)\]", inner)
    if not match:
        return f"HEALTHCHECK {inner}"
    parts = match["test"].split(" ")
    if parts[:1] == ["CMD-SHELL"]:
        return "HEALTHCHECK CMD " + " ".join(parts[1:])
    if parts[:1] == ["CMD"]:
        return "HEALTHCHECK CMD " + json.dumps(parts[1:])
    return f"HEALTHCHECK {inner}"
