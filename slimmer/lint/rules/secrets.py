"""SL4001-SL4003: credentials written into the image through ENV, ARG, values or copied files.

A secret value is never shown whole: `mask` keeps at most a short prefix and the length.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from slimmer.lint.context import LintContext, copy_sources
from slimmer.lint.model import Hit, Severity
from slimmer.lint.registry import rule

SECRET_WORDS = frozenset(
    {"password", "passwd", "pass", "passphrase", "pwd", "secret", "token", "apikey",
     "credential", "credentials", "privatekey", "secretkey", "accesskey"}
)  # fmt: skip
SECRET_PAIRS = frozenset(
    {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"),
     ("client", "secret"), ("auth", "key"), ("signing", "key"), ("encryption", "key"),
     ("master", "key"), ("session", "key")}
)  # fmt: skip
NOT_SECRET_ENDINGS = frozenset(
    {"file", "path", "dir", "url", "uri", "host", "port", "user", "username", "name", "id",
     "length", "enabled", "type", "header", "env", "endpoint", "method", "policy", "version"}
)  # fmt: skip
TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}")),
    ("a GitHub token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Stripe live key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{24,}")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("a password in a URL", re.compile(r"[a-z][a-z0-9+.-]*://[^:/@\s$]+:([^@/\s$]+)@")),
)
VARIABLE_ONLY = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$")
SECRET_FILE_NAMES = frozenset(
    {".env", ".npmrc", ".pypirc", ".netrc", ".git-credentials", ".pgpass", ".htpasswd",
     ".dockercfg", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "credentials.json"}
)  # fmt: skip
SECRET_FILE_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".keystore", ".jks")
SECRET_DIRS = (".ssh", ".aws", ".gnupg", ".kube")
ENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl")


def mask(value: str) -> str:
    """A value as it may be shown: a short prefix for long values (enough to tell the kind of
    token, never more than a quarter of it) and its length."""
    shown = min(4, len(value) // 4) if len(value) >= 16 else 0
    return f"{value[:shown]}…({len(value)} chars)" if shown else f"****({len(value)} chars)"


def is_secret_name(name: str) -> bool:
    words = [w for w in re.split(r"[_.\-]+", name.lower()) if w]
    if not words or words[-1] in NOT_SECRET_ENDINGS:
        return False
    if any(word in SECRET_WORDS for word in words):
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(words))


@rule("SL4001", Severity.ERROR, "secret in ENV or ARG")
def secret_env_arg(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("ENV", "ARG"):
        for name, value in instruction.pairs:
            if not is_secret_name(name) or (instruction.keyword == "ENV" and not value):
                continue
            if value is None:
                shown = "no default"
            elif VARIABLE_ONLY.match(value):
                shown = f"set from {value}"
            else:
                shown = f"value {mask(value)}" if value else "empty default"
            yield Hit(
                instruction.line,
                f"{instruction.keyword} {name} looks like a secret ({shown}): ENV and ARG values "
                f"stay in the image and its history; use RUN --mount=type=secret,id={name.lower()}"
                " at build time or inject it at run time",
            )


@rule("SL4002", Severity.ERROR, "credential-shaped value in the Dockerfile")
def credential_values(ctx: LintContext) -> Iterator[Hit]:
    for instruction in ctx.dockerfile.instructions:
        texts = [instruction.value] + [heredoc.body for heredoc in instruction.heredocs]
        for kind, pattern in TOKEN_SHAPES:
            match = next((m for text in texts for m in [pattern.search(text)] if m), None)
            if match is None:
                continue
            secret = match.group(1) if pattern.groups else match.group(0)
            yield Hit(
                instruction.line,
                f"{instruction.keyword} holds {kind} ({mask(secret)}): remove it, revoke it, and "
                "pass credentials with RUN --mount=type=secret instead",
            )
            break


def _secret_file(source: str) -> bool:
    path = source.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if name in SECRET_FILE_NAMES or name.endswith(SECRET_FILE_SUFFIXES):
        return True
    if name.startswith(".env.") and not name.endswith(ENV_TEMPLATES):
        return True
    if path.endswith(".docker/config.json"):
        return True
    return any(part in SECRET_DIRS for part in path.split("/"))


@rule("SL4003", Severity.ERROR, "credential file copied into the image")
def secret_files(ctx: LintContext) -> Iterator[Hit]:
    for _, instruction in ctx.instructions("COPY", "ADD"):
        if "from" in instruction.flags:
            continue
        found = [source for source in copy_sources(instruction) if _secret_file(source)]
        if found:
            yield Hit(
                instruction.line,
                f"Don't {instruction.keyword} {found[0]} into the image: credentials stay in the "
                "layer for anyone who pulls it; mount it with RUN --mount=type=secret at build "
                "time or give it to the container at run time",
            )
