"""The --new-*/--remove-* options: read from their texts, applied to a runtime config, written
into the slim image's config reproducibly; --new-env values kept out of reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slimmer.errors import UsageError
from slimmer.imagefs import ImageFs, open_image
from slimmer.rebuild import ConfigChanges, ConfigOptions, config_changes, rebuild
from slimmer.runsettings import REDACTED, RunSettings
from tests.imagefs.crafted import config, docker_archive, file, layer

SECOND = 1_000_000_000
RUNTIME = {
    "Env": ["PATH=/bin", "MODE=prod", "DEBUG=1"],
    "Entrypoint": ["/bin/app"],
    "Cmd": ["--serve"],
    "WorkingDir": "/srv",
    "User": "1000",
    "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
    "Volumes": {"/data": {}},
    "Labels": {"org.example": "yes", "team": "a"},
    "StopSignal": "SIGQUIT",
}


def changes(**texts) -> ConfigChanges:
    return config_changes(ConfigOptions(**texts), environ={"FROM_ENV": "env-value-77"})


def test_every_setting_changes() -> None:
    changed = changes(
        new_env=["MODE=test", "TOKEN=abc=def", "FROM_ENV"],
        remove_env=["DEBUG"],
        new_cmd='["--check", "all"]',
        new_workdir="/srv/app/",
        new_user="app:app",
        new_expose=["8080", "9000/UDP"],
        remove_expose=["80", "53/udp"],
        new_label=["team=b", "new=1"],
        remove_label=["org.example"],
        new_volume=["/cache"],
        new_healthcheck="--interval=1m30s --timeout=500ms --start-period=2s --retries=4 "
        'CMD ["/bin/app", "--health"]',
    ).apply(RUNTIME)
    assert changed == {
        "Env": ["PATH=/bin", "MODE=test", "TOKEN=abc=def", "FROM_ENV=env-value-77"],
        "Entrypoint": ["/bin/app"],
        "Cmd": ["--check", "all"],
        "WorkingDir": "/srv/app",
        "User": "app:app",
        "ExposedPorts": {"8080/tcp": {}, "9000/udp": {}},
        "Volumes": {"/data": {}, "/cache": {}},
        "Labels": {"team": "b", "new": "1"},
        "StopSignal": "SIGQUIT",
        "Healthcheck": {
            "Test": ["CMD", "/bin/app", "--health"],
            "Interval": 90 * SECOND,
            "Timeout": SECOND // 2,
            "StartPeriod": 2 * SECOND,
            "Retries": 4,
        },
    }
    assert RUNTIME["Env"] == ["PATH=/bin", "MODE=prod", "DEBUG=1"]  # the original is untouched


def test_nothing_given_changes_nothing() -> None:
    assert not changes()
    assert changes().apply(RUNTIME) == RUNTIME


def test_a_new_entrypoint_clears_cmd_as_in_a_dockerfile() -> None:
    assert changes(new_entrypoint="/bin/other --flag 'two words'").apply(RUNTIME)[
        "Entrypoint"
    ] == ["/bin/other", "--flag", "two words"]
    assert "Cmd" not in changes(new_entrypoint="/bin/other").apply(RUNTIME)
    both = changes(new_entrypoint='["/bin/other"]', new_cmd="run fast").apply(RUNTIME)
    assert (both["Entrypoint"], both["Cmd"]) == (["/bin/other"], ["run", "fast"])
    cleared = changes(new_entrypoint="", new_cmd="/bin/sh").apply(RUNTIME)
    assert "Entrypoint" not in cleared and cleared["Cmd"] == ["/bin/sh"]


def test_healthcheck_shell_form_and_none() -> None:
    check = changes(new_healthcheck="CMD curl -f http://localhost/ || exit 1").healthcheck
    assert check == {"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]}
    assert changes(new_healthcheck="NONE").healthcheck == {"Test": ["NONE"]}


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ({"new_expose": ["http"]}, "--new-expose 'http': not a port"),
        ({"new_expose": ["70000"]}, "not a port"),
        ({"remove_expose": ["80/icmp"]}, "--remove-expose '80/icmp': not a port"),
        ({"new_workdir": "srv"}, "--new-workdir 'srv': not an absolute path"),
        ({"new_volume": ["data"]}, "--new-volume 'data': not an absolute path"),
        ({"new_env": ["MISSING_VAR"]}, "MISSING_VAR is not set in slimmer's environment"),
        ({"new_env": ["=x"]}, "--new-env '': not a name"),
        ({"remove_env": ["A=1"]}, "--remove-env 'A': not a name"),
        ({"new_label": ["novalue"]}, "--new-label 'novalue': no value"),
        ({"remove_label": ["io.slimmer.version"]}, "slimmer's provenance labels stay"),
        ({"new_user": "a:b:c"}, "--new-user 'a:b:c': not a user"),
        ({"new_cmd": '["a", 1]'}, "not a JSON array of strings"),
        ({"new_cmd": "'unclosed"}, "No closing quotation"),
        ({"new_healthcheck": "curl -f http://x/"}, "no CMD"),
        ({"new_healthcheck": "--interval=5 CMD true"}, "--interval=5: not a duration"),
        ({"new_healthcheck": "--every=5s CMD true"}, "unknown or bad flag '--every=5s'"),
        ({"new_healthcheck": "--retries=x CMD true"}, "unknown or bad flag '--retries=x'"),
        ({"new_healthcheck": "CMD"}, "no CMD"),
    ],
)
def test_bad_values_are_usage_errors(texts: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("[", r"\[")):
        changes(**texts)


def test_env_values_stay_out_of_summaries_and_reprs() -> None:
    changed = changes(new_env=["TOKEN=very-secret-value", "FROM_ENV", "FLAG=1"])
    assert changed.secrets == ["very-secret-value", "env-value-77", "1"]
    assert changed.summary() == {"env": ["FLAG", "FROM_ENV", "TOKEN"]}
    assert "very-secret-value" not in repr(changed)


def test_new_env_values_are_redacted_like_run_settings_values() -> None:
    changed = changes(new_env=["TOKEN=very-secret-value", "FROM_ENV", "FLAG=1"])
    run = RunSettings(secret_values=tuple(changed.secrets))  # as run_build joins them
    text = "argv: app --token=very-secret-value; env-value-77 is wrong; 1 retry"
    assert run.redact(text) == (
        f"argv: app --token={REDACTED}; {REDACTED} is wrong; 1 retry"  # "1" says nothing
    )


@pytest.fixture
def fs(tmp_path: Path) -> ImageFs:
    layers = [layer([file("bin/app", b"app", 0o755)])]
    document = json.loads(config(layers))
    document["config"] = RUNTIME
    data = json.dumps(document).encode()
    archive = docker_archive(tmp_path / "src.tar", layers, config_bytes=data)
    made = open_image(archive, tmp_path / "work")
    yield made
    made.close()


def test_the_slim_config_has_the_changes_and_stays_reproducible(fs: ImageFs, tmp_path: Path):
    changed = changes(new_user="nobody", new_env=["A=1"], remove_label=["team"])
    first = rebuild(fs, ["/bin/app"], tmp_path / "one", changes=changed)
    second = rebuild(fs, ["/bin/app"], tmp_path / "two", changes=changes(
        new_user="nobody", new_env=["A=1"], remove_label=["team"]
    ))
    assert first.config == second.config and first.id == second.id
    runtime = json.loads(first.config)["config"]
    assert runtime["User"] == "nobody"
    assert runtime["Env"] == [*RUNTIME["Env"], "A=1"]
    assert "team" not in runtime["Labels"]
    assert runtime["Labels"]["io.slimmer.source-digest"] == fs.digest
    assert rebuild(fs, ["/bin/app"], tmp_path / "three").id != first.id


def test_cli_rejects_a_bad_option_before_touching_the_engine(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "slimmer", "build", "any-image", "--new-healthcheck", "curl x"],
        capture_output=True,
        text=True,
        env={"DOCKER_HOST": "unix:///nonexistent.sock", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("slimmer: error: --new-healthcheck 'curl x': no CMD: give ")
    assert not list(tmp_path.iterdir())
