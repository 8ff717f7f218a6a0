"""What the engine would run for an image, and option parsing."""

from __future__ import annotations

import pytest

from slimmer.engine import ImageInfo, split_ref
from slimmer.errors import SlimmerError, UsageError
from slimmer.observe import continue_mode
from slimmer.options import ContinueAfter, ObserveOptions
from slimmer.target import target_of


def info(config: dict) -> ImageInfo:
    return ImageInfo(
        ref="app:1",
        id="sha256:" + "a" * 64,
        repo_tags=["app:1"],
        repo_digests=[],
        size=1,
        config=config,
        os="linux",
        architecture="amd64",
        variant="",
        created="",
    )


def test_target_joins_entrypoint_and_cmd_and_sorts_tcp_ports() -> None:
    target = target_of(
        info(
            {
                "Entrypoint": ["/entry.sh"],
                "Cmd": ["serve", "--port", "8080"],
                "User": "app",
                "ExposedPorts": {"8080/tcp": {}, "53/udp": {}, "443/tcp": {}, "9000": {}},
                "Env": ["HOME=/home/app"],
                "StopSignal": "SIGQUIT",
            }
        )
    )
    assert target.argv == ["/entry.sh", "serve", "--port", "8080"]
    assert target.tcp_ports == ["443/tcp", "8080/tcp", "9000/tcp"]
    assert target.stop_signal == "SIGQUIT"
    assert target.sets_home
    assert target.user == "app"


def test_target_without_command_is_an_error() -> None:
    with pytest.raises(SlimmerError, match="neither ENTRYPOINT nor CMD"):
        target_of(info({"Env": []}))


def test_default_continue_mode_depends_on_ports_and_probes() -> None:
    server = target_of(info({"Cmd": ["srv"], "ExposedPorts": {"80/tcp": {}}}))
    job = target_of(info({"Cmd": ["job"]}))
    assert continue_mode(server, ObserveOptions()).mode == "probe"
    assert continue_mode(job, ObserveOptions()).mode == "exit"
    assert continue_mode(job, ObserveOptions(execs=["true"])).mode == "probe"
    chosen = ObserveOptions(continue_after=ContinueAfter("timeout", 3))
    assert continue_mode(server, chosen) == ContinueAfter("timeout", 3)


@pytest.mark.parametrize("text", ["sometimes", "timeout:", "timeout:-1", "timeout:x"])
def test_bad_continue_after(text: str) -> None:
    with pytest.raises(UsageError):
        ContinueAfter.parse(text)


def test_continue_after_timeout() -> None:
    assert ContinueAfter.parse("timeout:2.5") == ContinueAfter("timeout", 2.5)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("nginx", ("nginx", "latest")),
        ("nginx:1.25", ("nginx", "1.25")),
        ("localhost:5000/team/app", ("localhost:5000/team/app", "latest")),
        ("localhost:5000/team/app:v2", ("localhost:5000/team/app", "v2")),
    ],
)
def test_split_ref(ref: str, expected: tuple[str, str]) -> None:
    assert split_ref(ref) == expected
