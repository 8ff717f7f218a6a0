"""Run settings: the docker CLI's syntax, redaction, and what the engine would run."""

from __future__ import annotations

import pytest

from slimmer import health
from slimmer.errors import UsageError
from slimmer.runsettings import (
    HealthCheck,
    Mount,
    RunSettings,
    parse_add_host,
    parse_argv,
    parse_cap,
    parse_entrypoint,
    parse_env,
    parse_mount,
    parse_tmpfs,
    parse_volume,
    read_env_file,
    settings_from_options,
)
from slimmer.target import target_of
from tests.test_target_options import info


def test_env_as_docker_takes_it() -> None:
    environ = {"FROM_SHELL": "x y", "OTHER": "1"}
    assert parse_env(["A=1", "B=", "C=a=b", "FROM_SHELL", "UNSET"], environ) == [
        "A=1", "B=", "C=a=b", "FROM_SHELL=x y",
    ]
    with pytest.raises(UsageError):
        parse_env(["=value"], environ)


def test_env_file_lines_are_literal(tmp_path) -> None:
    path = tmp_path / "app.env"
    path.write_text('# comment\n\n  QUOTED="kept as is"\nEMPTY=\nFROM_SHELL\nGONE\n')
    assert read_env_file(path, {"FROM_SHELL": "s"}) == [
        'QUOTED="kept as is"', "EMPTY=", "FROM_SHELL=s",
    ]
    path.write_text("BAD KEY=1\n")
    with pytest.raises(UsageError, match="line 1"):
        read_env_file(path, {})


def test_mounts_in_all_three_syntaxes(tmp_path) -> None:
    assert parse_mount(f"type=bind,source={tmp_path},target=/data/,readonly") == Mount(
        "bind", "/data", str(tmp_path), True
    )
    assert parse_mount("type=volume,src=cache,dst=/var/cache,volume-nocopy") == Mount(
        "volume", "/var/cache", "cache", False, (("volume-nocopy", "true"),)
    )
    assert parse_mount("type=tmpfs,target=/run,tmpfs-size=64m").options == (
        ("tmpfs-size", "64m"),
    )
    assert parse_volume("pgdata:/var/lib/postgresql/data") == Mount(
        "volume", "/var/lib/postgresql/data", "pgdata"
    )
    assert parse_volume(f"{tmp_path}:/in:ro") == Mount("bind", "/in", str(tmp_path), True)
    assert parse_volume("/anonymous") == Mount("volume", "/anonymous")
    assert parse_tmpfs("/scratch:size=1m") == Mount(
        "tmpfs", "/scratch", "", False, (("tmpfs-options", "size=1m"),)
    )
    for bad in ("type=bind,target=/x", "type=nfs,target=/x", "type=volume,target=rel",
                "type=volume,target=/x,colour=red"):
        with pytest.raises(UsageError):
            parse_mount(bad)
    with pytest.raises(UsageError):
        parse_volume("a:/b:rw:extra")


def test_commands_hosts_and_capabilities() -> None:
    assert parse_argv('["sh", "-c", "echo a b"]', "--cmd") == ("sh", "-c", "echo a b")
    assert parse_argv("sh -c 'echo a b'", "--cmd") == ("sh", "-c", "echo a b")
    assert parse_entrypoint("/bin/my tool") == ("/bin/my tool",)  # one executable, as docker
    assert parse_entrypoint("") == ()
    assert parse_add_host("db.local:10.0.0.2") == "db.local:10.0.0.2"
    assert parse_add_host("gw=host-gateway") == "gw:host-gateway"
    assert parse_cap("cap_net_admin") == "NET_ADMIN"
    for bad in ("SYS_ADMIN", "ALL", "NOT_A_CAP"):
        with pytest.raises(UsageError):
            parse_cap(bad)
    with pytest.raises(UsageError):
        parse_add_host("db.local:not-an-ip")
    with pytest.raises(UsageError):
        parse_argv("[1, 2]", "--cmd")


def test_options_make_one_settings_object(tmp_path) -> None:
    settings = settings_from_options(
        env=["TOKEN=abcdef"], volumes=["data:/data"], network="appnet",
        network_aliases=["api"], cmd="serve --port 9000", user="app", cap_add=["NET_RAW"],
        expose=["9000"], probe_ports=["9000/tcp"], healthcheck_cmd="curl -f localhost:9000",
    )
    assert settings.summary() == {
        "source": "options", "env_names": ["TOKEN"], "mounts": ["volume:data:/data"],
        "network": "appnet", "user": "app", "network_aliases": ["api"], "cap_add": ["NET_RAW"],
        "expose": ["9000/tcp"], "probe_ports": ["9000/tcp"], "cmd": ["serve", "--port", "9000"],
        "healthcheck": "HEALTHCHECK CMD-SHELL curl -f localhost:9000",
    }
    with pytest.raises(UsageError, match="same target"):
        settings_from_options(volumes=["a:/x", "b:/x"])
    with pytest.raises(UsageError, match="--network-alias"):
        settings_from_options(network_aliases=["x"])
    with pytest.raises(UsageError):
        settings_from_options(network="host")


def test_redaction_hides_every_value_but_trivial_ones() -> None:
    run = RunSettings(env=("URL=postgresql://u:pw-123@db/x", "PW=pw-123", "DEBUG=1"))
    text = "connect postgresql://u:pw-123@db/x failed; pw-123; level 1"
    assert run.redact(text) == "connect <redacted> failed; <redacted>; level 1"


def test_compose_settings_take_the_command_line_on_top() -> None:
    service = RunSettings(env=("A=1",), network="p_default", cmd=("serve",), source="compose")
    merged = service.merged(RunSettings(env=("B=2",), user="nobody", no_healthcheck=True))
    assert merged.env == ("A=1", "B=2") and merged.cmd == ("serve",)
    assert merged.user == "nobody" and merged.network == "p_default" and merged.no_healthcheck


def test_target_follows_docker_rules_for_entrypoint_cmd_and_ports() -> None:
    image = info({
        "Entrypoint": ["/entry.sh"], "Cmd": ["serve"], "User": "app",
        "ExposedPorts": {"8000/tcp": {}}, "Env": ["PATH=/bin"],
        "Healthcheck": {"Test": ["CMD", "curl", "-f", "http://localhost/"],
                        "Interval": 5_000_000_000, "Retries": 2},
    })
    assert target_of(image, RunSettings(cmd=("worker",))).argv == ["/entry.sh", "worker"]
    # a new entrypoint drops the image's CMD, as `docker run --entrypoint` does
    assert target_of(image, RunSettings(entrypoint=("python3",))).argv == ["python3"]
    target = target_of(image, RunSettings(expose=("9000/tcp",), user="0", env=("HOME=/x",)))
    assert target.tcp_ports == ["8000/tcp", "9000/tcp"] and target.user == "0"
    assert target.sets_home and target.healthcheck is not None
    assert target.healthcheck.argv == ["curl", "-f", "http://localhost/"]
    assert target_of(image, RunSettings(probe_ports=("9000/tcp",))).tcp_ports == ["9000/tcp"]
    assert target_of(image, RunSettings(no_healthcheck=True)).healthcheck is None
    shell = target_of(image, RunSettings(healthcheck=HealthCheck.shell("pgrep app")))
    assert shell.healthcheck is not None
    assert shell.healthcheck.argv == ["/bin/sh", "-c", "pgrep app"]


def test_verification_health_check_is_faster_but_never_fails_sooner() -> None:
    check = HealthCheck(("CMD", "true"), interval=30, timeout=3, start_period=10, retries=3)
    engine_check = health.verification_check(check)
    assert engine_check["Interval"] == 1_000_000_000
    assert engine_check["StartPeriod"] == (10 + 30 * 3) * 1_000_000_000
    assert engine_check["Retries"] == 3 and engine_check["Timeout"] == 3_000_000_000
    assert health.wait_bound(check) == 10 + 90 + (1 + 3) * 4
