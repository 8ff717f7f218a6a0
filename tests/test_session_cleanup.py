"""When cleanup cannot remove what a run created, it says so (with the command that removes it)
instead of dropping the error."""

from __future__ import annotations

import pytest
import requests

from slimmer.engine import Engine
from slimmer.errors import CleanupFailed, SlimmerError
from slimmer.session import Session


class _UnreachableApi:
    def containers(self, **_kwargs):
        raise requests.exceptions.ConnectionError("connection refused")

    def volumes(self, **_kwargs):
        raise requests.exceptions.ConnectionError("connection refused")


class _Client:
    api = _UnreachableApi()


def test_an_unreachable_engine_is_a_cleanup_failure() -> None:
    with pytest.raises(CleanupFailed) as caught:
        Engine(_Client()).remove_session("slimmer-test")
    assert "listing containers" in caught.value.message
    assert "listing volumes" in caught.value.message
    assert "label=io.slimmer.session=slimmer-test" in caught.value.hint


@pytest.mark.docker
def test_session_close_reports_what_it_could_not_remove(engine: Engine, fixture_image,
                                                        monkeypatch, capsys) -> None:
    session = Session(engine)
    container = engine.create_container(fixture_image("batch"), session=session.id)
    real_remove = engine.remove_container

    def refuse(_container: str) -> None:
        raise SlimmerError("the container engine said: refused for the test")

    monkeypatch.setattr(engine, "remove_container", refuse)
    try:
        session.close()
        error = capsys.readouterr().err
        assert error.startswith("slimmer: warning: could not remove what this run created")
        assert f"container {container[:12]}: the container engine said: refused" in error
        assert f"docker rm -fv $(docker ps -aq --filter label=io.slimmer.session={session.id})" \
            in error
        assert not session.workdir.exists()
    finally:
        real_remove(container)
