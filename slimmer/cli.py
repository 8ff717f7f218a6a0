"""Command line: parse options, call the pipeline, format results. Nothing more.

Every error ends as one line on stderr and an exit code: 0 ok, 1 error, 2 usage,
3 verification failed, 4 a policy failed (an `xray --ci` gate, `lint` findings).
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from slimmer import __version__
from slimmer.errors import EXIT_ERROR, EXIT_GATE_FAILED, EXIT_USAGE, SlimmerError, UsageError
from slimmer.options import (
    PRESET_NAMES,
    BuildOptions,
    ComposeOptions,
    ContinueAfter,
    ObserveOptions,
    SelectOptions,
)
from slimmer.rebuild.changes import ConfigOptions, config_changes
from slimmer.rebuild.config import ConfigChanges
from slimmer.runsettings import RunSettings, parse_size
from slimmer.session import Terminated

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _observe_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The observation options shared by build and profile."""
    options = [
        click.option(
            "--http-probe/--no-http-probe",
            default=True,
            show_default=True,
            help="Probe every exposed TCP port (HTTP crawl, known protocols, TCP).",
        ),
        click.option(
            "--http-probe-cmd",
            "http_probe_cmds",
            multiple=True,
            metavar="'METHOD /PATH'",
            help="An extra HTTP request, e.g. 'POST /api/items' (repeatable).",
        ),
        click.option(
            "--probe-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="JSON file of requests: method, path, port, headers, body, status.",
        ),
        click.option(
            "--exec",
            "execs",
            multiple=True,
            metavar="CMD",
            help="Run CMD inside the target during observation (repeatable).",
        ),
        click.option(
            "--host-exec",
            "host_execs",
            multiple=True,
            metavar="CMD",
            help="Run CMD on the host with SLIMMER_TARGET_HOST and "
            "SLIMMER_TARGET_PORT_<port> set (repeatable).",
        ),
        click.option(
            "--continue-after",
            metavar="probe|exit|timeout:N|signal",
            help="When observation ends. Default: probe when the image exposes ports "
            "or probes are given, else exit.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=1),
            default=120,
            show_default=True,
            help="Seconds the observed run may take at most.",
        ),
        click.option(
            "--probe-timeout",
            type=click.FloatRange(min=1),
            default=60,
            show_default=True,
            help="Seconds each exposed port may take to start answering.",
        ),
        click.option(
            "--output-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Where report.json and the profiles go [default: ./slimmer-out/NAME].",
        ),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="Print the report summary as JSON on stdout (progress stays on stderr).",
        ),
        click.option(
            "--seccomp-log",
            is_flag=True,
            help="Also write seccomp-log.json: same allow list, default action LOG.",
        ),
        click.argument("image", required=False),
    ]
    for option in reversed(options):
        func = option(func)
    return _run_options(func)


def _run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """How the target runs (docker CLI names and syntax), shared by build and profile."""
    many = {"multiple": True}
    options = [
        click.option("--env", "-e", "env", metavar="KEY[=VALUE]", **many,
                     help="Set a variable in the target (value from slimmer's environment when "
                     "only KEY is given). Values never appear in outputs."),
        click.option("--env-file", "env_files", metavar="FILE", **many,
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Read KEY=VALUE lines (docker's env-file format)."),
        click.option("--mount", "mounts", metavar="type=...,source=...,target=...", **many,
                     help="Mount a bind, volume or tmpfs (docker's --mount syntax)."),
        click.option("--volume", "-v", "volumes", metavar="SRC:DST[:ro]", **many,
                     help="Bind a host path or a named volume (docker's -v syntax)."),
        click.option("--tmpfs", "tmpfs", metavar="PATH[:OPTS]", **many,
                     help="Mount a tmpfs."),
        click.option("--network", metavar="NAME",
                     help="Attach the target to this existing network."),
        click.option("--network-alias", "network_aliases", metavar="ALIAS", **many,
                     help="The target's name on --network."),
        click.option("--add-host", "add_hosts", metavar="NAME:IP", **many,
                     help="Add a line to the target's /etc/hosts."),
        click.option("--entrypoint", metavar="CMD",
                     help="Override ENTRYPOINT (an executable, or a JSON array); drops the "
                     "image's CMD as docker does."),
        click.option("--cmd", metavar="ARGS",
                     help="Override CMD: a JSON array or shell words."),
        click.option("--workdir", "-w", metavar="DIR", help="Override WORKDIR."),
        click.option("--user", "-u", metavar="USER[:GROUP]", help="Override USER."),
        click.option("--cap-add", "cap_add", metavar="CAP", **many,
                     help="Give the target a capability, as docker run --cap-add does."),
        click.option("--expose", "expose", metavar="PORT", **many,
                     help="Also probe this TCP port (the image does not declare it)."),
        click.option("--probe-port", "probe_ports", metavar="PORT", **many,
                     help="Probe only these TCP ports."),
        click.option("--healthcheck-cmd", metavar="CMD",
                     help="Use this shell command as the HEALTHCHECK (observed, then awaited)."),
        click.option("--no-healthcheck", is_flag=True,
                     help="Do not run the HEALTHCHECK while observing nor wait for healthy."),
        click.option("--memory", "-m", metavar="SIZE",
                     help="Memory limit of every container the target runs in (512m, 4g; 0: "
                     "none) [default: 4g]."),
        click.option("--pids-limit", type=int, metavar="N",
                     help="Process limit of those containers (0: none) [default: 4096]."),
        click.option("--compose-file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Run --service of this compose file with its dependencies."),
        click.option("--service", metavar="NAME", help="The compose service to slim."),
        click.option("--compose-project", metavar="NAME",
                     help="Compose project name [default: a new project, removed at the end]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run_from(kwargs: dict[str, Any]) -> tuple[RunSettings, ComposeOptions | None]:
    """The run settings and compose options; IMAGE is required unless a compose file names it."""
    from slimmer.runsettings import settings_from_options

    compose_file, service = kwargs.pop("compose_file"), kwargs.pop("service")
    project = kwargs.pop("compose_project")
    compose = None
    if compose_file is not None or service is not None:
        if compose_file is None or service is None:
            raise click.UsageError("--compose-file and --service go together")
        compose = ComposeOptions(compose_file, service, project)
    elif project is not None:
        raise click.UsageError("--compose-project needs --compose-file and --service")
    if kwargs.get("image") is None and compose is None:
        raise click.UsageError("Missing argument 'IMAGE' (or --compose-file with --service)")
    names = (
        "env", "env_files", "mounts", "volumes", "tmpfs", "network", "network_aliases",
        "add_hosts", "entrypoint", "cmd", "workdir", "user", "cap_add", "expose", "probe_ports",
        "healthcheck_cmd", "no_healthcheck", "memory", "pids_limit",
    )  # fmt: skip
    return settings_from_options(**{name: kwargs.pop(name) for name in names}), compose


def _observe_from(kwargs: dict[str, Any]) -> ObserveOptions:
    continue_after = kwargs.pop("continue_after")
    return ObserveOptions(
        http_probe=kwargs.pop("http_probe"),
        http_probe_cmds=list(kwargs.pop("http_probe_cmds")),
        probe_file=kwargs.pop("probe_file"),
        execs=list(kwargs.pop("execs")),
        host_execs=list(kwargs.pop("host_execs")),
        continue_after=ContinueAfter.parse(continue_after) if continue_after else None,
        timeout=kwargs.pop("timeout"),
        probe_timeout=kwargs.pop("probe_timeout"),
    )


def _engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Which engine to use (build, profile, doctor)."""
    options = [
        click.option(
            "--engine-host",
            metavar="URL",
            help="Engine address (unix:///PATH, tcp://HOST:PORT, ssh://USER@HOST) "
            "[default: DOCKER_HOST, the Docker context, the Docker socket, else Podman's].",
        ),
        click.option("--context", metavar="NAME", help="Use this Docker CLI context."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where the image comes from (build, profile)."""
    options = [
        click.option(
            "--pull", is_flag=True, help="Pull IMAGE when the engine lacks it (or its platform)."
        ),
        click.option(
            "--platform",
            metavar="OS/ARCH[/VARIANT]",
            help="The variant to pull, or to pick from a multi-platform image file.",
        ),
        click.option(
            "--keep",
            is_flag=True,
            help="Keep an image read from a file loaded in the engine after the run.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _engine_from(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The engine and source options as BuildOptions fields."""
    names = ("engine_host", "context", "pull", "platform", "keep")
    return {name: kwargs.pop(name) for name in names if name in kwargs}


def _runs_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--run: observe (and verify) the image once per command."""
    return click.option(
        "--run",
        "runs",
        multiple=True,
        metavar="'ARGS'",
        help="Observe the image with ARGS (shell words) instead of its CMD, after its "
        "ENTRYPOINT; repeat for each way it is used (a CLI's subcommands). The observations "
        "are united; each run is verified (exit status, output).",
    )(func)


def _runs_from(kwargs: dict[str, Any]) -> list[list[str]]:
    runs = []
    for text in kwargs.pop("runs"):
        try:
            runs.append(shlex.split(text))
        except ValueError as exc:
            raise UsageError(f"--run {text!r}: {exc}", "check the quotes") from None
    return runs


_CONFIG_OPTIONS: list[tuple[str, bool, str, str]] = [
    # (option, repeatable, metavar, help)
    ("--new-env", True, "KEY=VAL", "Set a variable in the slim image (KEY alone: its value in "
     "slimmer's environment). Values never appear in reports or logs."),
    ("--remove-env", True, "KEY", "Remove a variable from the slim image."),
    ("--new-entrypoint", False, "CMD", "Slim image ENTRYPOINT: JSON array or shell words; '' "
     "clears. Clears CMD unless --new-cmd is given, as in a Dockerfile."),
    ("--new-cmd", False, "CMD", "Slim image CMD: JSON array or shell words; '' clears."),
    ("--new-workdir", False, "PATH", "Slim image working directory."),
    ("--new-user", False, "USER[:GROUP]", "Slim image user (verified as that user)."),
    ("--new-expose", True, "PORT[/PROTO]", "Expose a port in the slim image."),
    ("--remove-expose", True, "PORT[/PROTO]", "Remove an exposed port from the slim image."),
    ("--new-label", True, "KEY=VAL", "Set a label on the slim image."),
    ("--remove-label", True, "KEY", "Remove a label from the slim image."),
    ("--new-volume", True, "PATH", "Declare a VOLUME in the slim image."),
    ("--new-healthcheck", False, "'[--interval=D ...] CMD ...'", "Slim image HEALTHCHECK in "
     "Dockerfile syntax, or NONE."),
]


def _config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The --new-*/--remove-* options: the slim image's config (observed and verified with it)."""
    for name, repeatable, metavar, text in reversed(_CONFIG_OPTIONS):
        dest = name.lstrip("-").replace("-", "_")
        func = click.option(name, dest, multiple=repeatable, metavar=metavar, help=text)(func)
    return func


def _changes_from(kwargs: dict[str, Any]) -> ConfigChanges:
    values = {}
    for name, repeatable, _, _ in _CONFIG_OPTIONS:
        dest = name.lstrip("-").replace("-", "_")
        value = kwargs.pop(dest)
        values[dest] = list(value) if repeatable else value
    return config_changes(ConfigOptions(**values))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="slimmer")
def cli() -> None:
    """Make container images small and least-privileged by watching them work."""


@cli.command(context_settings=CONTEXT)
@_observe_options
@_engine_options
@_source_options
@_runs_option
@_config_options
@click.option("--tag", help="Tag of the slim image [default: REPO.slim:TAG].")
@click.option(
    "--push",
    is_flag=True,
    help="Push the slim tag after the verification passed (credentials: the Docker CLI's).",
)
@click.option("--push-always", is_flag=True, help="Push even when the verification failed.")
@click.option(
    "--no-load",
    "no_load",
    is_flag=True,
    help="Write only --archive/--oci; never tag the slim image into the engine.",
)
@click.option(
    "--archive",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the slim image as a docker-archive tar.",
)
@click.option(
    "--oci",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the slim image as an OCI image layout tar.",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Run the slim image with the same probes and compare.",
)
@click.option(
    "--include-path",
    "include_paths",
    multiple=True,
    metavar="PATH",
    help="Keep this file or directory (recursive).",
)
@click.option(
    "--include-bin",
    "include_bins",
    multiple=True,
    metavar="PATH",
    help="Keep this binary and its shared libraries.",
)
@click.option(
    "--include-exe",
    "include_exes",
    multiple=True,
    metavar="NAME",
    help="Keep this command, found through the image's PATH, and its libraries.",
)
@click.option("--include-shell", is_flag=True, help="Keep a shell and basic tools for debugging.")
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help="Never keep paths matching GLOB (applied last).",
)
@click.option(
    "--preset",
    type=click.Choice(PRESET_NAMES),
    default="default",
    show_default=True,
    help="How much the rules keep beyond what the run used: safe keeps more, lean only what was "
    "used (docs/presets.md). --include-*/--exclude apply on top.",
)
@click.option(
    "--package-db/--no-package-db",
    default=True,
    show_default=True,
    help="Keep the package database, trimmed to the packages and files kept.",
)
@click.option(
    "--sbom-format",
    type=click.Choice(["cyclonedx", "spdx", "both", "none"]),
    default="both",
    show_default=True,
    help="SBOM of the slim image: sbom.cdx.json / sbom.spdx.json in the output directory.",
)
@click.option(
    "--attach-sbom",
    is_flag=True,
    help="Also write the SBOM into the slim image under /usr/share/slimmer/.",
)
@click.option(
    "--max-layer-bytes",
    default="32G",
    show_default=True,
    metavar="SIZE",
    help="Refuse an image with a layer larger than SIZE uncompressed (K, M, G, T suffixes) "
    "when its layers are read from the save stream (a walk unpacks none).",
)
@click.option(
    "--read-image",
    type=click.Choice(["auto", "cache", "walk", "save"]),
    default="auto",
    show_default=True,
    help="How to read the image: the layer cache, a walk of a fresh container (both move only "
    "what is read), or the engine's save stream (every byte); auto takes the fastest exact one.",
)
@click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Do not use or fill the layer index cache ($XDG_CACHE_HOME/slimmer).",
)
def build(**kwargs: Any) -> int:
    """Observe IMAGE, keep what it uses, write a slim image and verify it.

    IMAGE is an engine reference, or an image file: docker-archive:FILE, oci-archive:FILE,
    oci:DIR.
    """
    from slimmer.pipeline import run_build
    from slimmer.summary import print_summary

    as_json = kwargs.pop("as_json")
    run, compose = _run_from(kwargs)
    runs, changes = _runs_from(kwargs), _changes_from(kwargs)
    options = BuildOptions(
        image=kwargs.pop("image") or "",
        run=run,
        compose=compose,
        observe=_observe_from(kwargs),
        changes=changes,
        select=SelectOptions(
            include_paths=list(kwargs.pop("include_paths")),
            include_bins=list(kwargs.pop("include_bins")),
            include_exes=list(kwargs.pop("include_exes")),
            include_shell=kwargs.pop("include_shell"),
            excludes=list(kwargs.pop("excludes")),
            package_db=kwargs.pop("package_db"),
            preset=kwargs.pop("preset"),
        ),
        tag=kwargs.pop("tag"),
        output_dir=kwargs.pop("output_dir"),
        archive=kwargs.pop("archive"),
        oci=kwargs.pop("oci"),
        verify=kwargs.pop("verify"),
        seccomp_log=kwargs.pop("seccomp_log"),
        push=kwargs.pop("push"),
        push_always=kwargs.pop("push_always"),
        load=not kwargs.pop("no_load"),
        **_engine_from(kwargs),
        sbom_format=kwargs.pop("sbom_format"),
        attach_sbom=kwargs.pop("attach_sbom"),
        max_layer_bytes=parse_size(kwargs.pop("max_layer_bytes"), "--max-layer-bytes"),
        read_image=kwargs.pop("read_image"),
        layer_cache=not kwargs.pop("no_cache"),
    )
    options.observe.runs = runs
    outcome = run_build(options)
    print_summary(outcome, as_json=as_json)
    return outcome.exit_code


@cli.command(context_settings=CONTEXT)
@_observe_options
@_engine_options
@_source_options
@_runs_option
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Run the original image under the generated seccomp profile and compare.",
)
def profile(**kwargs: Any) -> int:
    """Observe IMAGE and write seccomp and AppArmor profiles; no image is built."""
    from slimmer.pipeline import run_profile
    from slimmer.summary import print_summary

    as_json = kwargs.pop("as_json")
    run, compose = _run_from(kwargs)
    runs = _runs_from(kwargs)
    options = BuildOptions(
        image=kwargs.pop("image") or "",
        run=run,
        compose=compose,
        observe=_observe_from(kwargs),
        output_dir=kwargs.pop("output_dir"),
        verify=kwargs.pop("verify"),
        seccomp_log=kwargs.pop("seccomp_log"),
        **_engine_from(kwargs),
    )
    options.observe.runs = runs
    outcome = run_profile(options)
    print_summary(outcome, as_json=as_json)
    return outcome.exit_code


@cli.command(context_settings=CONTEXT)
@click.option(
    "--format",
    "sbom_format",
    type=click.Choice(["cyclonedx", "spdx", "both"]),
    default="cyclonedx",
    show_default=True,
    help="CycloneDX 1.6 JSON, SPDX 2.3 JSON, or both (needs -o DIRECTORY).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write to this file (a directory for --format both) [default: stdout].",
)
@click.argument("image")
def sbom(image: str, sbom_format: str, output: Path | None) -> int:
    """Write the SBOM of IMAGE: an engine reference, a docker-archive file, or an OCI layout
    (directory or tar). Files need no engine."""
    from slimmer.sbom import formats_of
    from slimmer.sbom.command import sbom_documents, write_sbom

    formats = formats_of(sbom_format)
    if len(formats) > 1 and output is None:
        raise click.UsageError("--format both writes two files: give -o DIRECTORY")
    documents = sbom_documents(image, formats)
    written = write_sbom(documents, output)
    if not written:
        click.echo(next(iter(documents.values())).decode("utf-8"), nl=False)
    for path in written:
        click.echo(f"wrote {path}", err=True)
    return 0


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@_engine_options
@click.option(
    "--push",
    "push_ref",
    metavar="REF|REGISTRY",
    help="Also check that this registry (or the registry of this image reference) answers.",
)
def doctor(
    as_json: bool, engine_host: str | None, context: str | None, push_ref: str | None
) -> int:
    """Check the engine, the sensors and what a profiling container may do."""
    from slimmer.doctor import print_checks, run_checks

    checks = run_checks(engine_host=engine_host, context=context, push=push_ref)
    print_checks(checks, as_json=as_json)
    return 0 if all(c.ok or not c.required for c in checks) else EXIT_ERROR


@cli.command(context_settings=CONTEXT)
@click.argument("path", default=".", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--sarif", "as_sarif", is_flag=True, help="Print SARIF 2.1.0 (GitHub code scanning).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file [default: .slimmer-lint.yaml beside the Dockerfile or here].",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "style", "none"], case_sensitive=False),
    help="Exit 4 when a finding is at or above this severity [default: warning].",
)
def lint(path: str, as_json: bool, as_sarif: bool, config_path: Path | None, fail_on: str) -> int:
    """Check the Dockerfile PATH (a directory: its Dockerfile and .dockerignore; - for stdin).

    Exit codes: 0 no finding at or above --fail-on, 1 error, 2 usage, 4 findings.
    """
    import json

    from slimmer import lint as linting

    if as_json and as_sarif:
        raise click.UsageError("--json and --sarif print different formats: choose one")
    config = linting.resolve_config(path, config_path)
    report = linting.lint_path(path, config)
    threshold = linting.parse_fail_on(fail_on) if fail_on else config.fail_on
    if as_sarif:
        click.echo(json.dumps(linting.to_sarif(report), indent=2))
    elif as_json:
        click.echo(json.dumps(linting.to_json(report, threshold), indent=2))
    else:
        click.echo(linting.format_text(report))
    return linting.EXIT_FINDINGS if report.at_or_above(threshold) else 0


def _gate_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The CI gate options of xray (they override .slimmer-ci.yaml)."""
    options = [
        click.option("--ci", is_flag=True, help="Check the CI gates; exit 4 when one fails."),
        click.option(
            "--ci-config",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Gate rules file [default: .slimmer-ci.yaml if present].",
        ),
        click.option("--lowest-efficiency", type=float, help="Fail below this efficiency (0..1)."),
        click.option("--highest-wasted-bytes", metavar="SIZE", help="Fail above, e.g. 20MB."),
        click.option(
            "--highest-user-wasted-percent", type=float, help="Fail above this ratio (0..1)."
        ),
        click.option("--max-size", metavar="SIZE", help="Fail when the image is larger."),
        click.option("--no-root-user/--allow-root-user", default=None, help="Fail on root."),
        click.option("--no-secrets/--allow-secrets", default=None, help="Fail on secrets."),
        click.option("--no-setuid/--allow-setuid", default=None, help="Fail on set-id files."),
        click.option(
            "--allowed-base", multiple=True, metavar="IMAGE", help="Allowed base (repeatable)."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@cli.command(context_settings=CONTEXT)
@click.argument("image")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (docs/xray.md).")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report with a treemap.",
)
@click.option("--platform", metavar="OS/ARCH[/VARIANT]", help="Image of a multi-platform index.")
@_gate_options
def xray(**kwargs: Any) -> int:
    """Show what is inside IMAGE (engine reference, docker-archive or OCI layout): layers,
    wasted space, a Dockerfile from history, config, security findings, packages."""
    from slimmer.htmlreport import write_xray_html
    from slimmer.xray import XrayOptions, base_diff_ids, xray_image
    from slimmer.xray.gates import evaluate, load_rules
    from slimmer.xray.render import print_gates, print_json, render_xray

    html_file = kwargs.pop("html_file")
    options = XrayOptions(treemap_nodes=3000 if html_file else 0)
    report = xray_image(kwargs.pop("image"), kwargs.pop("platform"), options)
    verdicts = []
    if kwargs.pop("ci"):
        overrides = {
            "lowest-efficiency": kwargs.pop("lowest_efficiency"),
            "highest-wasted-bytes": kwargs.pop("highest_wasted_bytes"),
            "highest-user-wasted-percent": kwargs.pop("highest_user_wasted_percent"),
            "max-size": kwargs.pop("max_size"),
            "no-root-user": kwargs.pop("no_root_user"),
            "no-secrets": kwargs.pop("no_secrets"),
            "no-setuid": kwargs.pop("no_setuid"),
            "allowed-base": list(kwargs.pop("allowed_base")) or None,
        }
        verdicts = evaluate(report, load_rules(kwargs.pop("ci_config"), overrides), base_diff_ids)
        report["ci"] = [v.__dict__ for v in verdicts]
    if html_file:
        write_xray_html(report, html_file)
    report.pop("tree", None)
    if kwargs.pop("as_json"):
        print_json(report)
    else:
        render_xray(report)
        if verdicts:
            print_gates(verdicts)
    return EXIT_GATE_FAILED if any(v.status == "fail" for v in verdicts) else 0


@cli.command(context_settings=CONTEXT)
@click.argument("image_a")
@click.argument("image_b")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report.",
)
@click.option("--platform", metavar="OS/ARCH[/VARIANT]", help="Image of a multi-platform index.")
def diff(
    image_a: str, image_b: str, as_json: bool, html_file: Path | None, platform: str | None
) -> int:
    """Compare two images: files added, removed and changed, packages, config."""
    from slimmer.diff import diff_images
    from slimmer.diff.render import render_diff
    from slimmer.htmlreport import write_diff_html
    from slimmer.xray.render import print_json

    report = diff_images(image_a, image_b, platform)
    if html_file:
        write_diff_html(report, html_file)
    if as_json:
        print_json(report)
    else:
        render_diff(report)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line per error, exit codes as documented."""
    try:
        code = cli.main(args=argv, prog_name="slimmer", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        message = exc.format_message().rstrip(".")
        _fail(f"{message} (see `slimmer {_command(exc)}--help`)", EXIT_USAGE)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        # click turns an interrupt into Abort; a SIGTERM/SIGHUP is a Terminated under it
        cause = exc if isinstance(exc, Terminated) else exc.__cause__
        if isinstance(cause, Terminated):
            _fail(f"terminated by {cause}", 128 + cause.signum)
        _fail("interrupted", 128 + signal.SIGINT)
    except SlimmerError as exc:
        _fail(exc.one_line(), exc.exit_code)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get("SLIMMER_DEBUG"):
            traceback.print_exc()
        _fail(
            f"internal error: {type(exc).__name__}: {exc} "
            "(rerun with SLIMMER_DEBUG=1 for a traceback and report it)",
            EXIT_ERROR,
        )
    sys.exit(code if isinstance(code, int) else 0)


def _command(exc: click.exceptions.UsageError) -> str:
    ctx = exc.ctx
    if ctx is None or ctx.parent is None:
        return ""
    return f"{ctx.info_name} "


def _fail(message: str, code: int) -> None:
    click.echo(f"slimmer: error: {message}", err=True)
    sys.exit(code)
