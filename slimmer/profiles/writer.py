"""Write the profile files of one observation into an output directory."""

from __future__ import annotations

import json
from pathlib import Path

from slimmer.observation import Observation
from slimmer.profiles.apparmor import apparmor_profile
from slimmer.profiles.docker_default import DOCKER_DEFAULT_CAPS
from slimmer.profiles.kubernetes import seccomp_profile_resource
from slimmer.profiles.seccomp import seccomp_profile

SECCOMP = "seccomp.json"
SECCOMP_LOG = "seccomp-log.json"
APPARMOR = "apparmor.profile"
KUBERNETES = "seccomp-profile.yaml"


def write_profiles(
    obs: Observation,
    name: str,
    outdir: Path,
    log_only: bool = False,
    caps: frozenset[str] = DOCKER_DEFAULT_CAPS,
) -> dict[str, Path]:
    """Write seccomp.json, apparmor.profile, seccomp-profile.yaml (and seccomp-log.json when
    ``log_only``) into ``outdir``, the seccomp profiles for a container with ``caps``; returns
    file name -> path of what was written."""
    outdir.mkdir(parents=True, exist_ok=True)
    profile = seccomp_profile(obs, caps=caps)
    texts = {
        SECCOMP: _json(profile),
        APPARMOR: apparmor_profile(obs, name),
        KUBERNETES: seccomp_profile_resource(profile, f"slimmer-{name}"),
    }
    if log_only:
        texts[SECCOMP_LOG] = _json(seccomp_profile(obs, log_only=True, caps=caps))
    written = {}
    for filename, text in texts.items():
        path = outdir / filename
        path.write_text(text)
        written[filename] = path
    return written


def _json(profile: dict) -> str:
    return json.dumps(profile, indent=2) + "\n"
