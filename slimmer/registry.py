"""Registries: which registry a reference names, what a registry failure means for the user,
and whether a registry answers (for `slimmer doctor --push`).

Pulls and pushes themselves go through the engine (``Engine.pull_image``/``push_image``) with
the credentials of the Docker CLI config (``auths``, ``credsStore``, ``credHelpers``), which
the Docker SDK reads from ``$DOCKER_CONFIG/config.json``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import docker.auth
import docker.errors
import requests

from slimmer.errors import ImageNotFound, RegistryError, SlimmerError

DOCKER_HUB = "docker.io"
PROBE_TIMEOUT = 10.0
UNREACHABLE = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "network is unreachable",
    "no route to host",
    "connection reset",
    "context deadline exceeded",
    "tls handshake timeout",
    "eof",
)
DENIED = ("unauthorized", "denied", "authentication required", "no basic auth credentials")
MISSING = ("manifest unknown", "not found", "does not exist", "no matching manifest")


def registry_of(ref: str) -> str:
    """The registry host a reference names ("127.0.0.1:5000/app:1" -> "127.0.0.1:5000"; a
    name without one is on Docker Hub)."""
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def is_loopback(registry: str) -> bool:
    """Whether a registry host ("127.0.0.1:5000", "localhost", "[::1]:5000") is this machine."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_error(action: str, ref: str, detail: str) -> SlimmerError:
    """One error with a hint for a registry failure the engine reported while pulling or
    pushing ``ref``."""
    registry = registry_of(ref)
    text = " ".join(detail.split())[:240]
    lowered = text.lower()
    if "http response to https client" in lowered:
        return RegistryError(
            f"cannot {action} {ref}: {registry} speaks plain HTTP ({text})",
            f'add "{registry}" to the engine\'s insecure-registries (daemon.json) or serve it '
            "over TLS",
        )
    if any(marker in lowered for marker in DENIED):
        return RegistryError(
            f"{registry} denied the {action} of {ref} ({text})",
            f"log in with `docker login {registry}` (slimmer uses the Docker CLI's "
            "credentials), and check that the account may " + action + " this repository",
        )
    if any(marker in lowered for marker in UNREACHABLE):
        return RegistryError(
            f"cannot reach the registry {registry} to {action} {ref} ({text})",
            "check the registry address and that it runs and is reachable from the engine "
            "(`slimmer doctor --push REF` checks from this machine)",
        )
    if action == "pull" and any(marker in lowered for marker in MISSING):
        return ImageNotFound(
            f"{registry} has no image {ref} ({text})",
            "check the name, tag and --platform (`skopeo inspect docker://REF` lists them)",
        )
    return RegistryError(
        f"{registry} refused the {action} of {ref} ({text})",
        "the registry answered with an error: check its log and that it accepts "
        f"{action}es (a read-only or full registry refuses pushes)",
    )


@dataclass(frozen=True)
class RegistryCheck:
    reachable: bool
    detail: str


def check_registry(ref: str, config_path: str | None = None) -> RegistryCheck:
    """Whether the registry of ``ref`` (an image reference or a bare registry host) answers
    its v2 API from this machine, and whether the Docker CLI config has credentials for it."""
    registry = registry_of(ref) if "/" in ref else ref
    host = "registry-1.docker.io" if registry == DOCKER_HUB else registry
    answers: list[str] = []
    for scheme in ("https", "http"):
        try:
            response = requests.get(f"{scheme}://{host}/v2/", timeout=PROBE_TIMEOUT)
        except requests.exceptions.SSLError as exc:
            answers.append(f"{scheme}: TLS failed ({_reason(exc)})")
            continue
        except requests.exceptions.RequestException as exc:
            answers.append(f"{scheme}: {_reason(exc)}")
            continue
        if response.status_code in (200, 401):
            login = "login required" if response.status_code == 401 else "no login required"
            credentials = _credentials(registry, config_path)
            return RegistryCheck(
                True, f"{registry}: {scheme} v2 API answers ({login}); {credentials}"
            )
        answers.append(f"{scheme}: HTTP {response.status_code}")
    return RegistryCheck(False, f"{registry}: not reachable ({'; '.join(answers)})")


def _credentials(registry: str, config_path: str | None) -> str:
    try:
        config = docker.auth.load_config(config_path)
        found = docker.auth.resolve_authconfig(config, registry)
    except (docker.errors.DockerException, OSError, ValueError) as exc:
        return f"credentials: cannot be read ({str(exc)[:120]})"
    if not found:
        return "no credentials in the Docker CLI config"
    return f"credentials for {found.get('username') or found.get('Username') or 'a user'} found"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "certificate verify failed", "wrong version number"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:120] if text else type(exc).__name__
