"""A compose service's settings from the model `compose config` prints (v1 YAML, v2 long form)."""

from __future__ import annotations

import pytest
import yaml

from slimmer.compose import duration, service_of
from slimmer.errors import UsageError
from slimmer.runsettings import HealthCheck, Mount

# what docker-compose 1.29 printed for a file with short syntax everywhere
V1_OUTPUT = """
services:
  app:
    cap_add: [NET_ADMIN]
    command: python3 /app/app.py --flag "a b"
    depends_on:
      db: {condition: service_healthy}
    entrypoint: [/bin/sh, -c]
    environment:
      DATABASE_URL: postgresql://inventory:pw@db:5432/inventory
      EMPTY: null
      FROM_SHELL: null
    expose: ['9000']
    extra_hosts: ['foo:10.0.0.1']
    image: b
    networks:
      back: {}
      default:
        aliases: [inventory]
    ports:
    - target: 8000
    - 127.0.0.1:8001:8001/tcp
    - 53:53/udp
    user: 1000:1000
    working_dir: /srv
    volumes:
    - pgdata:/var/lib/data:rw
    - /tmp/ctest/conf:/etc/conf:ro
    - /anon
    tmpfs: [/run]
    healthcheck:
      interval: 1m30s
      retries: 30
      start_period: 500ms
      test: [CMD-SHELL, pg_isready -q]
      timeout: 5s
  db:
    image: a
networks:
  back: {}
volumes:
  pgdata: {}
"""


def test_v1_model(monkeypatch) -> None:
    monkeypatch.setenv("FROM_SHELL", "shell-value")
    monkeypatch.delenv("EMPTY", raising=False)
    service = service_of(yaml.safe_load(V1_OUTPUT), "proj", "app")
    run = service.settings
    assert service.image == "b" and service.depends_on == {"db": "service_healthy"}
    assert run.env == ("DATABASE_URL=postgresql://inventory:pw@db:5432/inventory",
                       "FROM_SHELL=shell-value")
    assert run.network == "proj_default" and run.network_aliases == ("app", "inventory")
    assert run.more_networks == (("proj_back", ("app",)),)
    assert run.cmd == ("python3", "/app/app.py", "--flag", "a b")
    assert run.entrypoint == ("/bin/sh", "-c")
    assert run.user == "1000:1000" and run.workdir == "/srv" and run.cap_add == ("NET_ADMIN",)
    assert run.extra_hosts == ("foo:10.0.0.1",)
    assert run.expose == ("8000/tcp", "8001/tcp", "9000/tcp")
    assert run.mounts == (
        Mount("volume", "/var/lib/data", "proj_pgdata"),
        Mount("bind", "/etc/conf", "/tmp/ctest/conf", True),
        Mount("volume", "/anon"),
        Mount("tmpfs", "/run"),
    )
    assert run.healthcheck == HealthCheck(("CMD-SHELL", "pg_isready -q"), 90, 5, 0.5, 30)
    assert run.source == "compose service app of project proj"


def test_v2_long_form_and_names() -> None:
    model = {
        "services": {"web": {
            "image": "web:1",
            "command": ["serve"],
            "environment": {"N": 3, "FLAG": True},
            "networks": {"front": None},
            "ports": [{"target": 80, "published": "8080", "protocol": "tcp"}],
            "volumes": [{"type": "volume", "source": "data", "target": "/data"},
                        {"type": "tmpfs", "target": "/t", "tmpfs": {"size": 1024}}],
            "healthcheck": {"disable": True},
        }},
        "networks": {"front": {"name": "shared-front", "external": True}},
        "volumes": {"data": {"name": "p_data"}},
    }
    run = service_of(model, "p", "web").settings
    assert run.env == ("N=3", "FLAG=true") and run.cmd == ("serve",)
    assert run.network == "shared-front" and run.expose == ("80/tcp",)
    assert run.mounts == (Mount("volume", "/data", "p_data"),
                          Mount("tmpfs", "/t", "", False, (("tmpfs-size", "1024"),)))
    assert run.no_healthcheck and run.healthcheck is None


def test_unusable_services_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="no service 'nope'"):
        service_of({"services": {"a": {"image": "x"}}}, "p", "nope")
    with pytest.raises(UsageError, match="has no image"):
        service_of({"services": {"a": {"build": "."}}}, "p", "a")
    with pytest.raises(UsageError, match="network_mode host"):
        service_of({"services": {"a": {"image": "x", "network_mode": "host"}}}, "p", "a")


def test_durations() -> None:
    assert duration("1m30s") == 90 and duration("250ms") == 0.25 and duration(None) == 0
    assert duration(7) == 7
    with pytest.raises(Exception, match="duration"):
        duration("soon")
