"""Secrets: what they look like, how they are shown (masked, never whole), where they hide.

Three places are searched: file contents of candidate files (chosen by name, bounded size, read
as a stream), ``KEY=VALUE`` assignments (ENV, ARG, labels, history lines) whose key looks like a
credential, and any image-provided text for token shapes (cloud, VCS, registry tokens).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

SCAN_LIMIT = 1 << 20  # candidate files larger than this are reported by name, not read
READ_CHUNK = 1 << 16
OVERLAP = 512  # bytes kept between chunks so a token cut by a chunk border is still found
MAX_HITS_PER_FILE = 20

# Token shapes: (rule, pattern). Each pattern matches the whole secret value.
TOKEN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b")),
    ("github-token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b")),
    ("gitlab-token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("stripe-key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{24,}\b")),
    ("pypi-token", re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}")),
)
TOKEN_PREFIXES = (
    "github_pat_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "glpat-",
    "xoxa-",
    "xoxb-",
    "xoxo-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "npm_",
    "AKIA",
    "ASIA",
    "AIza",
    "sk_live_",
    "rk_live_",
    "pypi-",
)
PRIVATE_KEY = re.compile(
    r"-----BEGIN ((?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
)
# KEY=VALUE / KEY: VALUE / "KEY": "VALUE" with a credential-like key
SECRET_KEY = re.compile(
    r"(?i)(pass(?:word|wd|phrase)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"credential|auth|_authtoken|client[_-]?secret|session[_-]?key|signing[_-]?key)"
)
NOT_SECRET_KEY = re.compile(r"(?i)(_file|_path|_dir|_url_template|_length|_enabled|_type)$")
# Keys start at a word boundary and every run is bounded: linear time on any input (no
# backtracking over long runs of word characters in a hostile file).
ASSIGNMENT = re.compile(
    r"""(?<![A-Za-z0-9_.-])(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,63})[ \t]{0,8}(?P<sep>=|:)"""
    r"""[ \t]{0,8}(?P<q>["']?)(?P<value>[^\s"'&;|]{1,4096})"""
)
URL_CREDENTIALS = re.compile(
    r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<user>[^:/@\s]{1,256}):"
    r"(?P<value>[^@/\s]{1,1024})@"
)
NETRC_PASSWORD = re.compile(r"(?m)\bpassword\s+(?P<value>\S+)")

# Files whose name alone makes them candidates: name -> rule (credentials and config.json
# only in some directories: see candidate_rule)
CREDENTIAL_FILES = {
    ".env": "dotenv-file",
    ".npmrc": "npmrc-file",
    ".git-credentials": "git-credentials-file",
    ".netrc": "netrc-file",
    ".pypirc": "pypirc-file",
    ".pgpass": "pgpass-file",
    ".htpasswd": "htpasswd-file",
}
KEY_NAMES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
KEY_SUFFIXES = (".pem", ".key", ".p8", ".ppk", ".asc")


@dataclass(frozen=True)
class Hit:
    """One secret found: the rule that matched and the masked value (never the value)."""

    rule: str
    masked: str
    line: int = 0


def mask(value: str) -> str:
    """A value as it may be shown: only a well-known token prefix (which tells the kind of
    token, not the token) and the length; never a character of the secret itself."""
    prefix = next(
        (p for p in TOKEN_PREFIXES if value.startswith(p) and len(value) > 2 * len(p)), ""
    )
    return f"{prefix}****(len={len(value)})"


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and not NOT_SECRET_KEY.search(key)


def secret_value(key: str, value: str) -> str | None:
    """The rule name if ``key=value`` holds a secret, else None (empty values and references
    such as ``$VAR`` or ``/run/secrets/x`` are not secrets)."""
    if not value or value.startswith(("$", "/run/secrets", "<", "{{")):
        return None
    for rule, pattern in TOKEN_RULES:
        if pattern.fullmatch(value):
            return rule
    if is_secret_key(key) and value.lower() not in ("true", "false", "none", "null", "yes", "no"):
        return "password-like-value"
    return None


def token_hits(text: str) -> list[tuple[str, int, int]]:
    """(rule, start, end) of every token shape and credential assignment in ``text``."""
    spans: list[tuple[str, int, int]] = []
    for rule, pattern in TOKEN_RULES:
        spans += [(rule, m.start(), m.end()) for m in pattern.finditer(text)]
    for match in ASSIGNMENT.finditer(text):
        if secret_value(match["key"], match["value"]):
            spans.append(("password-like-value", match.start("value"), match.end("value")))
    for match in URL_CREDENTIALS.finditer(text):
        spans.append(("url-credentials", match.start("value"), match.end("value")))
    return _disjoint(spans)


def redact(text: str) -> str:
    """``text`` with every secret value in it replaced by its mask."""
    spans = token_hits(text)
    if not spans:
        return text
    out: list[str] = []
    position = 0
    for _rule, start, end in spans:
        out += [text[position:start], mask(text[start:end])]
        position = end
    out.append(text[position:])
    return "".join(out)


def _disjoint(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    spans.sort(key=lambda s: (s[1], -s[2]))
    kept: list[tuple[str, int, int]] = []
    for span in spans:
        if kept and span[1] < kept[-1][2]:
            continue
        kept.append(span)
    return kept


def candidate_rule(path: str) -> str | None:
    """Why a file is read for secrets (by its name), or None: it is not read."""
    parts = path.rsplit("/", 2)
    name = parts[-1]
    directory = parts[-2] if len(parts) > 1 else ""
    if name == "config.json":
        return "docker-config" if directory == ".docker" else None
    if name == "credentials":
        return "credentials-file" if directory in (".aws", ".gcp", ".azure", ".config") else None
    if name in CREDENTIAL_FILES:
        return CREDENTIAL_FILES[name]
    if name.startswith(".env.") and not name.endswith((".example", ".sample", ".template")):
        return "dotenv-file"
    if name in KEY_NAMES or (name.startswith("ssh_host_") and name.endswith("_key")):
        return "private-key-file"
    if name.endswith(KEY_SUFFIXES):
        return "key-file"
    return None


def scan_stream(stream: BinaryIO, limit: int = SCAN_LIMIT) -> list[Hit]:
    """Secrets in at most ``limit`` bytes of ``stream``, read in chunks (never whole)."""
    hits: list[Hit] = []
    seen: set[tuple[str, int]] = set()
    tail = ""
    line = 1
    left = limit
    while left > 0 and len(hits) < MAX_HITS_PER_FILE:
        chunk = stream.read(min(READ_CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        text = tail + chunk.decode("utf-8", "replace")
        hits += _scan_text(text, line - tail.count("\n"), seen)
        tail = text[-OVERLAP:]
        line += chunk.count(b"\n")
    return hits[:MAX_HITS_PER_FILE]


def _scan_text(text: str, first_line: int, seen: set[tuple[str, int]]) -> list[Hit]:
    found: list[Hit] = []

    def add(rule: str, masked: str, offset: int) -> None:
        number = first_line + text.count("\n", 0, offset)
        if (rule, number) not in seen:
            seen.add((rule, number))
            found.append(Hit(rule, masked, number))

    for match in PRIVATE_KEY.finditer(text):
        add("private-key", f"-----BEGIN {match[1]}----- …", match.start())
    for rule, start, end in token_hits(text):
        add(rule, mask(text[start:end]), start)
    for match in NETRC_PASSWORD.finditer(text):
        add("password-like-value", mask(match["value"]), match.start())
    return found
