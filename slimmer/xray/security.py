"""Security findings: set-id files, file capabilities and world-writable paths of the final tree;
secrets from every layer (with where they went) and from the config and history."""

from __future__ import annotations

import struct
from typing import Any

from slimmer.imagefs import EntryType, ImageFs
from slimmer.xray.layers import LayerChanges
from slimmer.xray.secrets import ASSIGNMENT, mask, secret_value

CAPABILITY_XATTR = "security.capability"
# Linux capability numbers (include/uapi/linux/capability.h)
CAPABILITIES = (
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
)
NAME_RULES = {  # credential files found by name are findings even when nothing inside matched
    "dotenv-file",
    "npmrc-file",
    "git-credentials-file",
    "netrc-file",
    "pypirc-file",
    "pgpass-file",
    "htpasswd-file",
    "credentials-file",
    "docker-config",
    "private-key-file",
}
STICKY, SETGID, SETUID, OTHER_WRITE = 0o1000, 0o2000, 0o4000, 0o002


def file_findings(fs: ImageFs) -> dict[str, list[dict[str, Any]]]:
    setuid: list[dict[str, Any]] = []
    setgid: list[dict[str, Any]] = []
    caps: list[dict[str, Any]] = []
    writable: list[dict[str, Any]] = []
    for entry in fs:
        if entry.type is EntryType.SYMLINK:
            continue
        regular = entry.type in (EntryType.FILE, EntryType.HARDLINK)
        item = {
            "path": entry.path,
            "mode": f"{entry.mode:04o}",
            "uid": entry.uid,
            "gid": entry.gid,
            "layer": entry.layer,
        }
        if regular and entry.mode & SETUID:
            setuid.append(item)
        if regular and entry.mode & SETGID:
            setgid.append(item)
        raw = entry.xattrs.get(CAPABILITY_XATTR)
        if raw is not None:
            caps.append({**item, **decode_capabilities(raw)})
        if entry.mode & OTHER_WRITE and not (entry.type is EntryType.DIR and entry.mode & STICKY):
            writable.append({**item, "type": entry.type.value})
    return {"setuid": setuid, "setgid": setgid, "capabilities": caps, "world_writable": writable}


def decode_capabilities(raw: bytes) -> dict[str, Any]:
    """``security.capability`` (struct vfs_cap_data, revisions 1 to 3) as capability names."""
    if len(raw) < 12:
        return {"permitted": [], "inheritable": [], "effective": False, "error": "short value"}
    magic, permitted, inheritable = struct.unpack_from("<3I", raw)
    if len(raw) >= 20:
        high_permitted, high_inheritable = struct.unpack_from("<2I", raw, 12)
        permitted |= high_permitted << 32
        inheritable |= high_inheritable << 32
    return {
        "permitted": _names(permitted),
        "inheritable": _names(inheritable),
        "effective": bool(magic & 1),
    }


def _names(bits: int) -> list[str]:
    names = [name for number, name in enumerate(CAPABILITIES) if bits >> number & 1]
    names += [f"cap_{n}" for n in range(len(CAPABILITIES), 64) if bits >> n & 1]
    return [n if n.startswith("cap_") else f"cap_{n}" for n in names]


def secret_findings(
    fs: ImageFs,
    scanned: list[dict[str, Any]],
    layers: list[LayerChanges],
    history: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Secrets in files of any layer, in the config's Env and Labels, and in history lines."""
    findings: list[dict[str, Any]] = []
    for item in scanned:
        if not item["hits"] and item["rule"] not in NAME_RULES:
            continue
        final = fs.lookup(item["path"])
        present = final is not None and (final.layer, final.offset) == (
            item["layer"],
            item["offset"],
        )
        findings.append(
            {
                "where": "file",
                "path": item["path"],
                "layer": item["layer"],
                "rule": item["rule"],
                "hits": item["hits"],
                "in_final_image": present,
                "removed_in_layer": None if present else _removed_in(item, layers),
                **({"note": item["note"]} if "note" in item else {}),
            }
        )
    findings += _config_secrets(fs.config.get("config") or {})
    findings += _history_secrets(fs.config.get("history") or [], history)
    return findings


def _removed_in(item: dict[str, Any], layers: list[LayerChanges]) -> int | None:
    path = item["path"]
    for layer in layers[item["layer"] + 1 :]:
        for change in layer.deleted:
            top = change["path"]
            if path == top or path.startswith(top.rstrip("/") + "/"):
                return layer.index
        if any(c["path"] == path for c in layer.changed):
            return layer.index
    return None


def _config_secrets(config: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in config.get("Env") or []:
        name, _, value = str(item).partition("=")
        rule = secret_value(name, value)
        if rule:
            found.append({"where": "env", "name": name, "rule": rule, "masked": mask(value)})
    for key, value in (config.get("Labels") or {}).items():
        rule = secret_value(str(key), str(value))
        if rule:
            found.append(
                {"where": "label", "name": str(key), "rule": rule, "masked": mask(str(value))}
            )
    return found


def _history_secrets(raw: list[Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ENV/ARG assignments and build arguments with secret values in the raw history (the
    report's history is already masked; the line number is the history index)."""
    found = []
    for number, item in enumerate(raw):
        text = str(item.get("created_by") or "") if isinstance(item, dict) else ""
        for match in ASSIGNMENT.finditer(text):
            if match["sep"] != "=":
                continue
            rule = secret_value(match["key"], match["value"])
            if rule:
                found.append(
                    {
                        "where": "history",
                        "name": match["key"],
                        "rule": rule,
                        "masked": mask(match["value"]),
                        "history_index": number,
                        "layer": history[number]["layer"] if number < len(history) else None,
                    }
                )
    return found
