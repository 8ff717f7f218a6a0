"""The runtime config as a reader needs it: who runs, what runs as PID 1, what is exposed.
Every value that looks like a secret is masked here, before any output sees it."""

from __future__ import annotations

from typing import Any

from slimmer.imagefs import EntryType, ImageFs
from slimmer.xray.secrets import mask, redact, secret_value

SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"}
PASSWD_LIMIT = 1 << 20
NANOSECONDS = 1_000_000_000


def config_summary(fs: ImageFs) -> dict[str, Any]:
    config = fs.config.get("config") or {}
    env = [_env_item(item) for item in config.get("Env") or [] if isinstance(item, str)]
    labels = {str(k): _masked_pair(str(k), str(v)) for k, v in (config.get("Labels") or {}).items()}
    return {
        "user": user_summary(fs, str(config.get("User") or "")),
        "workdir": str(config.get("WorkingDir") or ""),
        "entrypoint": _redacted_list(config.get("Entrypoint")),
        "cmd": _redacted_list(config.get("Cmd")),
        "pid1": pid1_summary(config.get("Entrypoint"), config.get("Cmd")),
        "ports": sorted((config.get("ExposedPorts") or {}).keys()),
        "volumes": sorted((config.get("Volumes") or {}).keys()),
        "env": env,
        "healthcheck": _healthcheck(config.get("Healthcheck")),
        "stop_signal": str(config.get("StopSignal") or ""),
        "labels": labels,
        "os": fs.platform.os,
        "architecture": str(fs.platform),
        "created": str(fs.config.get("created") or ""),
    }


def _env_item(item: str) -> dict[str, Any]:
    name, _, value = item.partition("=")
    rule = secret_value(name, value)
    return {
        "name": name,
        "value": mask(value) if rule else redact(value),
        "secret": rule is not None,
    }


def _masked_pair(key: str, value: str) -> str:
    return mask(value) if secret_value(key, value) else redact(value)


def _redacted_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return [redact(str(v)) for v in items]


def user_summary(fs: ImageFs, user: str) -> dict[str, Any]:
    """The configured user, its uid if it can be told, and whether that is root."""
    name, _, group = user.partition(":")
    summary: dict[str, Any] = {"configured": user, "uid": None, "root": False, "note": ""}
    if not name:
        summary.update(uid=0, root=True, note="no USER: the container runs as root")
        return summary
    if name.isdigit():
        uid: int | None = int(name)
    else:
        uid = _passwd_uid(fs, name)
        if uid is None:
            summary["note"] = f"user {name!r} is not in the image's /etc/passwd: the run fails"
    summary["uid"] = uid
    summary["root"] = uid == 0
    if group:
        summary["group"] = group
    return summary


def _passwd_uid(fs: ImageFs, name: str) -> int | None:
    found = fs.resolve("/etc/passwd")
    entry = found.entry
    if entry is None or entry.type not in (EntryType.FILE, EntryType.HARDLINK):
        return None
    with fs.open(entry) as stream:
        text = stream.read(PASSWD_LIMIT).decode("utf-8", "replace")
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    return None


def pid1_summary(entrypoint: Any, cmd: Any) -> dict[str, Any]:
    """What the engine starts as PID 1 and whether it is a shell that may not pass signals on
    (the shell form ``CMD app`` runs ``/bin/sh -c app``: SIGTERM reaches the shell, not app)."""
    entry = [str(v) for v in entrypoint] if isinstance(entrypoint, list) else []
    args = [str(v) for v in cmd] if isinstance(cmd, list) else []
    argv = entry + args if entry else args
    if not argv:
        return {"argv0": "", "shell_form": False, "note": "no entrypoint or command"}
    program = argv[0].rsplit("/", 1)[-1]
    shell_form = program in SHELLS and len(argv) >= 3 and argv[1] == "-c"
    note = ""
    if shell_form:
        script = argv[2].lstrip()
        if script.startswith("exec "):
            note = "shell form, but the script execs the program: signals reach it"
            shell_form = False
        else:
            note = (
                f"shell form: PID 1 is {argv[0]}, which may not forward SIGTERM to the program; "
                "use the exec form (JSON array) or `exec` in the script"
            )
    return {"argv0": redact(argv[0]), "shell_form": shell_form, "note": note}


def _healthcheck(check: Any) -> dict[str, Any] | None:
    if not isinstance(check, dict) or not check.get("Test"):
        return None
    test = [redact(str(t)) for t in check.get("Test") or []]
    summary: dict[str, Any] = {"test": test, "disabled": test[:1] == ["NONE"]}
    for key in ("Interval", "Timeout", "StartPeriod"):
        if isinstance(check.get(key), int):
            summary[key.lower() + "_seconds"] = check[key] / NANOSECONDS
    if isinstance(check.get("Retries"), int):
        summary["retries"] = check["Retries"]
    return summary
